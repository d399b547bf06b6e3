//! The last step of every training run: fit the softmax temperature and choose the tone source
//! on the calibration split, measure the validation split, and write the model folder aside
//! before renaming it into place.

use serde_json::json;
use tch::{Kind, Tensor};

use super::{
    argmax_rows, display_data_path, evaluate, fit_band, fit_temperature, fit_temperature_index,
    relative_base, to_vec_f32, ModelFolder, Predictions, Split, TrainConfig,
};
use crate::data::{Example, NEUTRAL_BAND};
use crate::error::TrainError;
use crate::metrics;
use crate::model::manifest::{BaseEncoder, Head, HeadKind, Manifest, Precision, ToneSource};
use crate::model::Label;

/// What a training run produced.
pub struct Output {
    pub kind: HeadKind,
    pub normalize: bool,
    /// Head tensors, named as the head's loader expects (`tone.weight`, … or `fc1.weight`, …).
    pub head: Vec<(String, Tensor)>,
    /// Encoder tensors that differ from the base.
    pub overlay: Option<Vec<(String, Tensor)>>,
    pub description: String,
    /// Pooled layers (MLP head); empty = last.
    pub layers: Vec<usize>,
    pub hidden: Option<i64>,
    /// Run-specific training facts for the manifest.
    pub training: serde_json::Value,
}

fn probs_rows(logits: &Tensor, t: f64) -> Result<Vec<[f32; 3]>, TrainError> {
    Ok(to_vec_f32(&(logits / t).softmax(-1, Kind::Float))?
        .chunks(3)
        .map(|p| [p[0], p[1], p[2]])
        .collect())
}

/// What the calibration split decided: the softmax temperature, where the tone comes from
/// (and the Pearson r of each candidate), the neutral band, and the quad head's temperature.
struct Calibration {
    temperature: f64,
    tone_source: ToneSource,
    regression_r: f64,
    probabilities_r: f64,
    band: f32,
    quad_temperature: f64,
}

impl Calibration {
    /// Fits the calibration on the rows `ca` and their predictions.
    fn fit(
        examples: &[(Example, Split)],
        ca: &[usize],
        calib: &Predictions,
    ) -> Result<Calibration, TrainError> {
        let ca_lab: Vec<Label> = ca.iter().map(|&i| examples[i].0.label).collect();
        let temperature = if ca.is_empty() {
            1.0
        } else {
            fit_temperature(&calib.logits, &ca_lab)
        };
        let ca_probs = probs_rows(&calib.logits, temperature)?;
        let (mut reg, mut prob, mut gold) = (Vec::new(), Vec::new(), Vec::new());
        for (k, &i) in ca.iter().enumerate() {
            if let Some(g) = examples[i].0.tone {
                reg.push(calib.tone[k].clamp(-1.0, 1.0) as f64);
                prob.push((ca_probs[k][2] - ca_probs[k][0]) as f64);
                gold.push(g as f64);
            }
        }
        let regression_r = metrics::pearson(&reg, &gold).unwrap_or(f64::NEG_INFINITY);
        let probabilities_r = metrics::pearson(&prob, &gold).unwrap_or(f64::NEG_INFINITY);
        let tone_source = if probabilities_r >= regression_r {
            ToneSource::Probabilities
        } else {
            ToneSource::Regression
        };
        let mut cal = Calibration {
            temperature,
            tone_source,
            regression_r,
            probabilities_r,
            band: NEUTRAL_BAND,
            quad_temperature: 1.0,
        };
        if !ca.is_empty() {
            cal.band = fit_band(&cal.tones(calib, &ca_probs), &ca_lab);
        }
        if let Some(q) = &calib.quad {
            cal.quad_temperature = fit_temperature_index(q, &quad_index(examples, ca));
        }
        Ok(cal)
    }

    /// The tones of predictions `p` (with probabilities `probs`) from the chosen source.
    fn tones(&self, p: &Predictions, probs: &[[f32; 3]]) -> Vec<f32> {
        match self.tone_source {
            ToneSource::Regression => p.tone.iter().map(|t| t.clamp(-1.0, 1.0)).collect(),
            ToneSource::Probabilities => probs.iter().map(|p| p[2] - p[0]).collect(),
        }
    }
}

/// The quad class index of each row (−1 for rows without one).
fn quad_index(examples: &[(Example, Split)], ix: &[usize]) -> Vec<i64> {
    ix.iter()
        .map(|&i| examples[i].0.quad.map_or(-1, |q| q.index() as i64))
        .collect()
}

/// The validation files present among the rows `va`, sorted.
fn groups_of<'a>(examples: &'a [(Example, Split)], va: &[usize]) -> Vec<&'a str> {
    let mut groups: Vec<&str> = va.iter().map(|&i| examples[i].0.group.as_str()).collect();
    groups.sort();
    groups.dedup();
    groups
}

/// Validation metrics per file and overall (and VADER's on the same rows).
fn validate(
    examples: &[(Example, Split)],
    va: &[usize],
    val: &Predictions,
    cal: &Calibration,
) -> Result<serde_json::Value, TrainError> {
    let probs_va = probs_rows(&val.logits, cal.temperature)?;
    let probs_uncal = probs_rows(&val.logits, 1.0)?;
    let tone_va = cal.tones(val, &probs_va);
    let mut by_file = serde_json::Map::new();
    for g in groups_of(examples, va) {
        let k: Vec<usize> = (0..va.len())
            .filter(|&k| examples[va[k]].0.group == g)
            .collect();
        let exs: Vec<&Example> = k.iter().map(|&k| &examples[va[k]].0).collect();
        let tones: Vec<f32> = k.iter().map(|&k| tone_va[k]).collect();
        let probs: Vec<[f32; 3]> = k.iter().map(|&k| probs_va[k]).collect();
        let mut m = evaluate(&exs, &tones, &probs, cal.band);
        if let Some(q) = &val.quad {
            let rows = Tensor::from_slice(&k.iter().map(|&k| k as i64).collect::<Vec<_>>());
            let ix: Vec<usize> = k.iter().map(|&k| va[k]).collect();
            m["quad"] = quad_metrics(&q.index_select(0, &rows), &quad_index(examples, &ix))?;
        }
        let pu: Vec<[f32; 3]> = k.iter().map(|&k| probs_uncal[k]).collect();
        let truth: Vec<Label> = exs.iter().map(|e| e.label).collect();
        m["ece_uncalibrated"] = json!((metrics::ece(&pu, &truth, 10) * 1e4).round() / 1e4);
        by_file.insert(g.to_string(), m);
    }
    let all: Vec<&Example> = va.iter().map(|&i| &examples[i].0).collect();
    let mut overall = evaluate(&all, &tone_va, &probs_va, cal.band);
    if let Some(q) = &val.quad {
        overall["quad"] = quad_metrics(q, &quad_index(examples, va))?;
    }
    let vader = vader_baseline(examples, va);
    Ok(json!({ "overall": overall, "by_file": by_file, "vader_same_rows": vader }))
}

/// The manifest's record of the run: data, splits, settings and the method's own facts.
fn training_record(
    cfg: &TrainConfig,
    examples: &[(Example, Split)],
    cal: &Calibration,
    extra: &serde_json::Value,
) -> serde_json::Value {
    let count = |s: Split| examples.iter().filter(|(_, sp)| *sp == s).count();
    let mut training = json!({
        "command": cfg.command,
        "data": cfg.data.iter().map(|p| display_data_path(p)).collect::<Vec<_>>(),
        "validation_files": cfg.val.iter().map(|p| display_data_path(p)).collect::<Vec<_>>(),
        "seed": cfg.seed,
        "val_fraction": cfg.val_fraction,
        "calib_fraction": cfg.calib_fraction,
        "rows": {"train": count(Split::Train), "calibration": count(Split::Calib), "validation": count(Split::Val)},
        "data_neutral_band": NEUTRAL_BAND,
        "class_tone": cfg.class_tone,
        "tone_source_choice": {"regression_pearson": cal.regression_r, "probabilities_pearson": cal.probabilities_r},
    });
    if let (Some(t), Some(extra)) = (training.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            t.insert(k.clone(), v.clone());
        }
    }
    training
}

/// The last step of every sentence-model run: calibrates on the rows `ca`, validates on `va`
/// and writes the model folder. Returns the manifest written.
#[allow(clippy::too_many_arguments)]
pub fn finish(
    cfg: &TrainConfig,
    examples: &[(Example, Split)],
    ca: &[usize],
    va: &[usize],
    calib: Predictions,
    val: Predictions,
    out: Output,
    base_sha: String,
) -> Result<Manifest, TrainError> {
    let cal = Calibration::fit(examples, ca, &calib)?;
    let validation = validate(examples, va, &val, &cal)?;
    let folder = ModelFolder::new(&cfg.out)?;
    let head = folder.weights("head.safetensors", &out.head)?;
    let overlay = match &out.overlay {
        Some(tensors) => Some(folder.weights("overlay.safetensors", tensors)?),
        None => None,
    };
    let manifest = Manifest {
        name: cfg.name.clone(),
        description: out.description,
        base: BaseEncoder {
            name: cfg.base_name.clone(),
            path: relative_base(&cfg.base, &cfg.out),
            package: cfg.base_package.clone(),
            sha256: base_sha,
        },
        head: Head {
            kind: out.kind,
            file: head.file,
            sha256: head.sha256,
            tone: cal.tone_source,
            temperature: (cal.temperature * 100.0).round() / 100.0,
            normalize: out.normalize,
            layers: out.layers.clone(),
            hidden: out.hidden,
            overlay,
            neutral_band: (cal.band as f64 * 100.0).round() / 100.0,
            quad: val.quad.is_some(),
            quad_temperature: (cal.quad_temperature * 100.0).round() / 100.0,
            markers: false,
        },
        labels: Label::ALL.iter().map(|l| l.as_str().to_string()).collect(),
        max_length: cfg.max_length,
        precision: Precision::Fp32,
        training: training_record(cfg, examples, &cal, &out.training),
        validation,
    };
    folder.install(&manifest)?;
    Ok(manifest)
}

/// Quad macro-F1 and accuracy on the rows that have a quad class (index ≥ 0).
fn quad_metrics(logits: &Tensor, truth: &[i64]) -> Result<serde_json::Value, TrainError> {
    let pred = argmax_rows(logits)?;
    let (t, p): (Vec<usize>, Vec<usize>) = truth
        .iter()
        .zip(&pred)
        .filter(|(t, _)| **t >= 0)
        .map(|(&t, &p)| (t as usize, p as usize))
        .unzip();
    let right = t.iter().zip(&p).filter(|(a, b)| a == b).count();
    let r4 = |x: f64| (x * 1e4).round() / 1e4;
    Ok(json!({
        "rows": t.len(),
        "macro_f1": r4(metrics::macro_f1_classes(&t, &p, 5)),
        "accuracy": r4(right as f64 / t.len().max(1) as f64),
    }))
}

/// VADER 3.3.2 on the same validation rows (per file and overall), when its lexicon is
/// installed; `null` otherwise.
fn vader_baseline(examples: &[(Example, Split)], va: &[usize]) -> serde_json::Value {
    use crate::model::vader::{default_dir, Vader};
    use crate::model::ToneModel;
    let Ok(v) = Vader::load(&default_dir()) else {
        return serde_json::Value::Null;
    };
    let texts: Vec<&str> = va.iter().map(|&i| examples[i].0.text.as_str()).collect();
    let Ok(tones) = v.score(&texts, &|_| {}) else {
        return serde_json::Value::Null;
    };
    let mut by_file = serde_json::Map::new();
    let eval = |ks: &[usize]| {
        let exs: Vec<&Example> = ks.iter().map(|&k| &examples[va[k]].0).collect();
        let t: Vec<f32> = ks.iter().map(|&k| tones[k].tone).collect();
        let truth: Vec<Label> = exs.iter().map(|e| e.label).collect();
        let pred: Vec<Label> = ks.iter().map(|&k| tones[k].label).collect();
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for (e, &t) in exs.iter().zip(&t) {
            if let Some(g) = e.tone {
                x.push(t as f64);
                y.push(g as f64);
            }
        }
        let r4 = |v: f64| (v * 1e4).round() / 1e4;
        json!({
            "rows": ks.len(),
            "pearson": metrics::pearson(&x, &y).map(r4),
            "accuracy": r4(metrics::accuracy(&truth, &pred)),
            "macro_f1": r4(metrics::macro_f1(&truth, &pred)),
        })
    };
    for g in groups_of(examples, va) {
        let ks: Vec<usize> = (0..va.len())
            .filter(|&k| examples[va[k]].0.group == g)
            .collect();
        by_file.insert(g.to_string(), eval(&ks));
    }
    let all: Vec<usize> = (0..va.len()).collect();
    json!({ "overall": eval(&all), "by_file": by_file })
}
