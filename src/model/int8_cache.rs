//! The on-disk cache of int8 encoders. Quantizing at load costs a calibration run and the
//! weights' quantization (about 0.1 s of a one-sentence article's 0.6 s); the result depends
//! only on the weights, the calibration sentences and this code, so it is kept in one
//! safetensors file per model, named by a hash of those inputs, and read back at the next load.
//!
//! - Where: `int8/` in rhetor's cache folder ([`crate::home::cache_dir`]: `$RHETOR_CACHE`,
//!   else `$XDG_CACHE_HOME/rhetor`, usually `~/.cache/rhetor`).
//! - Integrity: the file holds a sha256 of its tensors; a file that fails it, or whose tensors
//!   do not fit the encoder, is ignored and written anew, so a truncated or altered cache costs
//!   time, never a wrong score.
//! - Writes go to a temporary file renamed into place, so concurrent runs never see half a
//!   file; writing a model's file removes its files of older keys. A cache folder that cannot
//!   be written only costs the quantization at every load.
//!
//! [`FORMAT`] must change whenever quantization gives other tensors for the same weights.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tch::Tensor;

/// Version of the quantization scheme, part of every key.
const FORMAT: &str = "rhetor-int8-1";

/// Name of the tensor that holds the checksum of the others.
const CHECKSUM: &str = "checksum";

/// The cache file of model `name` whose quantization depends on `inputs` (weight checksums,
/// calibration sentences, …).
pub(crate) fn path(name: &str, inputs: &[&str]) -> PathBuf {
    crate::home::cache_dir()
        .join("int8")
        .join(file_name(name, inputs))
}

/// `<name>-<key>.safetensors`, the key being 24 hex digits of a sha256 of [`FORMAT`], the
/// crate's version and `inputs`.
fn file_name(name: &str, inputs: &[&str]) -> String {
    let mut h = Sha256::new();
    for part in [FORMAT, env!("CARGO_PKG_VERSION")].iter().chain(inputs) {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    let key: String = h.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{}-{key}.safetensors", file_stem(name))
}

/// `name` with every character outside `[A-Za-z0-9._-]` replaced by `_`.
fn file_stem(name: &str) -> String {
    let ok = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    name.chars().map(|c| if ok(c) { c } else { '_' }).collect()
}

/// The tensors cached at `path`, or `None` when there is no file or it fails its checksum.
pub(crate) fn read(path: &Path) -> Option<HashMap<String, Tensor>> {
    let mut tensors: HashMap<String, Tensor> =
        Tensor::read_safetensors(path).ok()?.into_iter().collect();
    let stored = tensors.remove(CHECKSUM)?;
    let stored = Vec::<u8>::try_from(&stored).ok()?;
    let mut named: Vec<(&String, &Tensor)> = tensors.iter().collect();
    named.sort_by(|a, b| a.0.cmp(b.0));
    (stored == checksum(&named)?).then_some(tensors)
}

/// Writes `tensors` to `path` with their checksum (via a temporary file in the same folder),
/// then removes the files of the same model under other keys.
pub(crate) fn write(path: &Path, tensors: &[(String, Tensor)]) -> std::io::Result<()> {
    let folder = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)?;
    let mut named: Vec<(&String, &Tensor)> = tensors.iter().map(|(n, t)| (n, t)).collect();
    named.sort_by(|a, b| a.0.cmp(b.0));
    let sum =
        checksum(&named).ok_or_else(|| std::io::Error::other("a tensor is not on the CPU"))?;
    let sum = Tensor::from_slice(&sum);
    let mut all: Vec<(&str, &Tensor)> = named.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    all.push((CHECKSUM, &sum));
    let tmp = tempfile::Builder::new()
        .prefix(".int8-")
        .suffix(".partial")
        .tempfile_in(folder)?;
    Tensor::write_safetensors(&all, tmp.path()).map_err(std::io::Error::other)?;
    tmp.persist(path).map_err(|e| e.error)?;
    remove_other_keys(path);
    Ok(())
}

/// Removes `<stem>-<other key>.safetensors` beside `path` (`<stem>-<key>.safetensors`).
fn remove_other_keys(path: &Path) {
    let (Some(folder), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str()))
    else {
        return;
    };
    let Some((stem, _)) = name.rsplit_once('-') else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let other = entry.file_name();
        let other = other.to_string_lossy();
        let same_model = other
            .strip_suffix(".safetensors")
            .and_then(|o| o.rsplit_once('-'))
            .is_some_and(|(s, key)| s == stem && key.len() == 24);
        if same_model && other != name {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// sha256 over each tensor's name, kind, shape and bytes, in the given order (`None` when a
/// tensor's bytes cannot be read).
fn checksum(named: &[(&String, &Tensor)]) -> Option<Vec<u8>> {
    let mut h = Sha256::new();
    for (name, t) in named {
        h.update(name.as_bytes());
        h.update(format!("{:?}{:?}", t.kind(), t.size()).as_bytes());
        let t = t.contiguous();
        let mut bytes = vec![0u8; t.numel() * t.kind().elt_size_in_bytes()];
        t.f_copy_data_u8(&mut bytes, t.numel()).ok()?;
        h.update(&bytes);
    }
    Some(h.finalize().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<(String, Tensor)> {
        vec![
            (
                "0.qkv.weight_t".into(),
                Tensor::from_slice(&[1i8, -2, 3, 127]).view([2, 2]),
            ),
            ("0.qkv.bias".into(), Tensor::from_slice(&[0.5f32, -1.25])),
        ]
    }

    #[test]
    fn a_written_file_reads_back_with_the_same_tensors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m-000000000000000000000000.safetensors");
        write(&path, &sample()).unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back.len(), 2);
        for (name, t) in sample() {
            assert!(back[&name].equal(&t), "{name}");
            assert_eq!(back[&name].kind(), t.kind());
        }
    }

    #[test]
    fn an_altered_or_truncated_file_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m-000000000000000000000000.safetensors");
        write(&path, &sample()).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 40; // inside the tensor data, before the checksum's own bytes
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(read(&path).is_none());
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(read(&path).is_none());
        assert!(read(&dir.path().join("absent.safetensors")).is_none());
    }

    #[test]
    fn writing_a_key_removes_the_same_model_s_other_keys_only() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("m-aaaaaaaaaaaaaaaaaaaaaaaa.safetensors");
        let other_model = dir.path().join("m2-aaaaaaaaaaaaaaaaaaaaaaaa.safetensors");
        std::fs::write(&old, b"old").unwrap();
        std::fs::write(&other_model, b"other").unwrap();
        let new = dir.path().join("m-bbbbbbbbbbbbbbbbbbbbbbbb.safetensors");
        write(&new, &sample()).unwrap();
        assert!(!old.exists());
        assert!(other_model.exists() && new.exists());
    }

    #[test]
    fn keys_differ_by_input_and_names_stay_file_safe() {
        let a = file_name("rhetor/tone minilm", &["w1", "calib"]);
        let b = file_name("rhetor/tone minilm", &["w2", "calib"]);
        let c = file_name("rhetor/tone minilm", &["w1c", "alib"]);
        assert!(a != b && a != c);
        assert!(a.starts_with("rhetor_tone_minilm-"), "{a}");
        assert_eq!(
            a.len(),
            "rhetor_tone_minilm-".len() + 24 + ".safetensors".len()
        );
    }
}
