//! `rhetor bench`: compares tone models side by side on labeled suites.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use rhetor::bench::suite::{read_manifest, Suite};
use rhetor::bench::{peak_rss_mib, run_suite, Machine, ModelInfo, Report};
use rhetor::data::NEUTRAL_BAND;
use rhetor::model::transformer::{Precision, Settings};

use super::args::RuntimeFlags;
use super::{progress, EXIT_OK, EXIT_SOME_FAILED};

/// Compare tone models on labeled suites: agreement, calibration, speed and memory.
///
/// `--suite` takes a suite name from the manifest (default benches/suites.toml) or a path to
/// a labeled file (format guessed). Without `--suite`, every suite of the manifest is run;
/// suites whose files are missing are skipped with a note.
///
/// Examples:
///   rhetor bench --model rhetor-tone-minilm --model vader --suite world-rhetoric
///   rhetor bench --model vader --model rhetor-tone-minilm --report-md bench.md --report-json bench.json
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct BenchArgs {
    /// Models to compare (names, paths, or `vader`).
    #[arg(long, required = true)]
    pub model: Vec<String>,
    /// Suites: names from the manifest or file paths [default: all suites in the manifest].
    #[arg(long)]
    pub suite: Vec<String>,
    /// Suite manifest (TOML).
    #[arg(long)]
    pub suites: Option<PathBuf>,
    /// Write the full report as JSON.
    #[arg(long)]
    pub report_json: Option<PathBuf>,
    /// Write the report as Markdown.
    #[arg(long)]
    pub report_md: Option<PathBuf>,
    /// Run transformer models at each of these precisions, side by side (`NAME+int8` rows).
    /// [default: each model's own, from its manifest]
    #[arg(long, value_enum, value_delimiter = ',')]
    pub precision: Vec<Precision>,
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub runtime: RuntimeFlags,
}

fn write(path: &Path, text: &str) -> Result<()> {
    super::output::write_file(path, text.as_bytes())
}

/// The suites `--suite` names (manifest names or files; all of the manifest's by default),
/// less those whose file is missing, which are returned as notes.
fn select_suites(args: &BenchArgs) -> Result<(Vec<Suite>, Vec<String>)> {
    let manifest = args
        .suites
        .clone()
        .unwrap_or_else(|| rhetor::home::find("benches/suites.toml"));
    let known = read_manifest(&manifest)
        .with_context(|| format!("suite manifest {}", manifest.display()))?;
    let mut suites = Vec::new();
    if args.suite.is_empty() {
        suites = known.clone();
    } else {
        for s in &args.suite {
            if let Some(k) = known.iter().find(|k| k.name == *s) {
                suites.push(k.clone());
            } else if Path::new(s).is_file() {
                suites.push(Suite::from_path(Path::new(s)));
            } else {
                let names: Vec<&str> = known.iter().map(|k| k.name.as_str()).collect();
                anyhow::bail!(
                    "unknown suite {s:?}: not a file, and the manifest has {}",
                    names.join(", ")
                );
            }
        }
    }
    let mut skipped = Vec::new();
    suites.retain(|s| {
        let ok = s.path.is_file();
        if !ok {
            skipped.push(format!("{} ({} is missing)", s.name, s.path.display()));
        }
        ok
    });
    Ok((suites, skipped))
}

pub fn run(args: BenchArgs) -> Result<i32> {
    args.runtime.apply();
    let (suites, skipped) = select_suites(&args)?;
    let mut models = Vec::new();
    let mut outcomes = Vec::new();
    let mut failed = Vec::new();
    let runs = args.model.iter().flat_map(|name| {
        // A lexicon has no precision: run it once.
        let precisions: Vec<Option<Precision>> = if name == "vader" || args.precision.is_empty() {
            vec![None]
        } else {
            args.precision.iter().copied().map(Some).collect()
        };
        precisions.into_iter().map(move |p| (name, p))
    });
    for (name, precision) in runs {
        let t = Instant::now();
        let settings = Settings {
            batch_size: args.runtime.batch(),
            max_length: None,
            precision,
            device: args.runtime.device,
        };
        let model = rhetor::model::load(name, settings)
            .with_context(|| format!("cannot load model {name}"))?;
        models.push(ModelInfo {
            name: model.name().to_string(),
            load_seconds: t.elapsed().as_secs_f64(),
        });
        for s in &suites {
            let pb = progress::bar(args.quiet, 0, &s.name);
            pb.set_message(model.name().to_string());
            let outcome = run_suite(model.as_ref(), s, &|n| pb.set_position(n as u64));
            pb.finish_and_clear();
            match outcome {
                Ok(o) => outcomes.push(o),
                // One bad suite does not lose the others' results: it is named and skipped.
                Err(e) => {
                    eprintln!("rhetor: error: suite {} with model {name}: {e}", s.name);
                    failed.push(format!("{} with {name} ({e})", s.name));
                }
            }
        }
    }
    outcomes.sort_by(|a, b| a.suite.cmp(&b.suite).then(a.model.cmp(&b.model)));
    let report = Report {
        machine: Machine::detect(),
        models,
        outcomes,
        skipped: skipped.into_iter().chain(failed.iter().cloned()).collect(),
        peak_rss_mib: peak_rss_mib(),
        neutral_band: NEUTRAL_BAND,
    };
    out!("{}", report.table(false))?;
    eprint!("{}", report.footer());
    if let Some(p) = &args.report_json {
        write(p, &(serde_json::to_string_pretty(&report)? + "\n"))?;
    }
    if let Some(p) = &args.report_md {
        write(p, &report.markdown())?;
    }
    Ok(if failed.is_empty() {
        EXIT_OK
    } else {
        EXIT_SOME_FAILED
    })
}
