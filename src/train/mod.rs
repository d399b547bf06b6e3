//! Train: fits tone heads on labeled data and writes model folders that [`crate::model`] loads.
//!
//! The linear head: frozen base encoder → pooled, normalised sentence embedding → standardised
//! features → ridge regression for tone and class-weighted softmax regression for the three
//! classes. Hyper-parameters (ridge λ, softmax L2) and the softmax temperature are chosen on a
//! calibration split carved from the training files; the metrics reported are on validation
//! data that neither training nor those choices saw.

pub mod finetune;
mod finish;
pub mod mlp;
pub mod target;

use std::path::{Path, PathBuf};

use serde_json::json;
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

use crate::data::{held_out, Columns, Example, Format, NEUTRAL_BAND};
use crate::error::{ModelError, TrainError};
use crate::metrics;
use crate::model::manifest::{sha256_file, FileRef, HeadKind, Manifest};
use crate::model::transformer::SentenceEncoder;
use crate::model::Label;

/// Where training runs. Its label, weight and loss tensors are built on the CPU, so the
/// encoder and heads it trains are placed there too (inference takes any [`Device`]).
pub(crate) const DEVICE: Device = Device::Cpu;

/// What to train on and where to write.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Training files; a fixed fraction of each is held out for validation.
    pub data: Vec<PathBuf>,
    /// Files used only for validation (e.g. NewsMTSC dev).
    pub val: Vec<PathBuf>,
    /// How the data files are read (`Auto` guesses from each file).
    pub format: Format,
    /// Text and label columns and the rating scale of csv/tsv/jsonl files.
    pub columns: Columns,
    /// Fraction of each training file held out for validation (by a seeded hash of each row).
    pub val_fraction: f64,
    /// Fraction of the remaining training rows held out to choose hyper-parameters, the
    /// softmax temperature and the neutral band.
    pub calib_fraction: f64,
    /// Seed of the splits, weight initialisation and batch order; a run is deterministic
    /// given it.
    pub seed: u64,
    /// Base encoder folder (installed by setup).
    pub base: PathBuf,
    /// The base encoder's name as the manifest records it (e.g. `all-MiniLM-L6-v2`).
    pub base_name: String,
    /// Where the base encoder comes from, as the manifest records it.
    pub base_package: String,
    /// Model folder to write; in an existing folder only the model files are replaced.
    pub out: PathBuf,
    /// Model name in the manifest.
    pub name: String,
    /// Maximum tokens per sentence; longer sentences are truncated.
    pub max_length: usize,
    /// Sentences per forward pass when embedding with the frozen encoder (linear and MLP
    /// heads).
    pub batch_size: usize,
    /// Full-batch optimisation steps of the linear head's softmax classifier.
    pub epochs: usize,
    /// Tone target given to examples that only have a class (e.g. NewsMTSC) in the tone
    /// regression: negative → -x, neutral → 0, positive → +x. 0 leaves them out.
    pub class_tone: f32,
    /// The command line, recorded in the manifest.
    pub command: String,
}

/// A fresh, uniquely named folder beside `out` in which a model is written before
/// [`install_model`] moves it into place (removed if training fails).
pub(crate) fn staging_dir(out: &Path) -> Result<tempfile::TempDir, TrainError> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|error| TrainError::Io {
        path: parent.clone(),
        error,
    })?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".partial")
        .tempdir_in(&parent)
        .map_err(|error| TrainError::Io {
            path: parent,
            error,
        })
}

/// A model folder being written: files go into a staging folder beside `out`, and
/// [`ModelFolder::install`] moves them into place, so a failed run leaves no half model.
pub(crate) struct ModelFolder {
    staging: tempfile::TempDir,
    out: PathBuf,
}

impl ModelFolder {
    /// A new staging folder for the model at `out`.
    pub(crate) fn new(out: &Path) -> Result<ModelFolder, TrainError> {
        Ok(ModelFolder {
            staging: staging_dir(out)?,
            out: out.to_path_buf(),
        })
    }

    /// Writes `tensors` as the safetensors file `file`; returns its name and sha256.
    pub(crate) fn weights(
        &self,
        file: &str,
        tensors: &[(String, Tensor)],
    ) -> Result<FileRef, TrainError> {
        let path = self.staging.path().join(file);
        Tensor::write_safetensors(tensors, &path).map_err(|e| TrainError::Model(e.into()))?;
        let sha256 = sha256_file(&path).map_err(|error| TrainError::Io {
            path: path.clone(),
            error,
        })?;
        Ok(FileRef {
            file: file.into(),
            sha256,
        })
    }

    /// Writes the manifest and moves the folder into place.
    pub(crate) fn install(self, manifest: &Manifest) -> Result<(), TrainError> {
        let dir = self.staging.path().to_path_buf();
        manifest
            .write(&dir)
            .map_err(|error| TrainError::Io { path: dir, error })?;
        install_model(self.staging, &self.out)
    }
}

/// The files a model folder is made of; `--force` replaces only these in an existing folder.
pub const MODEL_FILES: [&str; 3] = ["manifest.json", "head.safetensors", "overlay.safetensors"];

/// Moves a written model into `out`: renames the staging folder when `out` does not exist;
/// otherwise replaces the model's own files one by one (each rename atomic; the manifest last,
/// so a reader never sees a manifest whose weights are missing) and leaves other files alone.
pub(crate) fn install_model(staging: tempfile::TempDir, out: &Path) -> Result<(), TrainError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| TrainError::Io { path, error }
    };
    if !out.exists() {
        let tmp = staging.keep();
        return std::fs::rename(&tmp, out).map_err(io(out));
    }
    for name in MODEL_FILES.iter().rev() {
        let (from, to) = (staging.path().join(name), out.join(name));
        if from.exists() {
            std::fs::rename(&from, &to).map_err(io(&to))?;
        } else if to.exists() {
            std::fs::remove_file(&to).map_err(io(&to))?;
        }
    }
    Ok(())
}

/// Progress reporting for long stages: `(stage, done, total)`.
pub type TrainProgress<'a> = &'a dyn Fn(&str, usize, usize);

/// The split an example belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Fits the weights.
    Train,
    /// Held out to choose hyper-parameters, the softmax temperature and the neutral band.
    Calib,
    /// Held out for the validation metrics only.
    Val,
}

/// Loads every file and assigns each example to train, calibration or validation. A file
/// named k times contributes its training rows k times (its held-out rows once).
pub fn load_splits(cfg: &TrainConfig) -> Result<Vec<(Example, Split)>, TrainError> {
    let mut out = Vec::new();
    for (i, path) in cfg.data.iter().enumerate() {
        if cfg.data[..i].contains(path) {
            continue;
        }
        let times = cfg.data.iter().filter(|p| *p == path).count();
        for ex in crate::data::load(path, cfg.format, &cfg.columns)? {
            let split = if held_out(&ex, cfg.seed, cfg.val_fraction) {
                Split::Val
            } else if held_out(&ex, cfg.seed.wrapping_add(1), cfg.calib_fraction) {
                Split::Calib
            } else {
                Split::Train
            };
            let copies = if split == Split::Train { times } else { 1 };
            out.extend(std::iter::repeat_n((ex, split), copies));
        }
    }
    for path in &cfg.val {
        for ex in crate::data::load(path, cfg.format, &cfg.columns)? {
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
    let dir = crate::home::cache_dir().join("embeddings");
    let file = dir.join(format!("{key}.pt"));
    if let Ok(t) = Tensor::load(&file) {
        if t.size() == [texts.len() as i64, enc.dim()] {
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

pub(crate) fn rows(t: &Tensor, idx: &[usize]) -> Tensor {
    let i = Tensor::from_slice(&idx.iter().map(|&i| i as i64).collect::<Vec<_>>());
    t.index_select(0, &i)
}

pub(crate) fn to_vec_f32(t: &Tensor) -> Result<Vec<f32>, TrainError> {
    let flat = t.to_kind(Kind::Float).contiguous().view(-1);
    Ok(Vec::<f32>::try_from(flat).map_err(ModelError::from)?)
}

/// The index of each row's largest logit.
pub(crate) fn argmax_rows(logits: &Tensor) -> Result<Vec<i64>, TrainError> {
    Ok(Vec::<i64>::try_from(logits.argmax(-1, false)).map_err(ModelError::from)?)
}

/// Balanced class weights `n / (3 · count)` (0 for a class that does not occur).
pub(crate) fn class_weights(labels: impl IntoIterator<Item = Label>) -> Tensor {
    let mut counts = [0f64; 3];
    let mut n = 0f64;
    for l in labels {
        counts[l.index()] += 1.0;
        n += 1.0;
    }
    let w: Vec<f32> = counts
        .iter()
        .map(|&c| if c > 0.0 { (n / (3.0 * c)) as f32 } else { 0.0 })
        .collect();
    Tensor::from_slice(&w)
}

/// The tone regression target of an example: its rating, or for class-only rows
/// ±`class_tone` (0 for neutral); `None` when it has no rating and `class_tone` is 0.
pub(crate) fn tone_target(ex: &Example, class_tone: f32) -> Option<f32> {
    ex.tone.or(match (class_tone > 0.0, ex.label) {
        (false, _) => None,
        (true, Label::Negative) => Some(-class_tone),
        (true, Label::Neutral) => Some(0.0),
        (true, Label::Positive) => Some(class_tone),
    })
}

/// Class-weighted mean cross-entropy of `logits` `[n, 3]` against `labels`.
pub(crate) fn class_loss(logits: &Tensor, labels: &[Label], weights: Option<&Tensor>) -> Tensor {
    let target: Vec<i64> = labels.iter().map(|l| l.index() as i64).collect();
    index_loss(logits, &target, weights)
}

/// Mean cross-entropy of `logits` `[n, k]` against class indices; rows with index −1 are left
/// out (the loss is 0 when every row is).
pub(crate) fn index_loss(logits: &Tensor, target: &[i64], weights: Option<&Tensor>) -> Tensor {
    if target.iter().all(|&t| t < 0) {
        return logits.sum(Kind::Float) * 0.0;
    }
    let target = Tensor::from_slice(target);
    logits
        .log_softmax(-1, Kind::Float)
        .g_nll_loss(&target, weights, tch::Reduction::Mean, -1)
}

/// Mean squared error of `pred` `[n]` over the rows that have a target.
pub(crate) fn masked_mse(pred: &Tensor, targets: &[Option<f32>]) -> Tensor {
    let (y, m): (Vec<f32>, Vec<f32>) = targets
        .iter()
        .map(|t| t.map_or((0.0, 0.0), |t| (t, 1.0)))
        .unzip();
    let (y, m) = (Tensor::from_slice(&y), Tensor::from_slice(&m));
    ((pred - &y).square() * &m).sum(Kind::Float) / m.sum(Kind::Float).clamp_min(1.0)
}

/// sha256 of the base encoder's weights (recorded in manifests).
pub(crate) fn base_sha256(base: &Path) -> Result<String, TrainError> {
    let weights = base.join("model.safetensors");
    sha256_file(&weights).map_err(|error| TrainError::Io {
        path: weights.clone(),
        error,
    })
}

/// Learning rate at `step` of `total`: linear warm-up over `warmup` steps, then linear decay.
pub(crate) fn lr_at(step: usize, total: usize, warmup: f64, peak: f64) -> f64 {
    if (step as f64) < warmup {
        peak * (step as f64 + 1.0) / warmup
    } else {
        peak * ((total - step) as f64 / (total as f64 - warmup).max(1.0)).max(0.0)
    }
}

/// Ridge regression on standardised features: returns `(w [d], b)`.
fn ridge(x: &Tensor, y: &[f32], lambda: f64) -> (Tensor, f64) {
    let x = x.to_kind(Kind::Double);
    let ybar = y.iter().map(|&v| v as f64).sum::<f64>() / y.len().max(1) as f64;
    let yc = Tensor::from_slice(&y.iter().map(|&v| v as f64 - ybar).collect::<Vec<_>>());
    let d = x.size()[1];
    let a = x.transpose(0, 1).matmul(&x) + Tensor::eye(d, (Kind::Double, DEVICE)) * lambda;
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
    let vs = nn::VarStore::new(DEVICE);
    let w = vs.root().zeros("w", &[3, d]);
    let b = vs.root().zeros("b", &[3]);
    let weights = class_weights(y.iter().copied());
    let mut opt = match nn::Adam::default().build(&vs, 0.05) {
        Ok(o) => o,
        Err(_) => return (w.detach(), b.detach()),
    };
    for _ in 0..epochs {
        let logits = x.matmul(&w.transpose(0, 1)) + &b;
        let loss =
            class_loss(&logits, y, Some(&weights)) + w.pow_tensor_scalar(2).sum(Kind::Float) * l2;
        opt.backward_step(&loss);
    }
    (w.detach(), b.detach())
}

/// The neutral band (0.02..0.60) whose tone classes give the best macro-F1 against `truth`.
pub fn fit_band(tones: &[f32], truth: &[Label]) -> f32 {
    let mut best = (f64::NEG_INFINITY, NEUTRAL_BAND);
    for k in 2..=60 {
        let band = k as f32 / 100.0;
        let pred: Vec<Label> = tones.iter().map(|&t| Label::from_tone(t, band)).collect();
        let f1 = metrics::macro_f1(truth, &pred);
        if f1 > best.0 {
            best = (f1, band);
        }
    }
    best.1
}

/// Fits a softmax temperature by grid search on NLL.
pub fn fit_temperature(logits: &Tensor, y: &[Label]) -> f64 {
    let target: Vec<i64> = y.iter().map(|l| l.index() as i64).collect();
    fit_temperature_index(logits, &target)
}

/// Fits a softmax temperature for class indices (−1 rows left out) by grid search on NLL.
pub fn fit_temperature_index(logits: &Tensor, target: &[i64]) -> f64 {
    if target.iter().all(|&t| t < 0) {
        return 1.0;
    }
    let mut best = (f64::INFINITY, 1.0);
    for k in 0..=90 {
        let t = 0.25 + k as f64 * 0.05;
        let v = index_loss(&(logits / t), target, None).double_value(&[]);
        if v < best.0 {
            best = (v, t);
        }
    }
    best.1
}

/// Metrics of predictions on a set of examples; predicted classes are the tones' classes by
/// the neutral `band` (as the model labels them).
pub fn evaluate(
    examples: &[&Example],
    tones: &[f32],
    probs: &[[f32; 3]],
    band: f32,
) -> serde_json::Value {
    let truth: Vec<Label> = examples.iter().map(|e| e.label).collect();
    let pred: Vec<Label> = tones.iter().map(|&t| Label::from_tone(t, band)).collect();
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for (e, &t) in examples.iter().zip(tones) {
        if let Some(g) = e.tone {
            xs.push(t as f64);
            ys.push(g as f64);
        }
    }
    let r4 = |x: f64| (x * 10_000.0).round() / 10_000.0;
    let mut m = class_metrics(&truth, &pred, probs);
    m["pearson"] = json!(metrics::pearson(&xs, &ys).map(r4));
    m["spearman"] = json!(metrics::spearman(&xs, &ys).map(r4));
    m
}

/// The class metrics every validation reports, 4 decimals: rows, macro-F1, accuracy, ECE
/// (10 bins) and the confusion matrix (gold rows, predicted columns).
pub(crate) fn class_metrics(
    truth: &[Label],
    pred: &[Label],
    probs: &[[f32; 3]],
) -> serde_json::Value {
    let r4 = |x: f64| (x * 1e4).round() / 1e4;
    json!({
        "rows": truth.len(),
        "macro_f1": r4(metrics::macro_f1(truth, pred)),
        "accuracy": r4(metrics::accuracy(truth, pred)),
        "ece": r4(metrics::ece(probs, truth, 10)),
        "confusion": metrics::confusion(truth, pred),
    })
}

/// The indices of the examples in `split`, in order.
pub(crate) fn indices(examples: &[(Example, Split)], split: Split) -> Vec<usize> {
    (0..examples.len())
        .filter(|&i| examples[i].1 == split)
        .collect()
}

/// Mean and standard deviation (at least 1e-6) of each feature over the rows of `x`, as
/// `[1, dim]` tensors.
pub(crate) fn moments(x: &Tensor) -> (Tensor, Tensor) {
    let mean = x.mean_dim([0i64].as_slice(), true, Kind::Float);
    let std = x.std_dim([0i64].as_slice(), true, true).clamp_min(1e-6);
    (mean, std)
}

/// The ridge regression of the tone, λ chosen by Pearson r on the calibration rows:
/// (r, λ, weights, bias).
fn fit_ridge(
    (x, y): (&Tensor, &[f32]),
    (x_ca, y_ca): (&Tensor, &[f32]),
    progress: TrainProgress<'_>,
) -> Result<(f64, f64, Tensor, f64), TrainError> {
    let y_ca: Vec<f64> = y_ca.iter().map(|&v| v as f64).collect();
    let mut best = (
        f64::NEG_INFINITY,
        0.0,
        Tensor::zeros([1], (Kind::Float, DEVICE)),
        0.0,
    );
    for (step, lambda) in [1.0, 10.0, 100.0, 1000.0, 10000.0].into_iter().enumerate() {
        progress("ridge", step + 1, 5);
        let (w, b) = ridge(x, y, lambda);
        let pred: Vec<f64> = to_vec_f32(&(x_ca.matmul(&w) + b))?
            .iter()
            .map(|&v| v as f64)
            .collect();
        let r = metrics::pearson(&pred, &y_ca).unwrap_or(f64::NEG_INFINITY);
        if r > best.0 {
            best = (r, lambda, w, b);
        }
    }
    Ok(best)
}

/// The 3-class softmax regression, L2 chosen by macro-F1 on the calibration rows:
/// (F1, L2, weights, bias).
fn fit_softmax(
    (x, y): (&Tensor, &[Label]),
    (x_ca, y_ca): (&Tensor, &[Label]),
    cfg: &TrainConfig,
    progress: TrainProgress<'_>,
) -> Result<(f64, f64, Tensor, Tensor), TrainError> {
    let mut best = (f64::NEG_INFINITY, 0.0, None);
    for (step, l2) in [1e-5, 1e-4, 1e-3].into_iter().enumerate() {
        progress("softmax", step + 1, 3);
        let (w, b) = softmax_regression(x, y, l2, cfg.epochs, cfg.seed);
        let logits = x_ca.matmul(&w.transpose(0, 1)) + &b;
        let f1 = metrics::macro_f1(y_ca, &logits_to_labels(&logits)?);
        if f1 > best.0 {
            best = (f1, l2, Some((w, b)));
        }
    }
    let (f1, l2, wb) = best;
    let (w, b) = wb.ok_or_else(|| TrainError::Invalid("softmax training failed".into()))?;
    Ok((f1, l2, w, b))
}

/// The linear head's tensors with the standardisation folded in:
/// w·(x−μ)/σ + b = (w/σ)·x + (b − (w/σ)·μ).
fn fold_linear(
    (mean, std): (&Tensor, &Tensor),
    (w_tone, b_tone): (&Tensor, f64),
    (w_cls, b_cls): (&Tensor, &Tensor),
) -> (Vec<(String, Tensor)>, f64) {
    let (mean_v, std_v) = (mean.squeeze_dim(0), std.squeeze_dim(0));
    let w_tone_raw = w_tone / &std_v;
    let b_tone_raw = b_tone - (&w_tone_raw * &mean_v).sum(Kind::Float).double_value(&[]);
    let w_cls_raw = w_cls / std_v.unsqueeze(0);
    let b_cls_raw =
        b_cls - (&w_cls_raw * mean_v.unsqueeze(0)).sum_dim_intlist(1, false, Kind::Float);
    let dim = mean_v.size()[0];
    let head = vec![
        ("tone.weight".to_string(), w_tone_raw.view([1, dim])),
        (
            "tone.bias".to_string(),
            Tensor::from_slice(&[b_tone_raw as f32]),
        ),
        ("class.weight".to_string(), w_cls_raw),
        ("class.bias".to_string(), b_cls_raw),
    ];
    (head, b_tone_raw)
}

/// Trains the linear head and writes the model folder. Returns the manifest written.
pub fn train_linear(
    cfg: &TrainConfig,
    progress: TrainProgress<'_>,
) -> Result<Manifest, TrainError> {
    tch::manual_seed(cfg.seed as i64);
    let examples = load_splits(cfg)?;
    let base_sha = base_sha256(&cfg.base)?;
    let enc = SentenceEncoder::load(&cfg.base, DEVICE)?;
    let texts: Vec<&str> = examples.iter().map(|(e, _)| e.text.as_str()).collect();
    let feats = embed_cached(
        &enc,
        &base_sha,
        &texts,
        cfg.max_length,
        cfg.batch_size,
        progress,
    )?;
    let [tr, ca, va] = [Split::Train, Split::Calib, Split::Val].map(|s| indices(&examples, s));
    let xtr = rows(&feats, &tr);
    let (mean, std) = moments(&xtr);
    let standardise = |x: &Tensor| (x - &mean) / &std;
    let (xs_tr, xs_ca) = (standardise(&xtr), standardise(&rows(&feats, &ca)));
    // Tone regression on rows with an intensity rating, plus class-only rows at ±class_tone.
    let (tr_k, tr_y): (Vec<usize>, Vec<f32>) = tr
        .iter()
        .enumerate()
        .filter_map(|(k, &i)| tone_target(&examples[i].0, cfg.class_tone).map(|t| (k, t)))
        .unzip();
    let (ca_k, ca_y): (Vec<usize>, Vec<f32>) = ca
        .iter()
        .enumerate()
        .filter_map(|(k, &i)| examples[i].0.tone.map(|t| (k, t)))
        .unzip();
    if tr_k.is_empty() {
        return Err(TrainError::Invalid(
            "no training example has a numeric rating; the tone regression needs some".into(),
        ));
    }
    let (x_reg, x_reg_ca) = (rows(&xs_tr, &tr_k), rows(&xs_ca, &ca_k));
    let (ridge_r, lambda, w_tone, b_tone) =
        fit_ridge((&x_reg, &tr_y), (&x_reg_ca, &ca_y), progress)?;
    let labels = |ix: &[usize]| -> Vec<Label> { ix.iter().map(|&i| examples[i].0.label).collect() };
    let (tr_lab, ca_lab) = (labels(&tr), labels(&ca));
    let (cls_f1, l2, w_cls, b_cls) =
        fit_softmax((&xs_tr, &tr_lab), (&xs_ca, &ca_lab), cfg, progress)?;
    let (head, b_tone_raw) = fold_linear((&mean, &std), (&w_tone, b_tone), (&w_cls, &b_cls));
    let predict = |ix: &[usize]| -> Result<Predictions, TrainError> {
        let x = rows(&feats, ix);
        let tone = x.matmul(&head[0].1.transpose(0, 1)).squeeze_dim(-1) + b_tone_raw;
        let logits = x.matmul(&head[2].1.transpose(0, 1)) + &head[3].1;
        Ok(Predictions {
            tone: to_vec_f32(&tone)?,
            logits,
            quad: None,
        })
    };
    let (pred_ca, pred_va) = (predict(&ca)?, predict(&va)?);
    let output = finish::Output {
        kind: HeadKind::Linear,
        normalize: true,
        head,
        overlay: None,
        description: format!(
            "Linear tone head (ridge tone + softmax classes) on frozen, mean-pooled, L2-normalised {} embeddings",
            cfg.base_name
        ),
        layers: Vec::new(),
        hidden: None,
        training: json!({
            "ridge_lambda": lambda,
            "softmax_l2": l2,
            "softmax_epochs": cfg.epochs,
            "calibration_split": {"ridge_pearson": ridge_r, "macro_f1": cls_f1},
        }),
    };
    finish::finish(cfg, &examples, &ca, &va, pred_ca, pred_va, output, base_sha)
}

/// Raw head outputs on a set of examples.
pub struct Predictions {
    /// Tone regression output (unclipped).
    pub tone: Vec<f32>,
    /// Class logits `[n, 3]`.
    pub logits: Tensor,
    /// Quad logits `[n, 5]`, for heads with a quad classifier.
    pub quad: Option<Tensor>,
}

fn logits_to_labels(logits: &Tensor) -> Result<Vec<Label>, TrainError> {
    Ok(argmax_rows(logits)?
        .into_iter()
        .map(|i| Label::from_index(i as usize))
        .collect())
}

/// Data paths as recorded in manifests: relative to the shared data folder when inside it.
pub(crate) fn display_data_path(p: &Path) -> String {
    let s = p.display().to_string();
    match s.find("shared/data/") {
        Some(i) => format!("../{}", &s[i..]),
        None => s,
    }
}

/// The base folder relative to the model folder's parent (where manifests look for it).
pub(crate) fn relative_base(base: &Path, out: &Path) -> String {
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
