//! Target-dependent tone: fine-tunes the encoder (starting from a sentence tone model's
//! overlay when `--init` is given) with a linear 3-class head on the pooled sentence and the
//! pooled tokens of the mention, on NewsMTSC-style rows. Validation compares it with the
//! baseline the issue names: the sentence's own tone used as the target's.

use std::path::{Path, PathBuf};

use serde_json::json;
use tch::{nn, nn::Module, nn::OptimizerConfig, Kind, Tensor};

use super::finetune::{FinetuneConfig, SplitMix64};
use super::{
    base_sha256, class_loss, class_weights, display_data_path, fit_band, fit_temperature,
    install_model, lr_at, relative_base, staging_dir, to_vec_f32, TrainProgress,
};
use crate::data::{held_out, Columns, Example, Format};
use crate::error::{ModelError, TrainError};
use crate::metrics;
use crate::model::manifest::{
    sha256_file, BaseEncoder, FileRef, Head, HeadKind, Manifest, ToneSource, DEFAULT_NEUTRAL_BAND,
};
use crate::model::transformer::{target_features, SentenceEncoder, Settings, TransformerModel};
use crate::model::{Label, ToneModel};

/// What to train the target model on.
#[derive(Debug, Clone)]
pub struct TargetConfig {
    /// Training files of target rows (sentence, mention span, class); a fraction is held out
    /// for calibration, by sentence.
    pub data: Vec<PathBuf>,
    /// Target-row files used only for validation, each reported on its own.
    pub val: Vec<PathBuf>,
    /// Base encoder folder (installed by setup).
    pub base: PathBuf,
    /// The base encoder's name as the manifest records it (e.g. `all-MiniLM-L6-v2`).
    pub base_name: String,
    /// Where the base encoder comes from, as the manifest records it.
    pub base_package: String,
    /// A sentence tone model whose encoder overlay initialises the encoder (and that gives
    /// the baseline).
    pub init: Option<PathBuf>,
    /// Model folder to write; in an existing folder only the model files are replaced.
    pub out: PathBuf,
    /// Model name in the manifest.
    pub name: String,
    /// Seed of the calibration split, weight initialisation and batch order.
    pub seed: u64,
    /// Fraction of the training sentences held out to fit the softmax temperature and the
    /// neutral band.
    pub calib_fraction: f64,
    /// Maximum tokens per sentence (before the two mention markers are added); longer
    /// sentences are truncated.
    pub max_length: usize,
    /// Wrap the mention in marker tokens (`<` … `>`) so the encoder sees which one is meant.
    pub markers: bool,
    /// Weight of the pairwise contrast loss (`contrast_loss`) against the class loss.
    pub contrast_weight: f64,
    /// The command line, recorded in the manifest.
    pub command: String,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |error| TrainError::Io {
        path: path.to_path_buf(),
        error,
    }
}

fn logits_of(
    enc: &SentenceEncoder,
    head: &nn::Linear,
    items: &[(Vec<i64>, Vec<i64>)],
    idx: &[usize],
    markers: bool,
) -> Result<Tensor, TrainError> {
    let mut order: Vec<usize> = (0..idx.len()).collect();
    order.sort_by_key(|&k| items[idx[k]].0.len());
    let mut out = vec![[0f32; 3]; idx.len()];
    for chunk in order.chunks(64) {
        let seqs: Vec<&[i64]> = chunk.iter().map(|&k| items[idx[k]].0.as_slice()).collect();
        let masks: Vec<&[i64]> = chunk.iter().map(|&k| items[idx[k]].1.as_slice()).collect();
        let l = tch::no_grad(|| -> Result<Tensor, ModelError> {
            Ok(head.forward(&target_features(enc, &seqs, &masks, markers, false)?))
        })?;
        let l = to_vec_f32(&l);
        for (j, &k) in chunk.iter().enumerate() {
            out[k] = [l[3 * j], l[3 * j + 1], l[3 * j + 2]];
        }
    }
    let flat: Vec<f32> = out.iter().flatten().copied().collect();
    Ok(Tensor::from_slice(&flat).view([idx.len() as i64, 3]))
}

/// One id per distinct sentence text, for each example.
fn sentence_ids(xs: &[Example]) -> Vec<usize> {
    let mut ids = std::collections::HashMap::new();
    xs.iter()
        .map(|x| {
            let next = ids.len();
            *ids.entry(x.text.as_str()).or_insert(next)
        })
        .collect()
}

/// Target rows (NewsMTSC or the corpus's `*_targets.jsonl`): every example has its span.
fn load_targets(path: &Path) -> Result<Vec<Example>, crate::error::DataError> {
    crate::data::load(path, Format::NewsmtscTargets, &Columns::default())
}

/// Pairwise contrast loss over the targets of one sentence whose gold classes differ: the
/// target of the warmer class must get a tone (P(positive) − P(negative)) higher by at least
/// 0.5 per class step (1.0 for a negative/positive pair). The class loss alone lets the
/// model give every target the sentence's dominant side; this term is only satisfied when
/// the two mentions are told apart. `None` when the batch has no such pair.
fn contrast_loss(logits: &Tensor, labels: &[Label], sentences: &[usize]) -> Option<Tensor> {
    let (mut cold, mut warm, mut margin) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..labels.len() {
        for j in i + 1..labels.len() {
            let step = labels[j].index() as i64 - labels[i].index() as i64;
            if sentences[i] != sentences[j] || step == 0 {
                continue;
            }
            let (c, w) = if step > 0 { (i, j) } else { (j, i) };
            cold.push(c as i64);
            warm.push(w as i64);
            margin.push(0.5 * step.abs() as f32);
        }
    }
    if cold.is_empty() {
        return None;
    }
    let p = logits.softmax(-1, Kind::Float);
    let tone = p.select(1, 2) - p.select(1, 0);
    let gap = tone.index_select(0, &Tensor::from_slice(&warm))
        - tone.index_select(0, &Tensor::from_slice(&cold));
    Some((Tensor::from_slice(&margin) - gap).relu().mean(Kind::Float))
}

/// The tone of the target model: P(positive) − P(negative).
fn tone_of(p: &[f32; 3]) -> f32 {
    p[2] - p[0]
}

/// Metrics of predicted classes `pred` (with probabilities `probs` for the ECE).
fn class_metrics(truth: &[Label], pred: &[Label], probs: &[[f32; 3]]) -> serde_json::Value {
    let r4 = |x: f64| (x * 1e4).round() / 1e4;
    json!({
        "rows": truth.len(),
        "macro_f1": r4(metrics::macro_f1(truth, pred)),
        "accuracy": r4(metrics::accuracy(truth, pred)),
        "ece": r4(metrics::ece(probs, truth, 10)),
        "confusion": metrics::confusion(truth, pred),
    })
}

/// Trains the target-dependent tone model and writes the model folder. Returns the manifest
/// written.
pub fn train_target(
    cfg: &TargetConfig,
    ft: &FinetuneConfig,
    progress: TrainProgress<'_>,
) -> Result<Manifest, TrainError> {
    tch::manual_seed(cfg.seed as i64);
    let mut train = Vec::new();
    let mut calib = Vec::new();
    for p in &cfg.data {
        for ex in load_targets(p)? {
            // Held out by sentence, so that a sentence's targets stay on one side and
            // the contrast pairs of training are whole.
            let probe = Example {
                key: ex.text.clone(),
                text: String::new(),
                span: None,
                tone: None,
                label: ex.label,
                quad: None,
                group: "targets".into(),
            };
            if held_out(&probe, cfg.seed.wrapping_add(1), cfg.calib_fraction) {
                calib.push(ex);
            } else {
                train.push(ex);
            }
        }
    }
    let mut val: Vec<Example> = Vec::new();
    let mut val_files = Vec::new();
    for p in &cfg.val {
        let start = val.len();
        val.extend(load_targets(p)?);
        val_files.push((display_data_path(p), start..val.len()));
    }
    if train.is_empty() {
        return Err(TrainError::Invalid("no training targets".into()));
    }
    let base_sha = base_sha256(&cfg.base)?;
    let mut enc = SentenceEncoder::load(&cfg.base)?;
    enc.normalize = false;
    if let Some(init) = &cfg.init {
        let m = Manifest::read(init)?;
        if let Some(ov) = &m.head.overlay {
            crate::model::transformer::apply_overlay(
                &mut enc.encoder,
                &init.join(&ov.file),
                &ov.sha256,
            )?;
        }
    }
    let dim = enc.encoder.hidden_size();
    enc.encoder.vs.unfreeze();
    let mut trained = Vec::new();
    for (name, t) in enc.encoder.vs.variables() {
        let on = name.starts_with("encoder.layer.");
        let _ = t.set_requires_grad(on);
        if on {
            trained.push(name);
        }
    }
    trained.sort();
    let head = nn::linear(
        enc.encoder.vs.root() / "rhetor_target" / "class",
        2 * dim,
        3,
        Default::default(),
    );
    let mut opt = nn::AdamW {
        wd: ft.weight_decay,
        ..Default::default()
    }
    .build(&enc.encoder.vs, ft.lr)
    .map_err(ModelError::from)?;
    let encode = |xs: &[Example]| -> Vec<(Vec<i64>, Vec<i64>)> {
        xs.iter()
            .map(|x| {
                let (from, to) = x.span.unwrap_or_default();
                let (e, m) =
                    enc.tokenizer
                        .encode_span(&x.text, cfg.max_length, from, to, cfg.markers);
                (e.ids, m)
            })
            .collect()
    };
    let (tr_enc, ca_enc, va_enc) = (encode(&train), encode(&calib), encode(&val));
    let cw = class_weights(train.iter().map(|x| x.label));
    let sentence_of = sentence_ids(&train);
    let mut rng = SplitMix64::new(cfg.seed);
    let bs = ft.batch_size.max(1);
    let total = train.len().div_ceil(bs) * ft.epochs;
    let warm = (total as f64 * ft.warmup).max(1.0);
    let mut step = 0;
    let mut ema: Option<f64> = None;
    let started = std::time::Instant::now();
    for epoch in 0..ft.epochs {
        let mut order: Vec<usize> = (0..train.len()).collect();
        rng.shuffle(&mut order);
        let mut batches: Vec<Vec<usize>> = Vec::new();
        for bucket in order.chunks_mut(bs * 50) {
            // Targets of one sentence have the same length: sorted together, they share
            // a batch, where the contrast loss compares them.
            bucket.sort_by_key(|&i| (tr_enc[i].0.len(), sentence_of[i]));
            batches.extend(bucket.chunks(bs).map(|b| b.to_vec()));
        }
        rng.shuffle(&mut batches);
        for b in batches {
            let seqs: Vec<&[i64]> = b.iter().map(|&i| tr_enc[i].0.as_slice()).collect();
            let masks: Vec<&[i64]> = b.iter().map(|&i| tr_enc[i].1.as_slice()).collect();
            let logits = head.forward(&target_features(&enc, &seqs, &masks, cfg.markers, true)?);
            let labels: Vec<Label> = b.iter().map(|&i| train[i].label).collect();
            let sentences: Vec<usize> = b.iter().map(|&i| sentence_of[i]).collect();
            let loss = class_loss(&logits, &labels, Some(&cw));
            let loss = match contrast_loss(&logits, &labels, &sentences) {
                Some(pairs) => loss + pairs * cfg.contrast_weight,
                None => loss,
            };
            opt.set_lr(lr_at(step, total, warm, ft.lr));
            opt.backward_step_clip_norm(&loss, 1.0);
            let l = loss.double_value(&[]);
            ema = Some(ema.map_or(l, |e| 0.98 * e + 0.02 * l));
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
    let secs = started.elapsed().as_secs_f64();
    progress("evaluate", 0, 1);
    let all_ca: Vec<usize> = (0..calib.len()).collect();
    let all_va: Vec<usize> = (0..val.len()).collect();
    let ca_truth: Vec<Label> = calib.iter().map(|x| x.label).collect();
    let temperature = if calib.is_empty() {
        1.0
    } else {
        fit_temperature(
            &logits_of(&enc, &head, &ca_enc, &all_ca, cfg.markers)?,
            &ca_truth,
        )
    };
    let probs_of = |logits: &Tensor| -> Vec<[f32; 3]> {
        to_vec_f32(&(logits / temperature).softmax(-1, Kind::Float))
            .chunks(3)
            .map(|p| [p[0], p[1], p[2]])
            .collect()
    };
    let band = if calib.is_empty() {
        DEFAULT_NEUTRAL_BAND as f32
    } else {
        let ca_probs = probs_of(&logits_of(&enc, &head, &ca_enc, &all_ca, cfg.markers)?);
        fit_band(&ca_probs.iter().map(tone_of).collect::<Vec<_>>(), &ca_truth)
    };
    let probs = probs_of(&logits_of(&enc, &head, &va_enc, &all_va, cfg.markers)?);
    let pred: Vec<Label> = probs
        .iter()
        .map(|p| Label::from_tone(tone_of(p), band))
        .collect();
    // The sentence tone model's own sentence score used as the target's: the baseline.
    let baseline = match &cfg.init {
        Some(init) => {
            let base_model = TransformerModel::load(init, Settings::default())?;
            let texts: Vec<&str> = val.iter().map(|x| x.text.as_str()).collect();
            Some((
                base_model.manifest.name.clone(),
                base_model.score(&texts, &|_| {})?,
            ))
        }
        None => None,
    };
    let mut validation = serde_json::Map::new();
    for (file, range) in &val_files {
        let truth: Vec<Label> = val[range.clone()].iter().map(|x| x.label).collect();
        let mut m = json!({
            "target_model": class_metrics(&truth, &pred[range.clone()], &probs[range.clone()])
        });
        if let Some((name, tones)) = &baseline {
            let t = &tones[range.clone()];
            let bl: Vec<Label> = t.iter().map(|t| t.label).collect();
            let bp: Vec<[f32; 3]> = t.iter().map(|t| t.probs.as_array()).collect();
            m["sentence_tone_baseline"] = class_metrics(&truth, &bl, &bp);
            m["sentence_tone_baseline"]["model"] = json!(name);
        }
        validation.insert(file.clone(), m);
    }
    let validation = serde_json::Value::Object(validation);

    // Write aside, then move into place.
    let staging = staging_dir(&cfg.out)?;
    let tmp = staging.path().to_path_buf();
    let vars = enc.encoder.vs.variables();
    let get = |n: &str| -> Result<Tensor, TrainError> {
        vars.get(n)
            .map(|t| t.detach().to_kind(Kind::Float).contiguous())
            .ok_or_else(|| TrainError::Invalid(format!("missing variable {n}")))
    };
    let head_t = vec![
        (
            "class.weight".to_string(),
            get("rhetor_target.class.weight")?,
        ),
        ("class.bias".to_string(), get("rhetor_target.class.bias")?),
    ];
    let hp = tmp.join("head.safetensors");
    Tensor::write_safetensors(&head_t, &hp).map_err(|e| TrainError::Model(e.into()))?;
    let mut overlay = Vec::new();
    for n in &trained {
        overlay.push((n.clone(), get(n)?.to_kind(Kind::Half)));
    }
    let op = tmp.join("overlay.safetensors");
    Tensor::write_safetensors(&overlay, &op).map_err(|e| TrainError::Model(e.into()))?;
    let manifest = Manifest {
        name: cfg.name.clone(),
        description: if cfg.markers {
            format!(
                "Target-dependent tone: {} fine-tuned (fp16 overlay); the mention is wrapped in < > markers and a linear head reads the pooled marked tokens and the opening marker",
                cfg.base_name
            )
        } else {
            format!(
                "Target-dependent tone: {} fine-tuned (fp16 overlay) with a linear head on the pooled sentence and pooled mention tokens",
                cfg.base_name
            )
        },
        base: BaseEncoder {
            name: cfg.base_name.clone(),
            path: relative_base(&cfg.base, &cfg.out),
            package: cfg.base_package.clone(),
            sha256: base_sha,
        },
        head: Head {
            kind: HeadKind::Target,
            file: "head.safetensors".into(),
            sha256: sha256_file(&hp).map_err(io(&hp))?,
            tone: ToneSource::Probabilities,
            temperature: (temperature * 100.0).round() / 100.0,
            normalize: false,
            layers: Vec::new(),
            hidden: None,
            overlay: Some(FileRef {
                file: "overlay.safetensors".into(),
                sha256: sha256_file(&op).map_err(io(&op))?,
            }),
            neutral_band: (band as f64 * 100.0).round() / 100.0,
            quad: false,
            quad_temperature: 1.0,
            markers: cfg.markers,
        },
        labels: Label::ALL.iter().map(|l| l.as_str().to_string()).collect(),
        max_length: cfg.max_length,
        training: json!({
            "command": cfg.command,
            "method": "target",
            "data": cfg.data.iter().map(|p| display_data_path(p)).collect::<Vec<_>>(),
            "validation_files": cfg.val.iter().map(|p| display_data_path(p)).collect::<Vec<_>>(),
            "init": cfg.init.as_ref().map(|p| p.display().to_string()),
            "markers": cfg.markers,
            "contrast_weight": cfg.contrast_weight,
            "seed": cfg.seed,
            "calib_fraction": cfg.calib_fraction,
            "rows": {"train": train.len(), "calibration": calib.len(), "validation": val.len()},
            "epochs": ft.epochs, "batch_size": ft.batch_size, "lr": ft.lr,
            "train_seconds": secs.round(),
        }),
        validation,
    };
    manifest.write(&tmp).map_err(io(&tmp))?;
    install_model(staging, &cfg.out)?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logits(rows: &[[f32; 3]]) -> Tensor {
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        Tensor::from_slice(&flat).view([rows.len() as i64, 3])
    }

    #[test]
    fn contrast_loss_needs_two_targets_of_one_sentence_with_different_classes() {
        let l = logits(&[[5.0, 0.0, 0.0], [0.0, 0.0, 5.0], [0.0, 5.0, 0.0]]);
        let labels = [Label::Negative, Label::Positive, Label::Negative];
        assert!(contrast_loss(&l, &labels, &[0, 1, 2]).is_none());
        assert!(contrast_loss(&l, &[Label::Negative; 3], &[0, 0, 0]).is_none());
    }

    #[test]
    fn contrast_loss_is_zero_when_the_pair_is_told_apart_and_high_when_swapped() {
        let labels = [Label::Negative, Label::Positive];
        let apart = logits(&[[6.0, 0.0, 0.0], [0.0, 0.0, 6.0]]);
        let swapped = logits(&[[0.0, 0.0, 6.0], [6.0, 0.0, 0.0]]);
        let same = logits(&[[6.0, 0.0, 0.0], [6.0, 0.0, 0.0]]);
        let loss = |l: &Tensor| {
            contrast_loss(l, &labels, &[3, 3])
                .unwrap()
                .double_value(&[])
        };
        assert!(loss(&apart) < 1e-6);
        assert!(loss(&same) > 0.99);
        assert!(loss(&swapped) > 2.9);
    }

    #[test]
    fn sentence_ids_are_shared_by_targets_of_the_same_text() {
        let x = |text: &str| Example {
            key: String::new(),
            text: text.into(),
            span: Some((0, 1)),
            tone: None,
            label: Label::Neutral,
            quad: None,
            group: "g".into(),
        };
        assert_eq!(sentence_ids(&[x("a"), x("b"), x("a")]), vec![0, 1, 0]);
    }
}
