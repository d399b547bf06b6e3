//! Tone heads: small trained layers on top of the pooled encoder output. The linear head has a
//! tone regression (`tone.weight`, `tone.bias`) and a 3-class classifier (`class.weight`,
//! `class.bias`), stored as safetensors.

use std::path::Path;

use tch::{nn, nn::Module, Device, Kind, Tensor};

use crate::error::{Hint, ModelError};

/// Loads a head's weights into `vs` and freezes them; a bad file is named in the error.
fn load_weights(vs: &mut nn::VarStore, path: &Path) -> Result<(), ModelError> {
    vs.load(path).map_err(|e| ModelError::Corrupt {
        path: path.to_path_buf(),
        reason: format!("cannot load head weights: {e}"),
        hint: Hint::RestoreModel,
    })?;
    vs.freeze();
    Ok(())
}

/// Linear tone regression + 3-class softmax over a `dim`-sized feature vector, and optionally a
/// 5-class quad softmax.
pub struct LinearHead {
    /// The weights; variables `tone.*`, `class.*` and `quad.*`.
    pub(crate) vs: nn::VarStore,
    /// Tone regression, `dim → 1`.
    pub(crate) tone: nn::Linear,
    /// Class logits, `dim → 3`.
    pub(crate) class: nn::Linear,
    /// Quad logits, `dim → 5`, when the head has a quad classifier.
    pub(crate) quad: Option<nn::Linear>,
}

/// What a head computes for a batch of features.
pub struct HeadOutput {
    /// `[n]` tone (for the target head: P(positive) − P(negative)).
    pub tone: Tensor,
    /// `[n, 3]` class logits.
    pub logits: Tensor,
    /// `[n, 5]` quad logits, for heads that have a quad classifier.
    pub quad: Option<Tensor>,
}

impl LinearHead {
    /// A fresh head (zero-initialised) for training; `quad` adds the quad classifier.
    pub fn new(dim: i64, quad: bool, device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let cfg = nn::LinearConfig {
            ws_init: nn::Init::Const(0.0),
            bs_init: Some(nn::Init::Const(0.0)),
            bias: true,
        };
        let tone = nn::linear(vs.root() / "tone", dim, 1, cfg);
        let class = nn::linear(vs.root() / "class", dim, 3, cfg);
        let quad = quad.then(|| nn::linear(vs.root() / "quad", dim, 5, cfg));
        LinearHead {
            vs,
            tone,
            class,
            quad,
        }
    }

    /// Loads trained weights; the sizes must match `dim`.
    pub fn load(path: &Path, dim: i64, quad: bool, device: Device) -> Result<Self, ModelError> {
        let mut head = LinearHead::new(dim, quad, device);
        load_weights(&mut head.vs, path)?;
        Ok(head)
    }

    /// Writes the weights to `path` (safetensors).
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        self.vs.save(path).map_err(ModelError::from)
    }

    /// `[n, dim]` features → tone, class logits and (when present) quad logits.
    pub fn forward(&self, x: &Tensor) -> HeadOutput {
        HeadOutput {
            tone: self.tone.forward(x).squeeze_dim(-1),
            logits: self.class.forward(x),
            quad: self.quad.as_ref().map(|q| q.forward(x)),
        }
    }
}

/// Softmax of `logits / temperature` as f32 rows.
pub fn probabilities(logits: &Tensor, temperature: f64) -> Tensor {
    (logits / temperature.max(1e-3)).softmax(-1, Kind::Float)
}

/// One hidden layer (GELU) then 4 outputs: tone and 3 class logits.
pub struct MlpHead {
    /// The weights; variables `fc1.*` and `fc2.*`.
    pub(crate) vs: nn::VarStore,
    /// Hidden layer, `dim → hidden`.
    pub(crate) fc1: nn::Linear,
    /// Output layer, `hidden → 4` (tone, then the 3 class logits).
    pub(crate) fc2: nn::Linear,
}

impl MlpHead {
    /// A freshly initialised head for training.
    pub(crate) fn new(dim: i64, hidden: i64, device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let fc1 = nn::linear(vs.root() / "fc1", dim, hidden, Default::default());
        let fc2 = nn::linear(vs.root() / "fc2", hidden, 4, Default::default());
        MlpHead { vs, fc1, fc2 }
    }

    /// Loads trained weights; the sizes must match `dim` and `hidden`.
    pub(crate) fn load(
        path: &Path,
        dim: i64,
        hidden: i64,
        device: Device,
    ) -> Result<Self, ModelError> {
        let mut head = MlpHead::new(dim, hidden, device);
        load_weights(&mut head.vs, path)?;
        Ok(head)
    }

    /// `[n, dim] -> ([n] tone, [n, 3] logits)`; dropout only when `train`.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> (Tensor, Tensor) {
        let h = self.fc1.forward(x).gelu("none").dropout(0.1, train);
        let out = self.fc2.forward(&h);
        (out.select(1, 0), out.narrow(1, 1, 3))
    }
}

/// Target-dependent head: 3 logits from `[sentence pool; mention pool]` (`2 × dim`).
pub struct TargetHead {
    /// The weights (variables `class.*`).
    pub vs: nn::VarStore,
    /// Class logits, `2 × dim → 3`.
    pub(crate) class: nn::Linear,
}

impl TargetHead {
    /// Loads trained weights; the sizes must match `dim` (the encoder's width, not `2 × dim`).
    pub(crate) fn load(path: &Path, dim: i64, device: Device) -> Result<Self, ModelError> {
        let mut vs = nn::VarStore::new(device);
        let class = nn::linear(vs.root() / "class", 2 * dim, 3, Default::default());
        load_weights(&mut vs, path)?;
        Ok(TargetHead { vs, class })
    }
}

/// Any trained head.
pub enum AnyHead {
    /// For [`HeadKind::Linear`](super::manifest::HeadKind::Linear) and
    /// [`HeadKind::Finetuned`](super::manifest::HeadKind::Finetuned) models.
    Linear(LinearHead),
    /// For [`HeadKind::Mlp`](super::manifest::HeadKind::Mlp) models.
    Mlp(MlpHead),
    /// For [`HeadKind::Target`](super::manifest::HeadKind::Target) models.
    Target(TargetHead),
}

impl AnyHead {
    /// `[n, dim]` sentence features (for a target head: `[n, 2 × dim]`) → tone, logits and
    /// quad logits; the target head's tone is P(positive) − P(negative).
    pub fn forward(&self, x: &Tensor) -> HeadOutput {
        match self {
            AnyHead::Linear(h) => h.forward(x),
            AnyHead::Mlp(h) => {
                let (tone, logits) = h.forward_t(x, false);
                HeadOutput {
                    tone,
                    logits,
                    quad: None,
                }
            }
            AnyHead::Target(h) => {
                let logits = h.class.forward(x);
                let p = logits.softmax(-1, Kind::Float);
                HeadOutput {
                    tone: p.select(1, 2) - p.select(1, 0),
                    logits,
                    quad: None,
                }
            }
        }
    }
}
