//! Target-dependent tone: fine-tunes the encoder (starting from a sentence tone model's
//! overlay when `--init` is given) with a linear 3-class head on the pooled sentence and the
//! pooled tokens of the mention, on NewsMTSC-style rows. Validation compares it with the
//! baseline the issue names: the sentence's own tone used as the target's.

use std::path::{Path, PathBuf};

use serde_json::json;
use tch::{nn, nn::Module, Kind, Tensor};

use super::finetune::{
    adamw, batches, export, export_overlay, fit, trainable, FinetuneConfig, Named, Schedule,
    SplitMix64,
};
use super::{
    base_sha256, class_loss, class_metrics, class_weights, display_data_path, fit_band,
    fit_temperature, relative_base, to_vec_f32, ModelFolder, TrainConfig, TrainProgress, DEVICE,
};
use crate::data::{held_out, Columns, Example, Format};
use crate::error::{ModelError, TrainError};
use crate::model::encoder::Overlay;
use crate::model::manifest::{
    BaseEncoder, Head, HeadKind, Manifest, Precision, ToneSource, DEFAULT_NEUTRAL_BAND,
};
use crate::model::transformer::{target_features, SentenceEncoder, Settings, TransformerModel};
use crate::model::{in_length_order, Label, ToneModel};

/// What to train the target model on: the shared training settings (`data` and `val` are
/// files of target rows: sentence, mention span, class; `calib_fraction` of the training
/// sentences is held out, by sentence, to fit the temperature and the neutral band; the
/// sentence-reading fields `format`, `columns`, `val_fraction`, `batch_size`, `epochs` and
/// `class_tone` do not apply) and the target method's own.
#[derive(Debug, Clone)]
pub struct TargetConfig {
    /// Data, output, base encoder, seed, calibration fraction and maximum length.
    pub train: TrainConfig,
    /// A sentence tone model whose encoder overlay initialises the encoder (and that gives
    /// the baseline).
    pub init: Option<PathBuf>,
    /// Wrap the mention in marker tokens (`<` … `>`) so the encoder sees which one is meant.
    pub markers: bool,
    /// Weight of the pairwise contrast loss (`contrast_loss`) against the class loss.
    pub contrast_weight: f64,
}

fn logits_of(
    enc: &SentenceEncoder,
    head: &nn::Linear,
    items: &[(Vec<i64>, Vec<i64>)],
    idx: &[usize],
    markers: bool,
) -> Result<Tensor, TrainError> {
    let lens: Vec<usize> = idx.iter().map(|&i| items[i].0.len()).collect();
    let out = in_length_order(&lens, 64, |chunk| -> Result<Vec<[f32; 3]>, TrainError> {
        let seqs: Vec<&[i64]> = chunk.iter().map(|&k| items[idx[k]].0.as_slice()).collect();
        let masks: Vec<&[i64]> = chunk.iter().map(|&k| items[idx[k]].1.as_slice()).collect();
        let l = tch::no_grad(|| -> Result<Tensor, ModelError> {
            Ok(head.forward(&target_features(enc, &seqs, &masks, markers, false)?))
        })?;
        Ok(to_vec_f32(&l)?
            .chunks(3)
            .map(|p| [p[0], p[1], p[2]])
            .collect())
    })?;
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

/// The target rows of a run: training and calibration (held out by sentence, so a
/// sentence's targets stay on one side and the contrast pairs of training are whole) and
/// validation, with each validation file's range.
struct TargetRows {
    train: Vec<Example>,
    calib: Vec<Example>,
    val: Vec<Example>,
    val_files: Vec<(String, std::ops::Range<usize>)>,
}

impl TargetRows {
    fn load(cfg: &TargetConfig) -> Result<TargetRows, TrainError> {
        let (mut train, mut calib) = (Vec::new(), Vec::new());
        for p in &cfg.train.data {
            for ex in load_targets(p)? {
                let probe = Example {
                    key: ex.text.clone(),
                    text: String::new(),
                    span: None,
                    tone: None,
                    label: ex.label,
                    quad: None,
                    group: "targets".into(),
                };
                if held_out(
                    &probe,
                    cfg.train.seed.wrapping_add(1),
                    cfg.train.calib_fraction,
                ) {
                    calib.push(ex);
                } else {
                    train.push(ex);
                }
            }
        }
        let (mut val, mut val_files) = (Vec::new(), Vec::new());
        for p in &cfg.train.val {
            let start = val.len();
            val.extend(load_targets(p)?);
            val_files.push((display_data_path(p), start..val.len()));
        }
        if train.is_empty() {
            return Err(TrainError::Invalid("no training targets".into()));
        }
        Ok(TargetRows {
            train,
            calib,
            val,
            val_files,
        })
    }
}

/// The base encoder with `--init`'s overlay applied, its transformer layers trainable; and
/// the names of the trained tensors.
fn start_encoder(cfg: &TargetConfig) -> Result<(SentenceEncoder, Vec<String>), TrainError> {
    let mut enc = SentenceEncoder::load(&cfg.train.base, DEVICE)?;
    enc.normalize = false;
    if let Some(init) = &cfg.init {
        let m = Manifest::read(init)?;
        if let Some(ov) = &m.head.overlay {
            Overlay::open(&init.join(&ov.file), &ov.sha256)?.apply(&enc.encoder)?;
        }
    }
    let trained = trainable(&mut enc.encoder, |n| n.starts_with("encoder.layer."));
    Ok((enc, trained))
}

/// The 3-class head on the marked mention and the sentence (twice the hidden width).
fn class_head(enc: &SentenceEncoder) -> nn::Linear {
    let root = enc.encoder.vs.root() / "rhetor_target" / "class";
    nn::linear(root, 2 * enc.encoder.hidden_size(), 3, Default::default())
}

/// Token ids and the mention mask of each target.
fn encode(enc: &SentenceEncoder, cfg: &TargetConfig, xs: &[Example]) -> Vec<(Vec<i64>, Vec<i64>)> {
    xs.iter()
        .map(|x| {
            let (from, to) = x.span.unwrap_or_default();
            let (e, m) =
                enc.tokenizer
                    .encode_span(&x.text, cfg.train.max_length, from, to, cfg.markers);
            (e.ids, m)
        })
        .collect()
}

/// Temperature and neutral band fitted on the calibration targets (defaults without any).
fn calibrate(
    enc: &SentenceEncoder,
    head: &nn::Linear,
    calib: &[Example],
    ca_enc: &[(Vec<i64>, Vec<i64>)],
    markers: bool,
) -> Result<(f64, f32), TrainError> {
    if calib.is_empty() {
        return Ok((1.0, DEFAULT_NEUTRAL_BAND as f32));
    }
    let all: Vec<usize> = (0..calib.len()).collect();
    let truth: Vec<Label> = calib.iter().map(|x| x.label).collect();
    let temperature = fit_temperature(&logits_of(enc, head, ca_enc, &all, markers)?, &truth);
    let probs = probs_of(&logits_of(enc, head, ca_enc, &all, markers)?, temperature)?;
    let band = fit_band(&probs.iter().map(tone_of).collect::<Vec<_>>(), &truth);
    Ok((temperature, band))
}

/// Softmax probabilities of `logits / temperature`, one row per target.
fn probs_of(logits: &Tensor, temperature: f64) -> Result<Vec<[f32; 3]>, TrainError> {
    Ok(
        to_vec_f32(&(logits / temperature).softmax(-1, Kind::Float))?
            .chunks(3)
            .map(|p| [p[0], p[1], p[2]])
            .collect(),
    )
}

/// Validation per file: the target model's classes against the gold, next to the baseline
/// (the `--init` sentence model's own sentence tone used as the target's).
fn validate(
    cfg: &TargetConfig,
    rows: &TargetRows,
    (probs, pred): &(Vec<[f32; 3]>, Vec<Label>),
) -> Result<serde_json::Value, TrainError> {
    let baseline = match &cfg.init {
        Some(init) => {
            let base_model = TransformerModel::load(init, Settings::default())?;
            let texts: Vec<&str> = rows.val.iter().map(|x| x.text.as_str()).collect();
            Some((
                base_model.manifest.name.clone(),
                base_model.score(&texts, &|_| {})?,
            ))
        }
        None => None,
    };
    let mut validation = serde_json::Map::new();
    for (file, range) in &rows.val_files {
        let truth: Vec<Label> = rows.val[range.clone()].iter().map(|x| x.label).collect();
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
    Ok(serde_json::Value::Object(validation))
}

/// Trains the target-dependent tone model and writes the model folder. Returns the manifest
/// written.
pub fn train_target(
    cfg: &TargetConfig,
    ft: &FinetuneConfig,
    progress: TrainProgress<'_>,
) -> Result<Manifest, TrainError> {
    tch::manual_seed(cfg.train.seed as i64);
    let rows = TargetRows::load(cfg)?;
    let base_sha = base_sha256(&cfg.train.base)?;
    let (enc, trained) = start_encoder(cfg)?;
    let head = class_head(&enc);
    let mut opt = adamw(&enc.encoder.vs, ft)?;
    let [tr_enc, ca_enc, va_enc] =
        [&rows.train, &rows.calib, &rows.val].map(|xs| encode(&enc, cfg, xs));
    let cw = class_weights(rows.train.iter().map(|x| x.label));
    let sentence_of = sentence_ids(&rows.train);
    let mut rng = SplitMix64::new(cfg.train.seed);
    let bs = ft.batch_size.max(1);
    // Targets of one sentence have the same length: sorted together, they share a batch,
    // where the contrast loss compares them.
    let epoch_batches = || {
        let mut order: Vec<usize> = (0..rows.train.len()).collect();
        batches(
            &mut order,
            |i| (tr_enc[i].0.len(), sentence_of[i]),
            bs,
            &mut rng,
        )
    };
    let loss_of = |b: &[usize]| -> Result<Tensor, TrainError> {
        let seqs: Vec<&[i64]> = b.iter().map(|&i| tr_enc[i].0.as_slice()).collect();
        let masks: Vec<&[i64]> = b.iter().map(|&i| tr_enc[i].1.as_slice()).collect();
        let logits = head.forward(&target_features(&enc, &seqs, &masks, cfg.markers, true)?);
        let labels: Vec<Label> = b.iter().map(|&i| rows.train[i].label).collect();
        let sentences: Vec<usize> = b.iter().map(|&i| sentence_of[i]).collect();
        let loss = class_loss(&logits, &labels, Some(&cw));
        Ok(match contrast_loss(&logits, &labels, &sentences) {
            Some(pairs) => loss + pairs * cfg.contrast_weight,
            None => loss,
        })
    };
    let (_, secs) = fit(
        &mut opt,
        Schedule::warmup_decay(ft),
        rows.train.len(),
        epoch_batches,
        loss_of,
        progress,
    )?;
    progress("evaluate", 0, 1);
    let (temperature, band) = calibrate(&enc, &head, &rows.calib, &ca_enc, cfg.markers)?;
    let validation = validate(
        cfg,
        &rows,
        &predict(&enc, &head, cfg, &va_enc, (temperature, band))?,
    )?;
    let vars = enc.encoder.vs.variables();
    let fitted = Fitted {
        head: vec![
            (
                "class.weight".into(),
                export(&vars, "rhetor_target.class.weight")?,
            ),
            (
                "class.bias".into(),
                export(&vars, "rhetor_target.class.bias")?,
            ),
        ],
        overlay: export_overlay(&vars, &trained)?,
        temperature,
        band,
        secs,
        validation,
    };
    write_model(cfg, ft, &rows, base_sha, fitted)
}

/// Probabilities and classes of the validation targets, with the calibrated temperature and
/// neutral band.
fn predict(
    enc: &SentenceEncoder,
    head: &nn::Linear,
    cfg: &TargetConfig,
    va_enc: &[(Vec<i64>, Vec<i64>)],
    (temperature, band): (f64, f32),
) -> Result<(Vec<[f32; 3]>, Vec<Label>), TrainError> {
    let all: Vec<usize> = (0..va_enc.len()).collect();
    let probs = probs_of(
        &logits_of(enc, head, va_enc, &all, cfg.markers)?,
        temperature,
    )?;
    let pred = probs
        .iter()
        .map(|p| Label::from_tone(tone_of(p), band))
        .collect();
    Ok((probs, pred))
}

/// What training and calibration produced, for the model folder.
struct Fitted {
    head: Named,
    overlay: Named,
    temperature: f64,
    band: f32,
    secs: f64,
    validation: serde_json::Value,
}

/// The manifest's record of how the target model was trained.
fn training_record(
    cfg: &TargetConfig,
    ft: &FinetuneConfig,
    rows: &TargetRows,
    secs: f64,
) -> serde_json::Value {
    let (train, calib, val) = (&rows.train, &rows.calib, &rows.val);
    json!({
        "command": cfg.train.command,
        "method": "target",
        "data": cfg.train.data.iter().map(|p| display_data_path(p)).collect::<Vec<_>>(),
        "validation_files": cfg.train.val.iter().map(|p| display_data_path(p)).collect::<Vec<_>>(),
        "init": cfg.init.as_ref().map(|p| p.display().to_string()),
        "markers": cfg.markers,
        "contrast_weight": cfg.contrast_weight,
        "seed": cfg.train.seed,
        "calib_fraction": cfg.train.calib_fraction,
        "rows": {"train": train.len(), "calibration": calib.len(), "validation": val.len()},
        "epochs": ft.epochs, "batch_size": ft.batch_size, "lr": ft.lr,
        "train_seconds": secs.round(),
    })
}

/// Writes head, overlay and manifest aside, then moves the folder into place.
fn write_model(
    cfg: &TargetConfig,
    ft: &FinetuneConfig,
    rows: &TargetRows,
    base_sha: String,
    fitted: Fitted,
) -> Result<Manifest, TrainError> {
    let Fitted {
        head: head_t,
        overlay,
        temperature,
        band,
        secs,
        validation,
    } = fitted;
    let folder = ModelFolder::new(&cfg.train.out)?;
    let head = folder.weights("head.safetensors", &head_t)?;
    let overlay = folder.weights("overlay.safetensors", &overlay)?;
    let manifest = Manifest {
        name: cfg.train.name.clone(),
        description: if cfg.markers {
            format!(
                "Target-dependent tone: {} fine-tuned (fp16 overlay); the mention is wrapped in < > markers and a linear head reads the pooled marked tokens and the opening marker",
                cfg.train.base_name
            )
        } else {
            format!(
                "Target-dependent tone: {} fine-tuned (fp16 overlay) with a linear head on the pooled sentence and pooled mention tokens",
                cfg.train.base_name
            )
        },
        base: BaseEncoder {
            name: cfg.train.base_name.clone(),
            path: relative_base(&cfg.train.base, &cfg.train.out),
            package: cfg.train.base_package.clone(),
            sha256: base_sha,
        },
        head: Head {
            kind: HeadKind::Target,
            file: head.file,
            sha256: head.sha256,
            tone: ToneSource::Probabilities,
            temperature: (temperature * 100.0).round() / 100.0,
            normalize: false,
            layers: Vec::new(),
            hidden: None,
            overlay: Some(overlay),
            neutral_band: (band as f64 * 100.0).round() / 100.0,
            quad: false,
            quad_temperature: 1.0,
            markers: cfg.markers,
        },
        labels: Label::ALL.iter().map(|l| l.as_str().to_string()).collect(),
        max_length: cfg.train.max_length,
        precision: Precision::Fp32,
        training: training_record(cfg, ft, rows, secs),
        validation,
    };
    folder.install(&manifest)?;
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
