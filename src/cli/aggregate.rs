//! `rhetor aggregate`: rhetoric per actor and period from `rhetor score` JSONL.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use rhetor::aggregate::{aggregate, to_csv, By, Period, Weight};
use rhetor::row::read_rows;

use super::{EXIT_OK, EXIT_SOME_FAILED};

/// Aggregate scored sentences per actor and period: rhetoric by each actor (as speaker),
/// toward each actor (as target), and per dyad speaker → target.
///
/// Reads the JSONL that `rhetor score` writes (files, or `-` for stdin). Undated sentences are
/// skipped with a note.
///
/// Examples:
///   rhetor score examples/articles/ > scores.jsonl
///   rhetor aggregate scores.jsonl --period month --format csv
///   rhetor aggregate scores.jsonl --by dyad --weight article --format json -o dyads.json
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct AggregateArgs {
    /// JSONL files from `rhetor score` (`-` for stdin, the default).
    pub inputs: Vec<String>,
    #[arg(long, value_enum, default_value_t = Period::Month)]
    pub period: Period,
    /// Which aggregates [default: all three].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub by: Vec<By>,
    /// Count every sentence once, or every article once (its mean).
    #[arg(long, value_enum, default_value_t = Weight::Sentence)]
    pub weight: Weight,
    #[arg(long, value_enum, default_value_t = AggFormat::Csv)]
    pub format: AggFormat,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AggFormat {
    Csv,
    Json,
}

/// Reads score rows, naming every bad input or line on stderr; returns the rows and how many
/// inputs or lines failed.
pub fn read_rows_reported(inputs: &[String]) -> (Vec<rhetor::Row>, usize) {
    let read = read_rows(inputs);
    for e in &read.errors {
        eprintln!("rhetor: error: {e}");
    }
    let failed = read.errors.len();
    (read.rows, failed)
}

pub fn run(args: AggregateArgs) -> Result<i32> {
    let (rows, failed) = read_rows_reported(&args.inputs);
    let which = if args.by.is_empty() {
        vec![By::Speaker, By::Target, By::Dyad]
    } else {
        args.by.clone()
    };
    let (stats, skipped) = aggregate(rows, args.period, args.weight, &which);
    let text = match args.format {
        AggFormat::Csv => to_csv(&stats),
        AggFormat::Json => serde_json::to_string_pretty(&stats)? + "\n",
    };
    let mut sink = super::output::Sink::open(args.output.as_deref())?;
    std::io::Write::write_all(&mut sink, text.as_bytes()).context("cannot write output")?;
    sink.commit()?;
    if skipped > 0 {
        eprintln!(
            "rhetor: skipped {skipped} sentence(s) without a date (undated articles, or lines)"
        );
    }
    Ok(if failed > 0 {
        EXIT_SOME_FAILED
    } else {
        EXIT_OK
    })
}
