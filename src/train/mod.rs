//! Train: fits tone heads on labeled data and writes model folders that [`crate::model`] loads.
//!
//! The linear head: frozen base encoder → pooled, normalised sentence embedding → standardised
//! features → ridge regression for tone and class-weighted softmax regression for the three
//! classes. Hyper-parameters (ridge λ, softmax L2) and the softmax temperature are chosen on a
//! calibration split carved from the training files; the metrics reported are on validation
//! data that neither training nor those choices saw.

pub mod data;

use std::path::{Path, PathBuf};

use serde_json::json;
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

use crate::error::TrainError;
use crate::metrics;
use crate::model::head::LinearHead;
use crate::model::manifest::{sha256_file, BaseEncoder, Head, HeadKind, Manifest, ToneSource};
use crate::model::transformer::SentenceEncoder;
use crate::model::{Label, Probs};
use data::{held_out, Columns, DataFormat, Example};

/// What to train on and where to write.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Training files; a fixed fraction of each is held out for validation.
    pub data: Vec<PathBuf>,
    /// Files used only for validation (e.g. NewsMTSC dev).
    pub val: Vec<PathBuf>,
    pub format: DataFormat,
    pub columns: Columns,
    pub val_fraction: f64,
    pub calib_fraction: f64,
    pub seed: u64,
    /// Base encoder folder (installed by setup).
    pub base: PathBuf,
    pub base_name: String,
    pub base_package: String,
    pub out: PathBuf,
    pub name: String,
    pub max_length: usize,
    pub batch_size: usize,
    pub epochs: usize,
    /// The command line, recorded in the manifest.
    pub command: String,
}

/// Progress reporting for long stages: `(stage, done, total)`.
pub type TrainProgress<'a> = &'a dyn Fn(&str, usize, usize);

/// The split an example belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Calib,
    Val,
}

/// Loads every file and assigns each example to train, calibration or validation.
pub fn load_splits(cfg: &TrainConfig) -> Result<Vec<(Example, Split)>, TrainError> {
    let mut out = Vec::new();
    for path in &cfg.data {
        for ex in data::load(path, cfg.format, &cfg.columns)? {
            let split = if held_out(&ex, cfg.seed, cfg.val_fraction) {
                Split::Val
            } else if held_out(&ex, cfg.seed.wrapping_add(1), cfg.calib_fraction) {
                Split::Calib
            } else {
                Split::Train
            };
            out.push((ex, split));
        }
    }
    for path in &cfg.val {
        for ex in data::load(path, cfg.format, &cfg.columns)? {
            out.push((ex, Split::Val));
        }
    }
    if !out.iter().any(|(_, s)| *s == Split::Train) {
        return Err(TrainError::Invalid("no training examples".into()));
    }
    Ok(out)
}

/// Embeds texts with the base encoder, caching the result on disk (keyed by the base's sha256,
/// the maximum length and the texts) so that re-training does not re-encode.
pub fn embed_cached(
    enc: &SentenceEncoder,
    base_sha: &str,
    texts: &[&str],
    max_length: usize,
    batch_size: usize,
    progress: TrainProgress<'_>,
) -> Result<Tensor, TrainError> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(base_sha.as_bytes());
    h.update(max_length.to_le_bytes());
    for t in texts {
        h.update(t.as_bytes());
        h.update([0]);
    }
    let key: String = h.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = cache_dir().join("embeddings");
    let file = dir.join(format!("{key}.pt"));
    if let Ok(t) = Tensor::load(&file) {
        if t.size().first() == Some(&(texts.len() as i64)) {
            progress("embed (cached)", texts.len(), texts.len());
            return Ok(t);
        }
    }
    let encodings = enc.encode_all(texts, max_length);
    let total = texts.len();
    let feats = enc.embed_sorted(&encodings, batch_size, &|k| progress("embed", k, total))?;
    if std::fs::create_dir_all(&dir).is_ok() {
        let tmp = dir.join(format!("{key}.pt.partial"));
        if feats.save(&tmp).is_ok() {
            let _ = std::fs::rename(&tmp, &file);
        }
    }
    Ok(feats)
}

/// `$RHETOR_CACHE`, else `$XDG_CACHE_HOME/rhetor`, else `~/.cache/rhetor`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("RHETOR_CACHE") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("rhetor");
    }
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/rhetor"))
        .unwrap_or_else(|| PathBuf::from("target/rhetor-cache"))
}

fn rows(t: &Tensor, idx: &[usize]) -> Tensor {
    let i = Tensor::from_slice(&idx.iter().map(|&i| i as i64).collect::<Vec<_>>());
    t.index_select(0, &i)
}

fn to_vec_f32(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(t.to_kind(Kind::Float).contiguous().view(-1)).unwrap_or_default()
}

/// Ridge regression on standardised features: returns `(w [d], b)`.
fn ridge(x: &Tensor, y: &[f32], lambda: f64) -> (Tensor, f64) {
    let x = x.to_kind(Kind::Double);
    let ybar = y.iter().map(|&v| v as f64).sum::<f64>() / y.len().max(1) as f64;
    let yc = Tensor::from_slice(&y.iter().map(|&v| v as f64 - ybar).collect::<Vec<_>>());
    let d = x.size()[1];
    let a = x.transpose(0, 1).matmul(&x) + Tensor::eye(d, (Kind::Double, Device::Cpu)) * lambda;
    let rhs = x.transpose(0, 1).matmul(&yc.unsqueeze(1));
    let w = Tensor::linalg_solve(&a, &rhs, true).squeeze_dim(1);
    (w.to_kind(Kind::Float), ybar)
}

/// Class-weighted softmax regression with L2 penalty, full-batch Adam: `(W [3, d], b [3])`.
fn softmax_regression(
    x: &Tensor,
    y: &[Label],
    l2: f64,
    epochs: usize,
    seed: u64,
) -> (Tensor, Tensor) {
    tch::manual_seed(seed as i64);
    let d = x.size()[1];
    let vs = nn::VarStore::new(Device::Cpu);
    let w = vs.root().zeros("w", &[3, d]);
    let b = vs.root().zeros("b", &[3]);
    let mut counts = [0f64; 3];
    for l in y {
        counts[l.index()] += 1.0;
    }
    let n = y.len() as f64;
    let weights: Vec<f32> = counts
        .iter()
        .map(|&c| if c > 0.0 { (n / (3.0 * c)) as f32 } else { 0.0 })
        .collect();
    let weights = Tensor::from_slice(&weights);
    let target = Tensor::from_slice(&y.iter().map(|l| l.index() as i64).collect::<Vec<_>>());
    let mut opt = match nn::Adam::default().build(&vs, 0.05) {
        Ok(o) => o,
        Err(_) => return (w.detach(), b.detach()),
    };
    for _ in 0..epochs {
        let logits = x.matmul(&w.transpose(0, 1)) + &b;
        let loss = logits.log_softmax(-1, Kind::Float).g_nll_loss(
            &target,
            Some(&weights),
            tch::Reduction::Mean,
            -100,
        ) + w.pow_tensor_scalar(2).sum(Kind::Float) * l2;
        opt.backward_step(&loss);
    }
    (w.detach(), b.detach())
}

/// Negative log-likelihood of labels under `softmax(logits / t)`.
fn nll(logits: &Tensor, y: &[Label], t: f64) -> f64 {
    let target = Tensor::from_slice(&y.iter().map(|l| l.index() as i64).collect::<Vec<_>>());
    (logits / t)
        .log_softmax(-1, Kind::Float)
        .g_nll_loss(&target, None::<Tensor>, tch::Reduction::Mean, -100)
        .double_value(&[])
}

/// Fits a softmax temperature by grid search on NLL.
pub fn fit_temperature(logits: &Tensor, y: &[Label]) -> f64 {
    let mut best = (f64::INFINITY, 1.0);
    for k in 0..=90 {
        let t = 0.25 + k as f64 * 0.05;
        let v = nll(logits, y, t);
        if v < best.0 {
            best = (v, t);
        }
    }
    best.1
}

/// Metrics of predictions on a set of examples.
pub fn evaluate(examples: &[&Example], tones: &[f32], probs: &[[f32; 3]]) -> serde_json::Value {
    let truth: Vec<Label> = examples.iter().map(|e| e.label).collect();
    let pred: Vec<Label> = probs
        .iter()
        .map(|p| Probs::from_array(*p).argmax())
        .collect();
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for (e, &t) in examples.iter().zip(tones) {
        if let Some(g) = e.tone {
            xs.push(t as f64);
            ys.push(g as f64);
        }
    }
    let r4 = |x: f64| (x * 10_000.0).round() / 10_000.0;
    json!({
        "rows": examples.len(),
        "pearson": metrics::pearson(&xs, &ys).map(r4),
        "spearman": metrics::spearman(&xs, &ys).map(r4),
        "accuracy": r4(metrics::accuracy(&truth, &pred)),
        "macro_f1": r4(metrics::macro_f1(&truth, &pred)),
        "ece": r4(metrics::ece(probs, &truth, 10)),
        "confusion": metrics::confusion(&truth, &pred),
    })
}

/// Trains the linear head and writes the model folder. Returns the manifest written.
pub fn train_linear(
    cfg: &TrainConfig,
    progress: TrainProgress<'_>,
) -> Result<Manifest, TrainError> {
    tch::manual_seed(cfg.seed as i64);
    let examples = load_splits(cfg)?;
    let weights = cfg.base.join("model.safetensors");
    let base_sha = sha256_file(&weights).map_err(|error| TrainError::Io {
        path: weights.clone(),
        error,
    })?;
    let enc = SentenceEncoder::load(&cfg.base)?;
    let texts: Vec<&str> = examples.iter().map(|(e, _)| e.text.as_str()).collect();
    let feats = embed_cached(
        &enc,
        &base_sha,
        &texts,
        cfg.max_length,
        cfg.batch_size,
        progress,
    )?;

    let idx = |s: Split| -> Vec<usize> {
        examples
            .iter()
            .enumerate()
            .filter(|(_, (_, sp))| *sp == s)
            .map(|(i, _)| i)
            .collect()
    };
    let (tr, ca, va) = (idx(Split::Train), idx(Split::Calib), idx(Split::Val));
    let xtr = rows(&feats, &tr);
    let mean = xtr.mean_dim([0i64].as_slice(), true, Kind::Float);
    let std = xtr.std_dim([0i64].as_slice(), true, true).clamp_min(1e-6);
    let standardise = |x: &Tensor| (x - &mean) / &std;
    let (xs_tr, xs_ca) = (standardise(&xtr), standardise(&rows(&feats, &ca)));

    // Tone regression on rows with an intensity rating.
    let with_tone = |ix: &[usize]| -> (Vec<usize>, Vec<f32>) {
        ix.iter()
            .enumerate()
            .filter_map(|(k, &i)| examples[i].0.tone.map(|t| (k, t)))
            .unzip()
    };
    let (tr_k, tr_y) = with_tone(&tr);
    let (ca_k, ca_y) = with_tone(&ca);
    if tr_k.is_empty() {
        return Err(TrainError::Invalid(
            "no training example has a numeric rating; the tone regression needs some".into(),
        ));
    }
    let x_reg = rows(&xs_tr, &tr_k);
    let x_reg_ca = rows(&xs_ca, &ca_k);
    let ca_y64: Vec<f64> = ca_y.iter().map(|&v| v as f64).collect();
    let mut best_ridge = (
        f64::NEG_INFINITY,
        0.0,
        Tensor::zeros([1], (Kind::Float, Device::Cpu)),
        0.0,
    );
    for (step, lambda) in [1.0, 10.0, 100.0, 1000.0, 10000.0].into_iter().enumerate() {
        progress("ridge", step + 1, 5);
        let (w, b) = ridge(&x_reg, &tr_y, lambda);
        let pred: Vec<f64> = to_vec_f32(&(x_reg_ca.matmul(&w) + b))
            .iter()
            .map(|&v| v as f64)
            .collect();
        let r = metrics::pearson(&pred, &ca_y64).unwrap_or(f64::NEG_INFINITY);
        if r > best_ridge.0 {
            best_ridge = (r, lambda, w, b);
        }
    }
    let (ridge_r, lambda, w_tone, b_tone) = best_ridge;

    // 3-class softmax regression.
    let tr_lab: Vec<Label> = tr.iter().map(|&i| examples[i].0.label).collect();
    let ca_lab: Vec<Label> = ca.iter().map(|&i| examples[i].0.label).collect();
    let mut best_cls = (f64::NEG_INFINITY, 0.0, None);
    for (step, l2) in [1e-5, 1e-4, 1e-3].into_iter().enumerate() {
        progress("softmax", step + 1, 3);
        let (w, b) = softmax_regression(&xs_tr, &tr_lab, l2, cfg.epochs, cfg.seed);
        let logits = xs_ca.matmul(&w.transpose(0, 1)) + &b;
        let pred: Vec<Label> = logits_to_labels(&logits);
        let f1 = metrics::macro_f1(&ca_lab, &pred);
        if f1 > best_cls.0 {
            best_cls = (f1, l2, Some((w, b)));
        }
    }
    let (cls_f1, l2, wb) = best_cls;
    let (w_cls, b_cls) = wb.ok_or_else(|| TrainError::Invalid("softmax training failed".into()))?;
    let logits_ca = xs_ca.matmul(&w_cls.transpose(0, 1)) + &b_cls;
    let temperature = fit_temperature(&logits_ca, &ca_lab);

    // Tone from the regression or from the probabilities, whichever agrees better with ratings.
    let probs_ca = (&logits_ca / temperature).softmax(-1, Kind::Float);
    let pp = to_vec_f32(&rows(&probs_ca, &ca_k));
    let prob_tone: Vec<f64> = pp.chunks(3).map(|p| (p[2] - p[0]) as f64).collect();
    let prob_r = metrics::pearson(&prob_tone, &ca_y64).unwrap_or(f64::NEG_INFINITY);
    let tone_source = if prob_r > ridge_r {
        ToneSource::Probabilities
    } else {
        ToneSource::Regression
    };

    // Fold the standardisation into the weights: w·(x-μ)/σ + b = (w/σ)·x + (b - (w/σ)·μ).
    let (mean_v, std_v) = (mean.squeeze_dim(0), std.squeeze_dim(0));
    let w_tone_raw = &w_tone / &std_v;
    let b_tone_raw = b_tone - (&w_tone_raw * &mean_v).sum(Kind::Float).double_value(&[]);
    let w_cls_raw = &w_cls / std_v.unsqueeze(0);
    let b_cls_raw =
        &b_cls - (&w_cls_raw * mean_v.unsqueeze(0)).sum_dim_intlist(1, false, Kind::Float);
    let dim = enc.encoder.hidden_size();
    let head = LinearHead::new(dim);
    tch::no_grad(|| {
        head.tone
            .ws
            .shallow_clone()
            .copy_(&w_tone_raw.view([1, dim]));
        if let Some(b) = &head.tone.bs {
            b.shallow_clone()
                .copy_(&Tensor::from_slice(&[b_tone_raw as f32]));
        }
        head.class.ws.shallow_clone().copy_(&w_cls_raw);
        if let Some(b) = &head.class.bs {
            b.shallow_clone().copy_(&b_cls_raw);
        }
    });

    // Validation on held-out data, per file and overall, with the folded head.
    let xva = rows(&feats, &va);
    let (tone_va, logits_va) = tch::no_grad(|| head.forward(&xva));
    let probs_va = (&logits_va / temperature).softmax(-1, Kind::Float);
    let probs_uncal = logits_va.softmax(-1, Kind::Float);
    let pv = to_vec_f32(&probs_va);
    let pu = to_vec_f32(&probs_uncal);
    let probs_va: Vec<[f32; 3]> = pv.chunks(3).map(|p| [p[0], p[1], p[2]]).collect();
    let probs_uncal: Vec<[f32; 3]> = pu.chunks(3).map(|p| [p[0], p[1], p[2]]).collect();
    let tone_va: Vec<f32> = match tone_source {
        ToneSource::Regression => to_vec_f32(&tone_va)
            .iter()
            .map(|t| t.clamp(-1.0, 1.0))
            .collect(),
        ToneSource::Probabilities => probs_va.iter().map(|p| p[2] - p[0]).collect(),
    };
    let mut groups: Vec<String> = va.iter().map(|&i| examples[i].0.group.clone()).collect();
    groups.sort();
    groups.dedup();
    let mut per_group = serde_json::Map::new();
    for g in &groups {
        let k: Vec<usize> = (0..va.len())
            .filter(|&k| examples[va[k]].0.group == *g)
            .collect();
        let exs: Vec<&Example> = k.iter().map(|&k| &examples[va[k]].0).collect();
        let tones: Vec<f32> = k.iter().map(|&k| tone_va[k]).collect();
        let probs: Vec<[f32; 3]> = k.iter().map(|&k| probs_va[k]).collect();
        let mut m = evaluate(&exs, &tones, &probs);
        let pu: Vec<[f32; 3]> = k.iter().map(|&k| probs_uncal[k]).collect();
        let truth: Vec<Label> = exs.iter().map(|e| e.label).collect();
        m["ece_uncalibrated"] = json!((metrics::ece(&pu, &truth, 10) * 1e4).round() / 1e4);
        per_group.insert(g.clone(), m);
    }
    let all_ex: Vec<&Example> = va.iter().map(|&i| &examples[i].0).collect();
    let overall = evaluate(&all_ex, &tone_va, &probs_va);

    // Write the model folder aside, then rename it into place.
    let parent = cfg.out.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|error| TrainError::Io {
        path: parent.to_path_buf(),
        error,
    })?;
    let tmp = cfg.out.with_extension("partial");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|error| TrainError::Io {
        path: tmp.clone(),
        error,
    })?;
    let head_file = "head.safetensors";
    head.save(&tmp.join(head_file))?;
    let head_sha = sha256_file(&tmp.join(head_file)).map_err(|error| TrainError::Io {
        path: tmp.join(head_file),
        error,
    })?;
    let base_rel = relative_base(&cfg.base, &cfg.out);
    let count = |s: Split| examples.iter().filter(|(_, sp)| *sp == s).count();
    let manifest = Manifest {
        name: cfg.name.clone(),
        description: format!(
            "Linear tone head (ridge tone + softmax classes) on mean-pooled, L2-normalised {} embeddings",
            cfg.base_name
        ),
        base: BaseEncoder {
            name: cfg.base_name.clone(),
            path: base_rel,
            package: cfg.base_package.clone(),
            sha256: base_sha,
        },
        head: Head {
            kind: HeadKind::Linear,
            file: head_file.into(),
            sha256: head_sha,
            tone: tone_source,
            temperature: (temperature * 100.0).round() / 100.0,
        },
        labels: Label::ALL.iter().map(|l| l.as_str().to_string()).collect(),
        max_length: cfg.max_length,
        training: json!({
            "command": cfg.command,
            "data": cfg.data.iter().map(|p| display_data_path(p)).collect::<Vec<_>>(),
            "validation_files": cfg.val.iter().map(|p| display_data_path(p)).collect::<Vec<_>>(),
            "seed": cfg.seed,
            "val_fraction": cfg.val_fraction,
            "calib_fraction": cfg.calib_fraction,
            "rows": {"train": count(Split::Train), "calibration": count(Split::Calib), "validation": count(Split::Val)},
            "neutral_band": data::NEUTRAL_BAND,
            "ridge_lambda": lambda,
            "softmax_l2": l2,
            "softmax_epochs": cfg.epochs,
            "calibration": {"ridge_pearson": ridge_r, "prob_tone_pearson": prob_r, "macro_f1": cls_f1},
        }),
        validation: json!({ "overall": overall, "by_file": per_group }),
    };
    manifest.write(&tmp).map_err(|error| TrainError::Io {
        path: tmp.join("manifest.json"),
        error,
    })?;
    let _ = std::fs::remove_dir_all(&cfg.out);
    std::fs::rename(&tmp, &cfg.out).map_err(|error| TrainError::Io {
        path: cfg.out.clone(),
        error,
    })?;
    Ok(manifest)
}

fn logits_to_labels(logits: &Tensor) -> Vec<Label> {
    let am = logits.argmax(-1, false);
    Vec::<i64>::try_from(am)
        .unwrap_or_default()
        .into_iter()
        .map(|i| Label::from_index(i as usize))
        .collect()
}

/// Data paths as recorded in manifests: relative to the shared data folder when inside it.
fn display_data_path(p: &Path) -> String {
    let s = p.display().to_string();
    match s.find("shared/data/") {
        Some(i) => format!("../{}", &s[i..]),
        None => s,
    }
}

/// The base folder relative to the model folder's parent (where manifests look for it).
fn relative_base(base: &Path, out: &Path) -> String {
    let parent = out.parent().unwrap_or(Path::new("."));
    let (b, p) = (
        base.canonicalize().unwrap_or_else(|_| base.to_path_buf()),
        parent
            .canonicalize()
            .unwrap_or_else(|_| parent.to_path_buf()),
    );
    match b.strip_prefix(&p) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => b.display().to_string(),
    }
}
