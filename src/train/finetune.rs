//! Fine-tuning: trains the encoder's transformer layers together with the linear tone head
//! (3-class cross-entropy, class-weighted, plus mean-squared error on the tone of rated rows),
//! with AdamW, linear warm-up and decay, gradient clipping and length-bucketed batches. The word
//! embeddings stay frozen, so the changed tensors (the overlay) stay small; they are stored in
//! fp16 and loaded over the installed base.

use serde_json::json;
use tch::{nn, nn::Module, nn::OptimizerConfig, Kind, Tensor};

use super::finish::{finish, Output};
use super::{
    base_sha256, class_loss, class_weights, index_loss, load_splits, lr_at, masked_mse, to_vec_f32,
    tone_target, Predictions, Split, TrainConfig, TrainProgress,
};
use crate::error::{ModelError, TrainError};
use crate::model::encoder::{mean_pool, pad_batch, Encoder};
use crate::model::head::HeadOutput;
use crate::model::manifest::{HeadKind, Manifest};
use crate::model::Label;
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

/// Batches of example indices: shuffled, then sorted by length within buckets of 50 batches so
/// that padding is small, then the batch order shuffled again.
fn batches(
    order: &mut [usize],
    lens: &[usize],
    bs: usize,
    rng: &mut SplitMix64,
) -> Vec<Vec<usize>> {
    rng.shuffle(order);
    let mut out = Vec::new();
    for bucket in order.chunks_mut(bs * 50) {
        bucket.sort_by_key(|&i| lens[i]);
        for b in bucket.chunks(bs) {
            out.push(b.to_vec());
        }
    }
    rng.shuffle(&mut out);
    out
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
            .ok_or_else(|| ModelError::Torch("no output".into()))?;
        let pooled = mean_pool(last, mask);
        Ok(HeadOutput {
            tone: self.tone.forward(&pooled).squeeze_dim(-1),
            logits: self.class.forward(&pooled),
            quad: self.quad.as_ref().map(|q| q.forward(&pooled)),
        })
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
    let mut encoder = Encoder::load(&cfg.base, false)?;
    let dim = encoder.hidden_size();
    let layers = encoder.num_layers() as usize;
    let first_trained = if ft.top_layers == 0 || ft.top_layers >= layers {
        0
    } else {
        layers - ft.top_layers
    };
    encoder.vs.unfreeze();
    let mut trained_names = Vec::new();
    for (name, t) in encoder.vs.variables() {
        let train = layer_of(&name).is_some_and(|l| l >= first_trained);
        let _ = t.set_requires_grad(train);
        if train {
            trained_names.push(name);
        }
    }
    trained_names.sort();
    let root = encoder.vs.root() / "rhetor_head";
    let has_quad = examples
        .iter()
        .any(|(e, s)| *s == Split::Train && e.quad.is_some());
    let heads = Heads {
        tone: nn::linear(&root / "tone", dim, 1, Default::default()),
        class: nn::linear(&root / "class", dim, 3, Default::default()),
        quad: has_quad.then(|| nn::linear(&root / "quad", dim, 5, Default::default())),
    };
    let mut opt = nn::AdamW {
        wd: ft.weight_decay,
        ..Default::default()
    }
    .build(&encoder.vs, ft.lr)
    .map_err(ModelError::from)?;

    let enc: Vec<Vec<i64>> = examples
        .iter()
        .map(|(e, _)| tokenizer.encode(&e.text, cfg.max_length).ids)
        .collect();
    let lens: Vec<usize> = enc.iter().map(Vec::len).collect();
    let idx = |s: Split| -> Vec<usize> {
        (0..examples.len())
            .filter(|&i| examples[i].1 == s)
            .collect()
    };
    let (mut tr, ca, va) = (idx(Split::Train), idx(Split::Calib), idx(Split::Val));
    let class_weights = class_weights(tr.iter().map(|&i| examples[i].0.label));

    let mut rng = SplitMix64::new(cfg.seed);
    let steps_per_epoch = tr.len().div_ceil(ft.batch_size.max(1));
    let total = steps_per_epoch * ft.epochs;
    let warmup = ((total as f64) * ft.warmup).max(1.0);
    let mut step = 0usize;
    let mut ema: Option<f64> = None;
    let started = std::time::Instant::now();
    for epoch in 0..ft.epochs {
        for batch in batches(&mut tr, &lens, ft.batch_size.max(1), &mut rng) {
            let seqs: Vec<&[i64]> = batch.iter().map(|&i| enc[i].as_slice()).collect();
            let (ids, mask) = pad_batch(&seqs, tokenizer.pad_id());
            let out = heads.forward(&encoder, &ids, &mask, true)?;
            let labels: Vec<Label> = batch.iter().map(|&i| examples[i].0.label).collect();
            let tones: Vec<Option<f32>> = batch
                .iter()
                .map(|&i| tone_target(&examples[i].0, cfg.class_tone))
                .collect();
            let ce = class_loss(&out.logits, &labels, Some(&class_weights));
            let mse = masked_mse(&out.tone, &tones);
            let mut loss = &ce + &mse * ft.tone_weight;
            if let Some(q) = &out.quad {
                let target: Vec<i64> = batch
                    .iter()
                    .map(|&i| examples[i].0.quad.map_or(-1, |q| q.index() as i64))
                    .collect();
                loss += index_loss(q, &target, None) * ft.quad_weight;
            }
            opt.set_lr(lr_at(step, total, warmup, ft.lr));
            opt.backward_step_clip_norm(&loss, 1.0);
            let l = loss.double_value(&[]);
            ema = Some(match ema {
                Some(e) => 0.98 * e + 0.02 * l,
                None => l,
            });
            step += 1;
            progress(
                &format!(
                    "epoch {}/{} loss {:.3}",
                    epoch + 1,
                    ft.epochs,
                    ema.unwrap_or(l)
                ),
                step,
                total,
            );
        }
    }
    let train_secs = started.elapsed().as_secs_f64();

    // Predictions on the held-out splits, in eval mode, length-sorted batches.
    let predict = |ix: &[usize]| -> Result<Predictions, TrainError> {
        let mut order: Vec<usize> = (0..ix.len()).collect();
        order.sort_by_key(|&k| lens[ix[k]]);
        let mut tone = vec![0f32; ix.len()];
        let mut logits = vec![[0f32; 3]; ix.len()];
        let mut quad = vec![[0f32; 5]; ix.len()];
        for chunk in order.chunks(64) {
            let seqs: Vec<&[i64]> = chunk.iter().map(|&k| enc[ix[k]].as_slice()).collect();
            let (ids, mask) = pad_batch(&seqs, tokenizer.pad_id());
            let out = tch::no_grad(|| heads.forward(&encoder, &ids, &mask, false))?;
            let (t, l) = (to_vec_f32(&out.tone), to_vec_f32(&out.logits));
            let q = out.quad.as_ref().map(to_vec_f32).unwrap_or_default();
            for (j, &k) in chunk.iter().enumerate() {
                tone[k] = t[j];
                logits[k].copy_from_slice(&l[3 * j..3 * j + 3]);
                if !q.is_empty() {
                    quad[k].copy_from_slice(&q[5 * j..5 * j + 5]);
                }
            }
        }
        let table = |rows: Vec<f32>, k: i64| Tensor::from_slice(&rows).view([ix.len() as i64, k]);
        Ok(Predictions {
            tone,
            logits: table(logits.concat(), 3),
            quad: has_quad.then(|| table(quad.concat(), 5)),
        })
    };
    progress("evaluate", 0, 1);
    let (pred_ca, pred_va) = (predict(&ca)?, predict(&va)?);

    let vars = encoder.vs.variables();
    let get = |name: &str| -> Result<Tensor, TrainError> {
        vars.get(name)
            .map(|t| t.detach().to_kind(Kind::Float).contiguous())
            .ok_or_else(|| TrainError::Invalid(format!("missing variable {name}")))
    };
    let mut head = Vec::new();
    let parts: &[&str] = if has_quad {
        &["tone", "class", "quad"]
    } else {
        &["tone", "class"]
    };
    for part in parts {
        for kind in ["weight", "bias"] {
            let name = format!("{part}.{kind}");
            head.push((name.clone(), get(&format!("rhetor_head.{name}"))?));
        }
    }
    let mut overlay = Vec::new();
    for name in &trained_names {
        overlay.push((name.clone(), get(name)?.to_kind(Kind::Half)));
    }
    let trained_params: i64 = overlay.iter().map(|(_, t)| t.numel() as i64).sum();
    finish(
        cfg,
        &examples,
        &ca,
        &va,
        pred_ca,
        pred_va,
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
                "steps": total,
                "train_seconds": train_secs.round(),
            }),
        },
        base_sha,
    )
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
        let b = batches(&mut order, &lens, 32, &mut SplitMix64::new(1));
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
