//! `rhetor aggregate`: rhetoric per actor and period from `rhetor score` JSONL.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use rhetor::aggregate::{aggregate, to_csv, By, Period, Weight};
use rhetor::report::Row;

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

/// Reads score rows from files or stdin; bad lines are reported and skipped.
pub fn read_rows(inputs: &[String]) -> (Vec<Row>, usize) {
    let inputs = if inputs.is_empty() {
        vec!["-".to_string()]
    } else {
        inputs.to_vec()
    };
    let mut rows = Vec::new();
    let mut failed = 0;
    for input in &inputs {
        let reader: Box<dyn Read> = if input == "-" {
            Box::new(std::io::stdin())
        } else {
            match std::fs::File::open(input) {
                Ok(f) => Box::new(f),
                Err(e) => {
                    eprintln!("rhetor: error: {input}: {e}");
                    failed += 1;
                    continue;
                }
            }
        };
        for (i, line) in BufReader::new(reader).split(b'\n').enumerate() {
            let at = format!("{input}:{}", i + 1);
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("rhetor: error: {at}: {e}");
                    failed += 1;
                    break;
                }
            };
            match parse_row(&line) {
                Ok(Some(r)) => rows.push(r),
                Ok(None) => {}
                Err(reason) => {
                    eprintln!("rhetor: error: {at}: {reason}");
                    failed += 1;
                }
            }
        }
    }
    (rows, failed)
}

/// One JSONL line as a score row: `None` for a blank line; an error for invalid UTF-8, a line
/// that is not a row, or a tone that is not a finite number in [-1, 1].
fn parse_row(line: &[u8]) -> std::result::Result<Option<Row>, String> {
    let line = std::str::from_utf8(line)
        .map_err(|e| format!("invalid UTF-8 at byte {}; skipped", e.valid_up_to()))?;
    if line.trim().is_empty() {
        return Ok(None);
    }
    let r: Row = serde_json::from_str(line).map_err(|e| format!("not a rhetor score row: {e}"))?;
    let tones = std::iter::once(r.tone).chain(
        r.attribution
            .iter()
            .flat_map(|a| a.targets.iter().map(|t| t.tone)),
    );
    for t in tones {
        if !t.is_finite() || t.abs() > 1.0 {
            return Err(format!("tone {t} is outside [-1, 1]; skipped"));
        }
    }
    Ok(Some(r))
}

pub fn run(args: AggregateArgs) -> Result<i32> {
    let (rows, failed) = read_rows(&args.inputs);
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
