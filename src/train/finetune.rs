//! Fine-tuning: trains the encoder's transformer layers together with the linear tone head
//! (3-class cross-entropy, class-weighted, plus mean-squared error on the tone of rated rows),
//! with AdamW, linear warm-up and decay, gradient clipping and length-bucketed batches. The word
//! embeddings stay frozen, so the changed tensors (the overlay) stay small; they are stored in
//! fp16 and loaded over the installed base.

use std::collections::HashMap;

use serde_json::json;
use tch::{nn, nn::Module, nn::OptimizerConfig, Kind, Tensor};

use super::finish::{finish, Output};
use super::{
    base_sha256, class_loss, class_weights, index_loss, indices, load_splits, lr_at, masked_mse,
    to_vec_f32, tone_target, Predictions, Split, TrainConfig, TrainProgress, DEVICE,
};
use crate::data::Example;
use crate::error::{ModelError, TrainError};
use crate::model::encoder::{mean_pool, pad_batch, Encoder};
use crate::model::head::HeadOutput;
use crate::model::manifest::{HeadKind, Manifest};
use crate::model::{in_length_order, Label};
use crate::tokenize::{TextEncoder, WordPiece};

/// Hyper-parameters of fine-tuning.
#[derive(Debug, Clone)]
pub struct FinetuneConfig {
    /// Passes over the training rows (default 2).
    pub epochs: usize,
    /// Rows per optimisation step (default 32).
    pub batch_size: usize,
    /// Peak learning rate of AdamW, reached after the warm-up and then decayed linearly to 0
    /// (default 1e-4).
    pub lr: f64,
    /// AdamW weight decay (default 0.01).
    pub weight_decay: f64,
    /// Fraction of all steps spent warming the learning rate up linearly (default 0.06).
    pub warmup: f64,
    /// Weight of the tone MSE against the class cross-entropy.
    pub tone_weight: f64,
    /// Weight of the quad cross-entropy (rows with a quad class) against the class loss.
    pub quad_weight: f64,
    /// Fine-tune only the top N transformer layers (0 = all).
    pub top_layers: usize,
}

impl Default for FinetuneConfig {
    fn default() -> Self {
        FinetuneConfig {
            epochs: 2,
            batch_size: 32,
            lr: 1e-4,
            weight_decay: 0.01,
            warmup: 0.06,
            tone_weight: 1.0,
            quad_weight: 0.5,
            top_layers: 0,
        }
    }
}

/// SplitMix64: a tiny, seeded, portable shuffler (the same order on every machine).
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    /// Shuffles `v` in place (Fisher–Yates).
    pub(crate) fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// Batches of example indices: shuffled, then sorted by `key` (the length, so that padding is
/// small) within buckets of 50 batches, then the batch order shuffled again.
pub(crate) fn batches<K: Ord>(
    order: &mut [usize],
    key: impl Fn(usize) -> K,
    bs: usize,
    rng: &mut SplitMix64,
) -> Vec<Vec<usize>> {
    rng.shuffle(order);
    let mut out = Vec::new();
    for bucket in order.chunks_mut(bs * 50) {
        bucket.sort_by_key(|&i| key(i));
        for b in bucket.chunks(bs) {
            out.push(b.to_vec());
        }
    }
    rng.shuffle(&mut out);
    out
}

/// How [`fit`] steps: passes, batch size, learning-rate schedule and gradient clipping.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    /// Passes over the training rows.
    pub epochs: usize,
    /// Rows per step (sets the number of steps per epoch).
    pub batch_size: usize,
    /// Peak (or constant) learning rate.
    pub lr: f64,
    /// Fraction of all steps warming the rate up linearly before it decays linearly to 0;
    /// `None` keeps it constant.
    pub warmup: Option<f64>,
    /// Gradient-norm clipping, if any.
    pub clip: Option<f64>,
}

impl Schedule {
    /// The fine-tuning methods' schedule: warm-up and linear decay, gradients clipped at 1.
    pub(crate) fn warmup_decay(ft: &FinetuneConfig) -> Schedule {
        Schedule {
            epochs: ft.epochs,
            batch_size: ft.batch_size,
            lr: ft.lr,
            warmup: Some(ft.warmup),
            clip: Some(1.0),
        }
    }
}

/// The optimiser loop of every gradient-trained method: for each epoch, `epoch_batches` draws
/// the batches; each step sets the learning rate by `plan`, clips the gradient norm if it
/// says so, and reports the running loss. `n_train` rows give `ceil(n_train / batch size)`
/// steps per epoch. Returns the number of steps and the seconds spent.
pub(crate) fn fit(
    opt: &mut nn::Optimizer,
    plan: Schedule,
    n_train: usize,
    mut epoch_batches: impl FnMut() -> Vec<Vec<usize>>,
    mut loss_of: impl FnMut(&[usize]) -> Result<Tensor, TrainError>,
    progress: TrainProgress<'_>,
) -> Result<(usize, f64), TrainError> {
    let total = n_train.div_ceil(plan.batch_size.max(1)) * plan.epochs;
    let (mut step, mut ema) = (0usize, None::<f64>);
    let started = std::time::Instant::now();
    for epoch in 0..plan.epochs {
        for batch in epoch_batches() {
            let loss = loss_of(&batch)?;
            opt.set_lr(match plan.warmup {
                Some(w) => lr_at(step, total, ((total as f64) * w).max(1.0), plan.lr),
                None => plan.lr,
            });
            match plan.clip {
                Some(c) => opt.backward_step_clip_norm(&loss, c),
                None => opt.backward_step(&loss),
            }
            let l = loss.double_value(&[]);
            let e = ema.map_or(l, |e| 0.98 * e + 0.02 * l);
            ema = Some(e);
            step += 1;
            let stage = format!("epoch {}/{} loss {e:.3}", epoch + 1, plan.epochs);
            progress(&stage, step, total);
        }
    }
    Ok((total, started.elapsed().as_secs_f64()))
}

/// Marks the encoder's variables trainable where `train(name)` says so (all others frozen)
/// and returns the trained names, sorted: the overlay's tensors.
pub(crate) fn trainable(encoder: &mut Encoder, train: impl Fn(&str) -> bool) -> Vec<String> {
    encoder.vs.unfreeze();
    let mut names = Vec::new();
    for (name, t) in encoder.vs.variables() {
        let on = train(&name);
        let _ = t.set_requires_grad(on);
        if on {
            names.push(name);
        }
    }
    names.sort();
    names
}

/// Named tensors, as a safetensors file holds them.
pub(crate) type Named = Vec<(String, Tensor)>;

/// The variable `name` of `vars` as a contiguous fp32 tensor, detached.
pub(crate) fn export(vars: &HashMap<String, Tensor>, name: &str) -> Result<Tensor, TrainError> {
    vars.get(name)
        .map(|t| t.detach().to_kind(Kind::Float).contiguous())
        .ok_or_else(|| TrainError::Invalid(format!("missing variable {name}")))
}

/// The fp16 overlay: the trained encoder tensors `names`.
pub(crate) fn export_overlay(
    vars: &HashMap<String, Tensor>,
    names: &[String],
) -> Result<Named, TrainError> {
    names
        .iter()
        .map(|n| Ok((n.clone(), export(vars, n)?.to_kind(Kind::Half))))
        .collect()
}

/// The first trained layer when only the top `top` of `layers` are trained (0: all).
fn first_trained_layer(top: usize, layers: usize) -> usize {
    if top == 0 || top >= layers {
        0
    } else {
        layers - top
    }
}

fn layer_of(name: &str) -> Option<usize> {
    name.strip_prefix("encoder.layer.")?
        .split('.')
        .next()?
        .parse()
        .ok()
}

struct Heads {
    tone: nn::Linear,
    class: nn::Linear,
    /// The quad classifier, trained when some rows have a quad class.
    quad: Option<nn::Linear>,
}

impl Heads {
    fn forward(
        &self,
        enc: &Encoder,
        ids: &Tensor,
        mask: &Tensor,
        train: bool,
    ) -> Result<HeadOutput, ModelError> {
        let layers = enc.hidden_states(ids, mask, train)?;
        let last = layers
            .last()
            .ok_or_else(|| ModelError::Invalid("the encoder returned no output".into()))?;
        let pooled = mean_pool(last, mask);
        Ok(HeadOutput {
            tone: self.tone.forward(&pooled).squeeze_dim(-1),
            logits: self.class.forward(&pooled),
            quad: self.quad.as_ref().map(|q| q.forward(&pooled)),
        })
    }
}

/// The tokenized rows of a fine-tuning run.
struct Rows<'a> {
    examples: &'a [(Example, Split)],
    ids: Vec<Vec<i64>>,
    lens: Vec<usize>,
    pad: i64,
}

impl Rows<'_> {
    /// The rows `batch` as a padded batch (ids, mask).
    fn padded(&self, batch: &[usize]) -> (Tensor, Tensor) {
        let seqs: Vec<&[i64]> = batch.iter().map(|&i| self.ids[i].as_slice()).collect();
        pad_batch(&seqs, self.pad, DEVICE)
    }
}

impl Heads {
    /// The heads under `root`: tone, class, and quad when `quad`.
    fn new(root: nn::Path, dim: i64, quad: bool) -> Heads {
        Heads {
            tone: nn::linear(&root / "tone", dim, 1, Default::default()),
            class: nn::linear(&root / "class", dim, 3, Default::default()),
            quad: quad.then(|| nn::linear(&root / "quad", dim, 5, Default::default())),
        }
    }

    /// Training loss of one batch: class-weighted cross-entropy + tone MSE (× tone weight) +
    /// quad cross-entropy on rows with a quad (× quad weight).
    fn loss(
        &self,
        enc: &Encoder,
        rows: &Rows,
        batch: &[usize],
        weights: &Tensor,
        cfg: &TrainConfig,
        ft: &FinetuneConfig,
    ) -> Result<Tensor, TrainError> {
        let (ids, mask) = rows.padded(batch);
        let out = self.forward(enc, &ids, &mask, true)?;
        let ex = |i: usize| &rows.examples[i].0;
        let labels: Vec<Label> = batch.iter().map(|&i| ex(i).label).collect();
        let tones: Vec<Option<f32>> = batch
            .iter()
            .map(|&i| tone_target(ex(i), cfg.class_tone))
            .collect();
        let ce = class_loss(&out.logits, &labels, Some(weights));
        let mut loss = &ce + masked_mse(&out.tone, &tones) * ft.tone_weight;
        if let Some(q) = &out.quad {
            let target: Vec<i64> = batch
                .iter()
                .map(|&i| ex(i).quad.map_or(-1, |q| q.index() as i64))
                .collect();
            loss += index_loss(q, &target, None) * ft.quad_weight;
        }
        Ok(loss)
    }

    /// Predictions on the rows `ix`, in eval mode, in length-sorted batches of 64.
    fn predict(&self, enc: &Encoder, rows: &Rows, ix: &[usize]) -> Result<Predictions, TrainError> {
        let lens: Vec<usize> = ix.iter().map(|&i| rows.lens[i]).collect();
        let out = in_length_order(&lens, 64, |chunk| -> Result<Vec<_>, TrainError> {
            let batch: Vec<usize> = chunk.iter().map(|&k| ix[k]).collect();
            let (ids, mask) = rows.padded(&batch);
            let out = tch::no_grad(|| self.forward(enc, &ids, &mask, false))?;
            let (t, l) = (to_vec_f32(&out.tone)?, to_vec_f32(&out.logits)?);
            let q = out
                .quad
                .as_ref()
                .map(to_vec_f32)
                .transpose()?
                .unwrap_or_else(|| vec![0.0; 5 * chunk.len()]);
            Ok((0..chunk.len())
                .map(|j| {
                    (
                        t[j],
                        [l[3 * j], l[3 * j + 1], l[3 * j + 2]],
                        q[5 * j..5 * j + 5].to_vec(),
                    )
                })
                .collect())
        })?;
        let tone: Vec<f32> = out.iter().map(|o| o.0).collect();
        let logits: Vec<[f32; 3]> = out.iter().map(|o| o.1).collect();
        let quad: Vec<f32> = out.iter().flat_map(|o| o.2.clone()).collect();
        let table = |rows: Vec<f32>, k: i64| Tensor::from_slice(&rows).view([ix.len() as i64, k]);
        Ok(Predictions {
            tone,
            logits: table(logits.concat(), 3),
            quad: self.quad.is_some().then(|| table(quad, 5)),
        })
    }

    /// The head's tensors as the head file names them (`tone.weight`, …).
    fn export(&self, vars: &HashMap<String, Tensor>) -> Result<Named, TrainError> {
        let parts: &[&str] = if self.quad.is_some() {
            &["tone", "class", "quad"]
        } else {
            &["tone", "class"]
        };
        let mut head = Vec::new();
        for part in parts {
            for kind in ["weight", "bias"] {
                let name = format!("{part}.{kind}");
                head.push((name.clone(), export(vars, &format!("rhetor_head.{name}"))?));
            }
        }
        Ok(head)
    }
}

/// AdamW over the trainable variables of `vs`, with the configured weight decay.
pub(crate) fn adamw(vs: &nn::VarStore, ft: &FinetuneConfig) -> Result<nn::Optimizer, TrainError> {
    let opt = nn::AdamW {
        wd: ft.weight_decay,
        ..Default::default()
    }
    .build(vs, ft.lr)
    .map_err(ModelError::from)?;
    Ok(opt)
}

/// The fine-tuned model's files and training record for [`finish`]: `trained` is (first
/// trained layer, layers), `weights` (head, overlay), `run` (steps, seconds).
fn output(
    cfg: &TrainConfig,
    ft: &FinetuneConfig,
    (first_trained, layers): (usize, usize),
    (head, overlay): (Named, Named),
    (steps, secs): (usize, f64),
) -> Output {
    let trained_params: i64 = overlay.iter().map(|(_, t)| t.numel() as i64).sum();
    Output {
        kind: HeadKind::Finetuned,
        normalize: false,
        head,
        overlay: Some(overlay),
        description: format!(
            "{} with its transformer layers {}..{} fine-tuned (fp16 overlay) and a linear tone head on the mean-pooled output",
            cfg.base_name, first_trained, layers - 1
        ),
        layers: Vec::new(),
        hidden: None,
        training: json!({
            "method": "fine-tune",
            "epochs": ft.epochs,
            "batch_size": ft.batch_size,
            "lr": ft.lr,
            "weight_decay": ft.weight_decay,
            "warmup": ft.warmup,
            "tone_weight": ft.tone_weight,
            "quad_weight": ft.quad_weight,
            "trained_layers": format!("{first_trained}..{}", layers - 1),
            "trained_parameters": trained_params,
            "steps": steps,
            "train_seconds": secs.round(),
        }),
    }
}

/// Fine-tunes the encoder with the tone head and writes the model folder.
pub fn train_finetune(
    cfg: &TrainConfig,
    ft: &FinetuneConfig,
    progress: TrainProgress<'_>,
) -> Result<Manifest, TrainError> {
    tch::manual_seed(cfg.seed as i64);
    let examples = load_splits(cfg)?;
    let base_sha = base_sha256(&cfg.base)?;
    let tokenizer = WordPiece::from_vocab(&cfg.base.join("vocab.txt"))?;
    let mut encoder = Encoder::load(&cfg.base, false, DEVICE)?;
    let (dim, layers) = (encoder.hidden_size(), encoder.num_layers() as usize);
    let first_trained = first_trained_layer(ft.top_layers, layers);
    let trained_names = trainable(&mut encoder, |n| {
        layer_of(n).is_some_and(|l| l >= first_trained)
    });
    let has_quad = examples
        .iter()
        .any(|(e, s)| *s == Split::Train && e.quad.is_some());
    let heads = Heads::new(encoder.vs.root() / "rhetor_head", dim, has_quad);
    let mut opt = adamw(&encoder.vs, ft)?;
    let ids: Vec<Vec<i64>> = examples
        .iter()
        .map(|(e, _)| tokenizer.encode(&e.text, cfg.max_length).ids)
        .collect();
    let lens = ids.iter().map(Vec::len).collect();
    let rows = Rows {
        examples: &examples,
        ids,
        lens,
        pad: tokenizer.pad_id(),
    };
    let [mut tr, ca, va] = [Split::Train, Split::Calib, Split::Val].map(|s| indices(&examples, s));
    let weights = class_weights(tr.iter().map(|&i| examples[i].0.label));
    let mut rng = SplitMix64::new(cfg.seed);
    let bs = ft.batch_size.max(1);
    let (steps, secs) = fit(
        &mut opt,
        Schedule::warmup_decay(ft),
        tr.len(),
        || batches(&mut tr, |i| rows.lens[i], bs, &mut rng),
        |batch| heads.loss(&encoder, &rows, batch, &weights, cfg, ft),
        progress,
    )?;
    progress("evaluate", 0, 1);
    let (pred_ca, pred_va) = (
        heads.predict(&encoder, &rows, &ca)?,
        heads.predict(&encoder, &rows, &va)?,
    );
    let vars = encoder.vs.variables();
    let (head, overlay) = (heads.export(&vars)?, export_overlay(&vars, &trained_names)?);
    let output = output(
        cfg,
        ft,
        (first_trained, layers),
        (head, overlay),
        (steps, secs),
    );
    finish(cfg, &examples, &ca, &va, pred_ca, pred_va, output, base_sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffles_are_seeded_and_complete() {
        let mut a: Vec<usize> = (0..100).collect();
        let mut b = a.clone();
        SplitMix64::new(5).shuffle(&mut a);
        SplitMix64::new(5).shuffle(&mut b);
        assert_eq!(a, b);
        assert_ne!(a, (0..100).collect::<Vec<_>>());
        let mut s = a.clone();
        s.sort();
        assert_eq!(s, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn batches_cover_every_index_once() {
        let lens: Vec<usize> = (0..1000).map(|i| (i * 7919) % 61).collect();
        let mut order: Vec<usize> = (0..1000).collect();
        let b = batches(&mut order, |i| lens[i], 32, &mut SplitMix64::new(1));
        let mut all: Vec<usize> = b.iter().flatten().copied().collect();
        all.sort();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        assert!(b.iter().all(|x| x.len() <= 32));
    }

    #[test]
    fn layer_names() {
        assert_eq!(layer_of("encoder.layer.5.output.dense.weight"), Some(5));
        assert_eq!(layer_of("embeddings.word_embeddings.weight"), None);
    }
}
