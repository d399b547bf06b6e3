//! The sentence encoder: a BERT model (all-MiniLM-L6-v2 by default; config and layers in
//! [`super::bert`]) loaded from the installed
//! `model.safetensors`, mean-pooled over the attention mask and optionally L2-normalised, as
//! sentence-transformers does for this model.

use std::path::{Path, PathBuf};

use super::bert::{Bert, EncoderConfig};
use super::manifest::read_folder_file;
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

/// Reads a safetensors file's tensors straight into the (CPU, f32, contiguous) variables of
/// `vs` of the same names: one positioned read from the file into each variable's memory, with
/// no copy of the file or of a tensor in between. tch's `VarStore::load` reads the whole file
/// into memory and makes a tensor of each entry before copying it: on a MiniLM load that is
/// about 130 MB more at the peak, all of it fresh pages the kernel must zero. Tensors of the
/// file that the model has no variable for are skipped, as `VarStore::load` does.
fn read_weights(vs: &nn::VarStore, path: &Path) -> Result<(), String> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let file_len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut len = [0u8; 8];
    file.read_exact_at(&mut len, 0).map_err(|e| e.to_string())?;
    let header_len = u64::from_le_bytes(len);
    if header_len.saturating_add(8) > file_len {
        return Err(format!(
            "header length {header_len} runs past the end of the file"
        ));
    }
    let mut header = vec![0u8; header_len as usize];
    file.read_exact_at(&mut header, 8)
        .map_err(|e| e.to_string())?;
    let mut entries: std::collections::HashMap<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(|e| format!("bad header: {e}"))?;
    let data = 8 + header_len;
    for (name, var) in vs.variables() {
        let entry = entries
            .remove(&name)
            .ok_or_else(|| format!("tensor {name} is missing"))?;
        let e: TensorEntry =
            serde_json::from_value(entry).map_err(|err| format!("tensor {name}: {err}"))?;
        let bytes = var.numel() as u64 * 4;
        let [from, to] = e.data_offsets;
        if e.dtype != "F32" || e.shape != var.size() || to.checked_sub(from) != Some(bytes) {
            return Err(format!(
                "tensor {name} is {} {:?}, the model needs F32 {:?}",
                e.dtype,
                e.shape,
                var.size()
            ));
        }
        if data + to > file_len {
            return Err(format!("tensor {name} runs past the end of the file"));
        }
        if var.kind() != Kind::Float || !var.is_contiguous() || var.device() != Device::Cpu {
            return Err(format!(
                "variable {name} is not a contiguous f32 CPU tensor"
            ));
        }
        // SAFETY: `var` is a contiguous f32 CPU tensor of `bytes` bytes (checked above), just
        // created by `Bert::new` and borrowed by nothing else while it is filled; the slice
        // covers exactly its storage and is gone before the variable is used.
        let dst =
            unsafe { std::slice::from_raw_parts_mut(var.data_ptr() as *mut u8, bytes as usize) };
        file.read_exact_at(dst, data + from)
            .map_err(|err| format!("tensor {name}: {err}"))?;
    }
    Ok(())
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
        let loaded = match device {
            Device::Cpu if cfg!(target_endian = "little") => read_weights(&vs, &weights),
            _ => vs.load(&weights).map_err(|e| e.to_string()),
        };
        loaded.map_err(|e| ModelError::Corrupt {
            path: weights.clone(),
            reason: format!("cannot load weights: {e}"),
            hint: Hint::InstallBase,
        })?;
        vs.freeze();
        Ok(Encoder {
            vs,
            model,
            all_layers,
            config,
            dir: dir.to_path_buf(),
        })
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
        read_weights(&vs, &path).unwrap();
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
        let err = read_weights(&store(), &path).unwrap_err();
        assert!(err.contains("tensor b is missing"), "{err}");

        let b = Tensor::zeros([6], (Kind::Float, Device::Cpu));
        Tensor::write_safetensors(&[("a.weight", &a), ("b", &b)], &path).unwrap();
        let err = read_weights(&store(), &path).unwrap_err();
        assert!(err.contains("tensor b is F32 [6]"), "{err}");

        let b = Tensor::zeros([5], (Kind::Float, Device::Cpu));
        Tensor::write_safetensors(&[("a.weight", &a), ("b", &b)], &path).unwrap();
        let full = std::fs::read(&path).unwrap();
        std::fs::write(&path, &full[..full.len() - 4]).unwrap();
        let err = read_weights(&store(), &path).unwrap_err();
        assert!(err.contains("past the end"), "{err}");
        std::fs::write(&path, &full[..5]).unwrap();
        assert!(read_weights(&store(), &path).is_err());
    }
}
