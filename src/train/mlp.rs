//! MLP head on several frozen layers: the pooled (and L2-normalised) outputs of the chosen
//! encoder layers are concatenated and standardised; a one-hidden-layer MLP is trained on them
//! with AdamW (class-weighted cross-entropy + tone MSE), dropout 0.1, seeded minibatches. The
//! standardisation is folded into the first layer's weights before saving.

use serde_json::json;
use tch::{nn, nn::OptimizerConfig, Kind, Tensor};

use super::finetune::{fit, Schedule, SplitMix64};
use super::finish::{finish, Output};
use super::{
    base_sha256, class_loss, class_weights, embed_cached, indices, load_splits, masked_mse,
    moments, rows, to_vec_f32, tone_target, Predictions, Split, TrainConfig, TrainProgress, DEVICE,
};
use crate::data::Example;
use crate::error::{ModelError, TrainError};
use crate::model::head::MlpHead;
use crate::model::manifest::{HeadKind, Manifest};
use crate::model::transformer::SentenceEncoder;
use crate::model::Label;

/// Hyper-parameters of the MLP head.
#[derive(Debug, Clone)]
pub struct MlpConfig {
    /// Encoder layers (1-based) to pool and concatenate.
    pub layers: Vec<usize>,
    /// Units of the hidden layer (default 256).
    pub hidden: i64,
    /// Passes over the training rows (default 30).
    pub epochs: usize,
    /// Rows per optimisation step (default 256).
    pub batch_size: usize,
    /// Learning rate of AdamW, constant (default 1e-3).
    pub lr: f64,
    /// AdamW weight decay (default 0.01).
    pub weight_decay: f64,
    /// Weight of the tone MSE against the class cross-entropy (default 1.0).
    pub tone_weight: f64,
}

impl Default for MlpConfig {
    fn default() -> Self {
        MlpConfig {
            layers: vec![3, 4, 5, 6],
            hidden: 256,
            epochs: 30,
            batch_size: 256,
            lr: 1e-3,
            weight_decay: 0.01,
            tone_weight: 1.0,
        }
    }
}

/// The MLP's training loop: AdamW, shuffled batches, class-weighted cross-entropy plus the
/// tone MSE (× tone weight) on the standardised features `xs` of the rows `tr`.
fn fit_mlp(
    head: &MlpHead,
    xs: &Tensor,
    examples: &[(Example, Split)],
    tr: &[usize],
    (cfg, mc): (&TrainConfig, &MlpConfig),
    progress: TrainProgress<'_>,
) -> Result<(), TrainError> {
    let mut opt = nn::AdamW {
        wd: mc.weight_decay,
        ..Default::default()
    }
    .build(&head.vs, mc.lr)
    .map_err(ModelError::from)?;

    let class_weights = class_weights(tr.iter().map(|&i| examples[i].0.label));
    let mut rng = SplitMix64::new(cfg.seed);
    let mut order = tr.to_vec();
    let bs = mc.batch_size.max(1);
    let epoch_batches = || {
        rng.shuffle(&mut order);
        order.chunks(bs).map(<[usize]>::to_vec).collect()
    };
    let loss_of = |b: &[usize]| {
        let (tone, logits) = head.forward_t(&rows(xs, b), true);
        let labels: Vec<Label> = b.iter().map(|&i| examples[i].0.label).collect();
        let tones: Vec<Option<f32>> = b
            .iter()
            .map(|&i| tone_target(&examples[i].0, cfg.class_tone))
            .collect();
        let ce = class_loss(&logits, &labels, Some(&class_weights));
        Ok(ce + masked_mse(&tone, &tones) * mc.tone_weight)
    };
    let plan = Schedule {
        epochs: mc.epochs,
        batch_size: bs,
        lr: mc.lr,
        warmup: None,
        clip: None,
    };
    fit(&mut opt, plan, tr.len(), epoch_batches, loss_of, progress)?;
    Ok(())
}

/// The head's tensors with the standardisation folded into fc1:
/// W·(x−μ)/σ + b = (W/σ)·x + (b − (W/σ)·μ).
fn export_mlp(
    head: &MlpHead,
    (mean, std): (&Tensor, &Tensor),
    hidden: i64,
) -> Vec<(String, Tensor)> {
    let (mean_v, std_v) = (mean.squeeze_dim(0), std.squeeze_dim(0));
    let w1 = head.fc1.ws.detach() / std_v.unsqueeze(0);
    let b1 = head
        .fc1
        .bs
        .as_ref()
        .map(|b| b.detach())
        .unwrap_or_else(|| Tensor::zeros([hidden], (Kind::Float, DEVICE)))
        - (&w1 * mean_v.unsqueeze(0)).sum_dim_intlist(1, false, Kind::Float);
    let b2 = head
        .fc2
        .bs
        .as_ref()
        .map(|b| b.detach())
        .unwrap_or_else(|| Tensor::zeros([4], (Kind::Float, DEVICE)));
    vec![
        ("fc1.weight".to_string(), w1.contiguous()),
        ("fc1.bias".to_string(), b1.contiguous()),
        ("fc2.weight".to_string(), head.fc2.ws.detach().contiguous()),
        ("fc2.bias".to_string(), b2.contiguous()),
    ]
}

/// Trains the MLP head on the frozen layers `mc.layers` and writes the model folder. Returns
/// the manifest written.
pub fn train_mlp(
    cfg: &TrainConfig,
    mc: &MlpConfig,
    progress: TrainProgress<'_>,
) -> Result<Manifest, TrainError> {
    tch::manual_seed(cfg.seed as i64);
    let examples = load_splits(cfg)?;
    let base_sha = base_sha256(&cfg.base)?;
    let enc = SentenceEncoder::load_layers(&cfg.base, mc.layers.clone(), DEVICE, None)?;
    let texts: Vec<&str> = examples.iter().map(|(e, _)| e.text.as_str()).collect();
    let tag = format!("{base_sha} layers {:?}", mc.layers);
    let feats = embed_cached(&enc, &tag, &texts, cfg.max_length, cfg.batch_size, progress)?;
    let [tr, ca, va] = [Split::Train, Split::Calib, Split::Val].map(|s| indices(&examples, s));
    let (mean, std) = moments(&rows(&feats, &tr));
    let xs = (&feats - &mean) / &std;
    let dim = enc.dim();
    let head = MlpHead::new(dim, mc.hidden, DEVICE);
    fit_mlp(&head, &xs, &examples, &tr, (cfg, mc), progress)?;
    let predict = |ix: &[usize]| -> Result<Predictions, TrainError> {
        let (t, l) = tch::no_grad(|| head.forward_t(&rows(&xs, ix), false));
        Ok(Predictions {
            tone: to_vec_f32(&t)?,
            logits: l,
            quad: None,
        })
    };
    let (pred_ca, pred_va) = (predict(&ca)?, predict(&va)?);

    let tensors = export_mlp(&head, (&mean, &std), mc.hidden);
    finish(
        cfg,
        &examples,
        &ca,
        &va,
        pred_ca,
        pred_va,
        Output {
            kind: HeadKind::Mlp,
            normalize: true,
            head: tensors,
            overlay: None,
            description: format!(
                "MLP head ({} hidden units) on the concatenated mean-pooled, L2-normalised outputs of {} layers {:?}",
                mc.hidden, cfg.base_name, mc.layers
            ),
            layers: mc.layers.clone(),
            hidden: Some(mc.hidden),
            training: json!({
                "method": "mlp",
                "layers": mc.layers,
                "hidden": mc.hidden,
                "epochs": mc.epochs,
                "batch_size": mc.batch_size,
                "lr": mc.lr,
                "weight_decay": mc.weight_decay,
                "tone_weight": mc.tone_weight,
            }),
        },
        base_sha,
    )
}
