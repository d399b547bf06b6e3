//! The sentence encoder: a BERT model (all-MiniLM-L6-v2 by default; config and layers in
//! [`super::bert`]) loaded from the installed
//! `model.safetensors`, mean-pooled over the attention mask and optionally L2-normalised, as
//! sentence-transformers does for this model.

use std::path::{Path, PathBuf};

use super::bert::{Bert, EncoderConfig};
use super::manifest::{read_folder_file, sha256_file_stamped};
use tch::{nn, Device, Kind, Tensor};

use crate::error::{Hint, ModelError};

/// A BERT encoder with its weights.
pub struct Encoder {
    /// The weights (frozen after loading; fine-tuning unfreezes them).
    pub(crate) vs: nn::VarStore,
    /// The BERT layers.
    pub model: Bert,
    /// Return every layer's output from [`Encoder::hidden_states`], not only the last.
    pub all_layers: bool,
    /// The base's `config.json`, as [`read_config`] reads it.
    pub(crate) config: EncoderConfig,
    /// The folder it was loaded from (the installed base).
    pub dir: PathBuf,
}

/// One tensor's entry in a safetensors header.
#[derive(serde::Deserialize)]
struct TensorEntry {
    dtype: String,
    shape: Vec<i64>,
    data_offsets: [u64; 2],
}

/// A safetensors file opened for reading one tensor at a time straight into a variable's
/// memory: tch's `VarStore::load` and `Tensor::read_safetensors` read the whole file into
/// memory and make a tensor of each entry before copying it (on a MiniLM load about 130 MB
/// more at the peak, all of it fresh pages the kernel must zero).
pub(crate) struct TensorFile {
    file: std::fs::File,
    len: u64,
    /// Where the tensor data starts (after the length and the header).
    data: u64,
    entries: std::collections::HashMap<String, TensorEntry>,
}

impl TensorFile {
    /// Opens `path` and reads its header.
    pub(crate) fn open(path: &Path) -> Result<TensorFile, String> {
        use std::os::unix::fs::FileExt;
        let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
        let len = file.metadata().map_err(|e| e.to_string())?.len();
        let mut word = [0u8; 8];
        file.read_exact_at(&mut word, 0)
            .map_err(|e| e.to_string())?;
        let header_len = u64::from_le_bytes(word);
        if header_len.saturating_add(8) > len {
            return Err(format!(
                "header length {header_len} runs past the end of the file"
            ));
        }
        let mut header = vec![0u8; header_len as usize];
        file.read_exact_at(&mut header, 8)
            .map_err(|e| e.to_string())?;
        let mut raw: std::collections::HashMap<String, serde_json::Value> =
            serde_json::from_slice(&header).map_err(|e| format!("bad header: {e}"))?;
        raw.remove("__metadata__");
        let entries = raw
            .into_iter()
            .map(|(name, v)| match serde_json::from_value(v) {
                Ok(e) => Ok((name, e)),
                Err(err) => Err(format!("tensor {name}: {err}")),
            })
            .collect::<Result<_, String>>()?;
        Ok(TensorFile {
            file,
            len,
            data: 8 + header_len,
            entries,
        })
    }

    /// The names of the file's tensors.
    pub(crate) fn names(&self) -> impl Iterator<Item = &String> {
        self.entries.keys()
    }

    /// True when the file holds a tensor `name`.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// Reads tensor `name` into `var`, which must have its shape. An F32 tensor goes straight
    /// from the file into a contiguous f32 CPU variable; any other case (F16 or BF16 in the
    /// file, a variable on a GPU) goes through a buffer that libtorch converts and copies.
    pub(crate) fn read_into(&self, name: &str, var: &Tensor) -> Result<(), String> {
        use std::os::unix::fs::FileExt;
        let e = (self.entries.get(name)).ok_or_else(|| format!("tensor {name} is missing"))?;
        let kind = match e.dtype.as_str() {
            "F32" => Kind::Float,
            "F16" => Kind::Half,
            "BF16" => Kind::BFloat16,
            other => return Err(format!("tensor {name} is {other}, not a float tensor")),
        };
        let bytes = var.numel() as u64 * kind.elt_size_in_bytes() as u64;
        let [from, to] = e.data_offsets;
        if e.shape != var.size() || to.checked_sub(from) != Some(bytes) {
            return Err(format!(
                "tensor {name} is {} {:?}, the model needs {:?}",
                e.dtype,
                e.shape,
                var.size()
            ));
        }
        if self.data + to > self.len {
            return Err(format!("tensor {name} runs past the end of the file"));
        }
        let direct = kind == Kind::Float
            && var.kind() == Kind::Float
            && var.is_contiguous()
            && var.device() == Device::Cpu
            && cfg!(target_endian = "little");
        let read = |dst: &mut [u8]| {
            (self.file.read_exact_at(dst, self.data + from))
                .map_err(|err| format!("tensor {name}: {err}"))
        };
        if direct {
            // SAFETY: `var` is a contiguous f32 CPU tensor of `bytes` bytes (checked above);
            // the callers fill variables they have just created, which nothing else borrows
            // while they are filled; the slice covers exactly its storage and is gone before
            // the variable is used.
            let dst = unsafe {
                std::slice::from_raw_parts_mut(var.data_ptr() as *mut u8, bytes as usize)
            };
            return read(dst);
        }
        let mut buf = vec![0u8; bytes as usize];
        read(&mut buf)?;
        let t = Tensor::f_from_data_size(&buf, &e.shape, kind).map_err(|e| e.to_string())?;
        tch::no_grad(|| var.shallow_clone().f_copy_(&t)).map_err(|e| e.to_string())
    }
}

/// Fills every variable of `vs` from the safetensors file at `path`, but those `skip` names
/// (an overlay provides them). Tensors of the file that the model has no variable for are
/// skipped, as `VarStore::load` does.
fn read_weights(vs: &nn::VarStore, path: &Path, skip: impl Fn(&str) -> bool) -> Result<(), String> {
    let file = TensorFile::open(path)?;
    for (name, var) in vs.variables() {
        if !skip(&name) {
            file.read_into(&name, &var)?;
        }
    }
    Ok(())
}

/// A model's fine-tuned tensors (its `overlay.safetensors`), checked against the sha256 its
/// manifest gives; they replace the base encoder's tensors of the same names.
pub struct Overlay {
    path: PathBuf,
    file: TensorFile,
}

impl Overlay {
    /// Opens the overlay at `path` after checking its sha256 against `sha`.
    pub fn open(path: &Path, sha: &str) -> Result<Overlay, ModelError> {
        if !path.is_file() {
            return Err(ModelError::missing(path, Hint::RestoreModel));
        }
        let corrupt = |reason: String| Self::corrupt_at(path, reason);
        let found = sha256_file_stamped(path).map_err(|e| corrupt(e.to_string()))?;
        if found != sha {
            return Err(corrupt(format!(
                "sha256 {found} does not match the manifest's {sha}"
            )));
        }
        let file = TensorFile::open(path).map_err(corrupt)?;
        Ok(Overlay {
            path: path.to_path_buf(),
            file,
        })
    }

    fn corrupt_at(path: &Path, reason: String) -> ModelError {
        ModelError::Corrupt {
            path: path.to_path_buf(),
            reason,
            hint: Hint::RestoreModel,
        }
    }

    /// Copies every tensor into `encoder`'s variable of that name, which must exist with the
    /// same shape.
    pub fn apply(&self, encoder: &Encoder) -> Result<(), ModelError> {
        let vars = encoder.vs.variables();
        for name in self.file.names() {
            let var = vars.get(name).ok_or_else(|| {
                Self::corrupt_at(
                    &self.path,
                    format!("tensor {name} is not a weight of the base encoder"),
                )
            })?;
            (self.file.read_into(name, var)).map_err(|e| Self::corrupt_at(&self.path, e))?;
        }
        Ok(())
    }
}

/// Reads the base's `config.json`, returning an error (not a panic) for a bad file.
pub fn read_config(dir: &Path) -> Result<EncoderConfig, ModelError> {
    let (path, text) = read_folder_file(dir, "config.json", Hint::InstallBase, Hint::InstallBase)?;
    let config: EncoderConfig = serde_json::from_str(&text).map_err(|e| ModelError::Corrupt {
        path: path.clone(),
        reason: format!("not a BERT config: {e}"),
        hint: Hint::InstallBase,
    })?;
    if config.hidden_size <= 0
        || config.num_hidden_layers <= 0
        || config.num_attention_heads <= 0
        || config.hidden_size % config.num_attention_heads != 0
    {
        return Err(ModelError::Corrupt {
            path,
            reason: "inconsistent sizes (hidden_size, num_hidden_layers, num_attention_heads)"
                .into(),
            hint: Hint::InstallBase,
        });
    }
    Ok(config)
}

impl Encoder {
    /// Loads the encoder from a folder holding `config.json` and `model.safetensors`. With
    /// `all_layers`, [`Encoder::hidden_states`] returns every layer's output (costs a copy per
    /// layer); otherwise only the last.
    /// The weights are placed on `device`.
    pub fn load(dir: &Path, all_layers: bool, device: Device) -> Result<Self, ModelError> {
        Self::load_with(dir, all_layers, device, None)
    }

    /// [`Encoder::load`] with a model's `overlay` in place of the base's tensors of the same
    /// names (those are not read).
    pub fn load_with(
        dir: &Path,
        all_layers: bool,
        device: Device,
        overlay: Option<&Overlay>,
    ) -> Result<Self, ModelError> {
        let config = read_config(dir)?;
        let weights = dir.join("model.safetensors");
        if !weights.is_file() {
            return Err(ModelError::MissingFile {
                dir: dir.to_path_buf(),
                file: "model.safetensors".into(),
                hint: Hint::InstallBase,
            });
        }
        let mut vs = nn::VarStore::new(device);
        let model = Bert::new(vs.root(), &config);
        let in_overlay = |name: &str| overlay.is_some_and(|o| o.file.contains(name));
        let loaded = match device {
            Device::Cpu if cfg!(target_endian = "little") => {
                read_weights(&vs, &weights, in_overlay)
            }
            _ => vs.load(&weights).map_err(|e| e.to_string()),
        };
        loaded.map_err(|e| ModelError::Corrupt {
            path: weights.clone(),
            reason: format!("cannot load weights: {e}"),
            hint: Hint::InstallBase,
        })?;
        vs.freeze();
        let encoder = Encoder {
            vs,
            model,
            all_layers,
            config,
            dir: dir.to_path_buf(),
        };
        if let Some(o) = overlay {
            o.apply(&encoder)?;
        }
        Ok(encoder)
    }

    /// Where the weights are, and so where inputs must be.
    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// Width of each token's hidden state (384 for all-MiniLM-L6-v2).
    pub(crate) fn hidden_size(&self) -> i64 {
        self.config.hidden_size
    }

    /// Number of transformer layers (6 for all-MiniLM-L6-v2).
    pub(crate) fn num_layers(&self) -> i64 {
        self.config.num_hidden_layers
    }

    /// Runs the encoder on a padded batch. Returns the output of every layer (first to last)
    /// when loaded with `all_layers`, else only the last; each `[batch, len, hidden]`.
    pub fn hidden_states(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        train: bool,
    ) -> Result<Vec<Tensor>, ModelError> {
        let size = ids.size();
        if size.len() != 2 || mask.size() != size || size[1] > self.config.max_position_embeddings {
            return Err(ModelError::Invalid(format!(
                "encoder input must be [batch, len ≤ {}] ids with a mask of the same shape, got {size:?}",
                self.config.max_position_embeddings
            )));
        }
        Ok(self.model.forward(ids, mask, train, self.all_layers))
    }
}

/// Mean of `hidden` over the positions where `mask` is 1: `[batch, len, h] -> [batch, h]`.
pub fn mean_pool(hidden: &Tensor, mask: &Tensor) -> Tensor {
    let m = mask.to_kind(Kind::Float).unsqueeze(-1);
    let summed = (hidden * &m).sum_dim_intlist(1, false, Kind::Float);
    let counts = m.sum_dim_intlist(1, false, Kind::Float).clamp_min(1e-9);
    summed / counts
}

/// Row-wise L2 normalisation.
pub fn l2_normalize(x: &Tensor) -> Tensor {
    let norm = x
        .norm_scalaropt_dim(2.0, [-1i64].as_slice(), true)
        .clamp_min(1e-12);
    x / norm
}

/// Pads token id lists into `(ids, mask)` tensors of shape `[batch, longest]` on `device`.
pub fn pad_batch(seqs: &[&[i64]], pad_id: i64, device: Device) -> (Tensor, Tensor) {
    let longest = seqs.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
    let mut ids = Vec::with_capacity(seqs.len() * longest);
    let mut mask = Vec::with_capacity(seqs.len() * longest);
    for s in seqs {
        ids.extend_from_slice(s);
        mask.extend(std::iter::repeat_n(1i64, s.len()));
        ids.extend(std::iter::repeat_n(pad_id, longest - s.len()));
        mask.extend(std::iter::repeat_n(0i64, longest - s.len()));
    }
    let shape = [seqs.len() as i64, longest as i64];
    (
        Tensor::from_slice(&ids).view(shape).to_device(device),
        Tensor::from_slice(&mask).view(shape).to_device(device),
    )
}

/// Pads 0/1 masks to `[batch, longest]` on `device` (the shape [`pad_batch`] gives their ids).
pub fn pad_masks(masks: &[&[i64]], device: Device) -> Tensor {
    let longest = masks.iter().map(|m| m.len()).max().unwrap_or(0).max(1);
    let mut out = Vec::with_capacity(masks.len() * longest);
    for m in masks {
        out.extend_from_slice(m);
        out.extend(std::iter::repeat_n(0i64, longest - m.len()));
    }
    Tensor::from_slice(&out)
        .view([masks.len() as i64, longest as i64])
        .to_device(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> nn::VarStore {
        let vs = nn::VarStore::new(Device::Cpu);
        let root = vs.root();
        let zero = nn::Init::Const(0.0);
        let _ = (&root / "a").var("weight", &[3, 4], zero);
        let _ = root.var("b", &[5], zero);
        vs
    }

    #[test]
    fn read_weights_fills_every_variable_with_the_file_s_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let a = Tensor::arange(12, (Kind::Float, Device::Cpu)).view([3, 4]) / 7.0;
        let b = Tensor::from_slice(&[1.5f32, -2.0, 0.25, 1e-8, 3e7]);
        let extra = Tensor::ones([2], (Kind::Float, Device::Cpu));
        Tensor::write_safetensors(&[("b", &b), ("unused", &extra), ("a.weight", &a)], &path)
            .unwrap();
        let vs = store();
        read_weights(&vs, &path, |_| false).unwrap();
        let vars = vs.variables();
        assert!(vars["a.weight"].equal(&a));
        assert!(vars["b"].equal(&b));
    }

    #[test]
    fn read_weights_refuses_missing_misshapen_and_truncated_tensors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let a = Tensor::zeros([3, 4], (Kind::Float, Device::Cpu));
        Tensor::write_safetensors(&[("a.weight", &a)], &path).unwrap();
        let err = read_weights(&store(), &path, |_| false).unwrap_err();
        assert!(err.contains("tensor b is missing"), "{err}");

        let b = Tensor::zeros([6], (Kind::Float, Device::Cpu));
        Tensor::write_safetensors(&[("a.weight", &a), ("b", &b)], &path).unwrap();
        let err = read_weights(&store(), &path, |_| false).unwrap_err();
        assert!(err.contains("tensor b is F32 [6]"), "{err}");

        let b = Tensor::zeros([5], (Kind::Float, Device::Cpu));
        Tensor::write_safetensors(&[("a.weight", &a), ("b", &b)], &path).unwrap();
        let full = std::fs::read(&path).unwrap();
        std::fs::write(&path, &full[..full.len() - 4]).unwrap();
        let err = read_weights(&store(), &path, |_| false).unwrap_err();
        assert!(err.contains("past the end"), "{err}");
        std::fs::write(&path, &full[..5]).unwrap();
        assert!(read_weights(&store(), &path, |_| false).is_err());
    }
}
