//! `rhetor chart`: per-actor timelines in the terminal, as SVG and as an HTML report.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use rhetor::aggregate::{By, Period};
use rhetor::chart::{Chart, Measure, Metric};
use rhetor::ingest::{read_inputs, InputMode};
use rhetor::score::score_articles;

use super::args::ModelFlags;
use super::{EXIT_OK, EXIT_SOME_FAILED};

/// Chart rhetoric per actor over time: a terminal chart (80 columns), and optionally an SVG
/// with confidence bands and a self-contained HTML report with a dyad table and the evidence
/// sentences behind every point.
///
/// Reads `rhetor score` JSONL, or scores articles directly with `--articles`.
///
/// Examples:
///   rhetor chart --articles examples/corpus/ --period quarter --svg rhetoric.svg --html rhetoric.html
///   rhetor score examples/corpus/ > s.jsonl && rhetor chart s.jsonl --by target --actor united-states
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ChartArgs {
    /// JSONL files from `rhetor score` (`-` for stdin).
    pub inputs: Vec<String>,
    /// Score these articles (files, directories, JSONL) instead of reading JSONL.
    #[arg(long, num_args = 1..)]
    pub articles: Vec<String>,
    #[arg(long, value_enum, default_value_t = Period::Month)]
    pub period: Period,
    /// Chart rhetoric by actors (speaker) or toward them (target).
    #[arg(long, value_enum, default_value_t = By::Speaker)]
    pub by: By,
    /// What to plot: mean tone, or the share of a quad class (cooperation, conflict, or one of
    /// the four CAMEO quad classes); quad shares need rows from a model with a quad head.
    #[arg(long, value_enum, default_value_t = Metric::Tone)]
    pub metric: Metric,
    /// Plot the mean of this axis (rows scored with `rhetor score --axis FILE`) instead of a
    /// metric, with its 95% confidence band.
    #[arg(long, value_name = "NAME", conflicts_with = "metric")]
    pub axis: Option<String>,
    /// How many actors (the most frequent), at most 8.
    #[arg(long, default_value_t = 4)]
    pub top: usize,
    /// Chart these actor ids instead of the most frequent.
    #[arg(long)]
    pub actor: Vec<String>,
    /// Write an SVG chart.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// Write a self-contained HTML report.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Terminal chart width in columns.
    #[arg(long, default_value_t = 80)]
    pub width: usize,
    /// Models for `--articles`.
    #[command(flatten)]
    pub models: ModelFlags,
}

pub fn run(args: ChartArgs) -> Result<i32> {
    let failed;
    let rows = if !args.articles.is_empty() {
        let ingested = read_inputs(&args.articles, InputMode::Auto);
        for n in &ingested.notes {
            eprintln!("rhetor: note: {n}");
        }
        for e in &ingested.errors {
            eprintln!("rhetor: error: {e}");
        }
        failed = !ingested.errors.is_empty();
        let loaded = args.models.load(None, true)?;
        let mut rows = Vec::new();
        score_articles(&ingested.articles, loaded.models(), &|_| {}, &mut |r| {
            rows.push(r);
            Ok(())
        })?;
        rows
    } else {
        let (rows, bad) = super::aggregate::read_rows_reported(&args.inputs);
        failed = bad > 0;
        rows
    };
    let measure = match &args.axis {
        Some(name) => {
            if !rows.iter().any(|r| r.axes.contains_key(name)) {
                anyhow::bail!(
                    "no row has an axis named `{name}`: score the articles with `rhetor score --axis FILE` (the file's `name` is the axis name)"
                );
            }
            Measure::Axis(name.clone())
        }
        None => Measure::Metric(args.metric),
    };
    let chart = Chart::build(&rows, args.period, args.by, measure, args.top, &args.actor);
    for (id, near) in &chart.unknown {
        let hint = if near.is_empty() {
            "`rhetor aggregate` lists the actor ids present".to_string()
        } else {
            format!("did you mean {}?", near.join(", "))
        };
        let side = if args.by == By::Speaker {
            "as speaker"
        } else {
            "as target"
        };
        eprintln!("rhetor: warning: no sentence names actor `{id}` {side}: {hint}");
    }
    out!("{}", chart.terminal(args.width))?;
    if let Some(p) = &args.svg {
        super::output::write_file(p, chart.svg().as_bytes())?;
        eprintln!("rhetor: wrote {}", p.display());
    }
    if let Some(p) = &args.html {
        super::output::write_file(p, chart.html("rhetor: rhetoric over time").as_bytes())?;
        eprintln!("rhetor: wrote {}", p.display());
    }
    Ok(if failed { EXIT_SOME_FAILED } else { EXIT_OK })
}
