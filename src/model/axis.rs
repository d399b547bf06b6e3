//! User-defined rhetoric axes (SemAxis-style): a dimension named by anchor phrases for each
//! pole, scored from the sentence space of a general sentence encoder (all-MiniLM-L6-v2).
//!
//! An axis is the direction `d = h − l` between the mean embeddings of its high anchors `h`
//! and its low anchors `l`. A sentence with embedding `e` scores
//! `(e − (h + l)/2) · d / (|d|² / 2)`: the mean of the high anchors sits at +1, the mean of
//! the low anchors at −1, their midpoint at 0; sentences beyond the anchors score beyond ±1.
//! The format of an axis file is in data/axes/README.md.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tch::{Device, Kind, Tensor};

use super::registry;
use super::transformer::SentenceEncoder;
use crate::error::ModelError;
use crate::model::Progress;

pub use crate::error::AxisError;

/// The encoder an axis file uses unless it names another.
pub const DEFAULT_AXIS_ENCODER: &str = "all-minilm-l6-v2";

/// Longest sentence, in tokens, embedded for an axis (the encoder's own limit is 512; news
/// sentences are far shorter).
const MAX_TOKENS: usize = 256;

/// An axis file as written by a user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AxisSpec {
    /// The axis's name in output rows, aggregates and charts.
    pub name: String,
    /// What −1 means (e.g. "reassurance").
    pub low: String,
    /// What +1 means (e.g. "threat").
    pub high: String,
    /// Phrases typical of the low (−1) pole; at least two non-empty ones.
    pub(crate) low_anchors: Vec<String>,
    /// Phrases typical of the high (+1) pole; at least two non-empty ones.
    pub(crate) high_anchors: Vec<String>,
    /// Sentence encoder (model folder name or path) [default: all-minilm-l6-v2].
    #[serde(default)]
    pub encoder: Option<String>,
}

impl AxisSpec {
    /// Reads and checks an axis file.
    pub fn read(path: &Path) -> Result<AxisSpec, AxisError> {
        let text = std::fs::read_to_string(path).map_err(|source| AxisError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let spec: AxisSpec = toml::from_str(&text).map_err(|source| AxisError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        spec.check().map_err(|reason| AxisError::Invalid {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(spec)
    }

    fn check(&self) -> Result<(), String> {
        let ok_name = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok_name {
            return Err(format!(
                "name `{}` must be letters, digits, `_` or `-` (it becomes a column name)",
                self.name
            ));
        }
        for (pole, anchors) in [("low", &self.low_anchors), ("high", &self.high_anchors)] {
            if anchors.iter().filter(|a| !a.trim().is_empty()).count() < 2 {
                return Err(format!(
                    "{pole}_anchors needs at least two non-empty phrases (8–12 varied ones work best)"
                ));
            }
        }
        Ok(())
    }
}

/// One axis ready to score: its unit direction scaled so the anchors' means sit at ±1.
#[derive(Debug)]
pub struct Axis {
    /// The axis file it was built from.
    pub(crate) spec: AxisSpec,
    /// `d / (|d|² / 2)`, `[dim]`.
    direction: Tensor,
    /// `(h + l) / 2 · direction`: subtracted from `e · direction`.
    offset: f64,
    encoder: String,
}

/// Axes that share encoders, loaded once: the scorer `rhetor score --axis` uses.
pub struct Axes {
    axes: Vec<Axis>,
    /// Encoders by the name the axis files give, loaded once each.
    encoders: Vec<(String, SentenceEncoder)>,
    batch_size: usize,
    device: Device,
}

impl std::fmt::Debug for Axes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Axes").field("axes", &self.axes).finish()
    }
}

impl Axes {
    /// Reads the axis files, loads their encoders onto `device` and embeds their anchors.
    pub fn load(paths: &[PathBuf], batch_size: usize, device: Device) -> Result<Axes, AxisError> {
        let mut axes = Axes {
            axes: Vec::new(),
            encoders: Vec::new(),
            batch_size: batch_size.max(1),
            device,
        };
        for path in paths {
            let spec = AxisSpec::read(path)?;
            if axes.axes.iter().any(|a| a.spec.name == spec.name) {
                return Err(AxisError::Invalid {
                    path: path.clone(),
                    reason: format!("another axis file is also named `{}`", spec.name),
                });
            }
            let encoder = spec
                .encoder
                .clone()
                .unwrap_or_else(|| DEFAULT_AXIS_ENCODER.into());
            let with_path = |source| AxisError::Encoder {
                path: path.clone(),
                encoder: encoder.clone(),
                source: Box::new(source),
            };
            axes.ensure_encoder(&encoder).map_err(with_path)?;
            let axis = axes.build(spec, encoder.clone()).map_err(with_path)?;
            axes.axes.push(axis);
        }
        Ok(axes)
    }

    /// The axes' names, in the order of the files.
    pub fn names(&self) -> Vec<&str> {
        self.axes.iter().map(|a| a.spec.name.as_str()).collect()
    }

    /// The loaded axes.
    pub fn axes(&self) -> &[Axis] {
        &self.axes
    }

    fn ensure_encoder(&mut self, name: &str) -> Result<(), ModelError> {
        if !self.encoders.iter().any(|(n, _)| n == name) {
            let dir = registry::resolve(name)?;
            self.encoders
                .push((name.to_string(), SentenceEncoder::load(&dir, self.device)?));
            if let Some((_, enc)) = self.encoders.last_mut() {
                enc.encoder.model.fuse_qkv();
            }
        }
        Ok(())
    }

    fn encoder(&self, name: &str) -> &SentenceEncoder {
        &self
            .encoders
            .iter()
            .find(|(n, _)| n == name)
            .expect("encoders are loaded before their axes")
            .1
    }

    fn embed(&self, encoder: &str, texts: &[&str]) -> Result<Tensor, ModelError> {
        let enc = self.encoder(encoder);
        let encodings = enc.encode_all(texts, MAX_TOKENS);
        enc.embed_sorted(&encodings, self.batch_size, &|_| {})
    }

    fn build(&self, spec: AxisSpec, encoder: String) -> Result<Axis, ModelError> {
        let mean = |anchors: &[String]| -> Result<Tensor, ModelError> {
            let texts: Vec<&str> = anchors
                .iter()
                .map(|a| a.trim())
                .filter(|a| !a.is_empty())
                .collect();
            Ok(self
                .embed(&encoder, &texts)?
                .mean_dim(0, false, Kind::Float))
        };
        let (low, high) = (mean(&spec.low_anchors)?, mean(&spec.high_anchors)?);
        let d = &high - &low;
        let half_norm2 = d.dot(&d).double_value(&[]) / 2.0;
        if half_norm2 < 1e-12 {
            return Err(ModelError::Invalid(format!(
                "axis `{}`: the two poles' anchors embed to the same point; write anchors that differ",
                spec.name
            )));
        }
        let direction = d / half_norm2;
        let mid = (&high + &low) / 2.0;
        let offset = mid.dot(&direction).double_value(&[]);
        Ok(Axis {
            spec,
            direction,
            offset,
            encoder,
        })
    }

    /// Each text's score on each axis (`[text][axis]`, in the order of [`Axes::names`]).
    pub fn score(
        &self,
        texts: &[&str],
        progress: Progress<'_>,
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        let mut embedded: Vec<(&str, Tensor)> = Vec::new();
        let mut out = vec![Vec::with_capacity(self.axes.len()); texts.len()];
        for axis in &self.axes {
            if !embedded.iter().any(|(n, _)| *n == axis.encoder) {
                embedded.push((&axis.encoder, self.embed(&axis.encoder, texts)?));
            }
            let (_, emb) = embedded
                .iter()
                .find(|(n, _)| *n == axis.encoder)
                .expect("embedded just above");
            let proj = emb.mv(&axis.direction) - axis.offset;
            let vals = Vec::<f32>::try_from(proj.to_device(Device::Cpu).to_kind(Kind::Float))?;
            for (row, v) in out.iter_mut().zip(vals) {
                row.push(v);
            }
        }
        progress(texts.len());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<AxisSpec, String> {
        let s: AxisSpec = toml::from_str(text).map_err(|e| e.to_string())?;
        s.check().map(|_| s)
    }

    #[test]
    fn an_axis_file_needs_a_column_safe_name_and_two_anchors_per_pole() {
        let ok = "name = \"threat\"\nlow = \"calm\"\nhigh = \"threat\"\nlow_anchors = [\"a\", \"b\"]\nhigh_anchors = [\"c\", \"d\"]\n";
        assert!(spec(ok).is_ok());
        let bad_name = ok.replace("\"threat\"\nlow", "\"two words\"\nlow");
        assert!(spec(&bad_name).unwrap_err().contains("name `two words`"));
        let one_anchor = ok.replace("[\"c\", \"d\"]", "[\"c\", \" \"]");
        assert!(spec(&one_anchor).unwrap_err().contains("high_anchors"));
        let typo = ok.replace("low_anchors", "low_anchor");
        assert!(spec(&typo).is_err());
    }
}
