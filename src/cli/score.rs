//! `rhetor score`: scores every sentence of the given articles.

use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use rhetor::explain::Explainer;
use rhetor::ingest::{for_each_input, InputMode, Item};
use rhetor::model::axis::Axes;
use rhetor::model::registry::DEFAULT_TARGET_MODEL;
use rhetor::report::{reporter, Format, Row};
use rhetor::score::{Models, ScoreError, Scorer};

use super::args::ModelFlags;
use super::output::Sink;
use super::{progress, EXIT_OK, EXIT_SOME_FAILED};

/// Score the tone of every sentence of dated news articles.
///
/// Inputs are text articles (first line may begin `date YYYY-MM-DD`), directories of them
/// (recursive, sorted), JSONL files with one article per line (`id`, `date`, `title`, `text`),
/// or `-` for stdin. With `--input lines` every line is one unit, never re-segmented.
///
/// Examples:
///   rhetor score examples/articles/
///   rhetor score --format table examples/articles/2018-06-12-singapore-summit.txt
///   cut -f3 ratings.tsv | rhetor score --input lines - > scores.jsonl
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ScoreArgs {
    /// Article files, directories, JSONL files, or `-` for stdin (the default).
    pub inputs: Vec<String>,
    /// How to read the inputs.
    #[arg(long = "input", value_enum, default_value_t = InputMode::Auto)]
    pub input: InputMode,
    /// Output format [default: table on a terminal, jsonl otherwise].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the output to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Maximum tokens per sentence (longer ones are truncated and flagged) [default: the model's].
    #[arg(long, value_parser = clap::value_parser!(u64).range(8..=512))]
    pub max_length: Option<u64>,
    /// Add to each row the phrases that moved its tone most (occlusion: each word deleted in
    /// turn and the sentence scored again; about 20-30x the time of plain scoring).
    #[arg(long)]
    pub explain: bool,
    /// Phrases per row with `--explain`.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=20))]
    pub explain_top: u64,
    /// A rhetoric axis file (TOML: a name and anchor phrases for each pole; see
    /// data/axes/README.md); adds the sentence's score on the axis to each row. Repeatable.
    #[arg(long = "axis", value_name = "FILE")]
    pub axes: Vec<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub models: ModelFlags,
}

pub fn run(args: ScoreArgs) -> Result<i32> {
    let inputs = inputs_or_stdin(&args.inputs)?;
    if args.input == InputMode::Targets {
        return run_targets(&args, &inputs);
    }
    let loaded = args.models.load(
        args.max_length.map(|m| m as usize),
        args.input != InputMode::Lines,
    )?;
    let explainer = args
        .explain
        .then(|| Explainer::new(args.explain_top as usize));
    let axes = load_axes(&args)?;
    let models = Models {
        explain: explainer.as_ref(),
        axes: axes.as_ref(),
        ..loaded.models()
    };

    let (format, to_terminal) = output_format(&args);
    let mut sink = Sink::open(args.output.as_deref())?;
    let rep = RefCell::new(reporter(format, Box::new(&mut sink)));
    let pb = progress::bar(args.quiet, 0, "scoring");
    let show = |n: usize| pb.set_position(n as u64);
    let mut emit = |row: Row| rep.borrow_mut().row(&row);
    let mut scorer = Scorer::new(models, &show);
    let (mut articles, mut failed) = (0usize, 0usize);
    // Articles are scored as they are read, and rows written chunk by chunk.
    for_each_input(&inputs, args.input, &mut |item| -> Result<(), ScoreError> {
        match item {
            Item::Article(a) => {
                articles += 1;
                let before = scorer.scored();
                scorer.push(a, &mut emit)?;
                pb.set_length(scorer.seen() as u64);
                if scorer.scored() != before {
                    rep.borrow_mut().finish().map_err(ScoreError::Output)?;
                }
            }
            Item::Error(e) => {
                failed += 1;
                pb.suspend(|| eprintln!("rhetor: error: {e}"));
            }
            Item::Note(n) => pb.suspend(|| eprintln!("rhetor: note: {n}")),
        }
        Ok(())
    })?;
    let n = scorer.finish(&mut emit)?;
    pb.finish_and_clear();
    let exit = if failed > 0 {
        EXIT_SOME_FAILED
    } else {
        EXIT_OK
    };
    if articles == 0 {
        eprintln!("rhetor: nothing to score");
        return Ok(exit);
    }
    rep.into_inner().finish().context("cannot write output")?;
    sink.commit()?;
    if !args.quiet {
        summary(
            &args,
            to_terminal,
            (n, articles, failed),
            explainer.as_ref(),
        );
    }
    Ok(exit)
}

/// The `--axes` to score, loaded; `None` without any.
fn load_axes(args: &ScoreArgs) -> Result<Option<Axes>> {
    if args.axes.is_empty() {
        return Ok(None);
    }
    let runtime = &args.models.runtime;
    Ok(Some(Axes::load(
        &args.axes,
        runtime.batch(),
        runtime.device,
    )?))
}

/// The output format (`--format`, else a table on a terminal and JSONL elsewhere) and whether
/// the rows go to the terminal.
fn output_format(args: &ScoreArgs) -> (Format, bool) {
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let default = if to_terminal {
        Format::Table
    } else {
        Format::Jsonl
    };
    (args.format.unwrap_or(default), to_terminal)
}

/// The inputs, or stdin (`-`) when none are named and stdin is not a terminal.
fn inputs_or_stdin(inputs: &[String]) -> Result<Vec<String>> {
    if !inputs.is_empty() {
        return Ok(inputs.to_vec());
    }
    if std::io::stdin().is_terminal() {
        anyhow::bail!("no input given: name article files or directories, or pipe text into `rhetor score -` (see `rhetor score --help`)");
    }
    Ok(vec!["-".to_string()])
}

/// The closing lines on stderr: what was scored (unless the table went to the terminal) and
/// what `--explain` cost. `counts`: (units scored, articles or lines read, inputs failed).
fn summary(
    args: &ScoreArgs,
    to_terminal: bool,
    counts: (usize, usize, usize),
    explainer: Option<&Explainer>,
) {
    let (n, articles, failed) = counts;
    if !to_terminal {
        let what = if args.input == InputMode::Lines {
            "input(s)"
        } else {
            "article(s)"
        };
        let failed = if failed > 0 {
            format!("; {failed} input(s) failed")
        } else {
            String::new()
        };
        eprintln!("rhetor: scored {n} units from {articles} {what}{failed}");
    }
    if let Some(x) = explainer {
        let (sentences, spent) = x.cost();
        eprintln!(
            "rhetor: --explain took {:.1} s for {sentences} sentence(s): {:.0} ms per sentence",
            spent.as_secs_f64(),
            1000.0 * spent.as_secs_f64() / sentences.max(1) as f64
        );
    }
}

/// `--input targets`: one row per valid input line with the tone toward its target.
fn run_targets(args: &ScoreArgs, inputs: &[String]) -> Result<i32> {
    use rhetor::ingest::{parse_targets, read_target_input};
    use rhetor::model::TargetItem;
    let mut items = Vec::new();
    let mut failed = false;
    for input in inputs {
        match read_target_input(input) {
            Ok(text) => {
                let (ok, errs) = parse_targets(input, &text);
                for e in &errs {
                    eprintln!("rhetor: error: {e}");
                }
                failed |= !errs.is_empty();
                items.extend(ok);
            }
            Err(e) => {
                eprintln!("rhetor: error: {e}");
                failed = true;
            }
        }
    }
    if items.is_empty() {
        eprintln!("rhetor: nothing to score");
        return Ok(if failed { EXIT_SOME_FAILED } else { EXIT_OK });
    }
    let flags = &args.models;
    flags.runtime.apply();
    // `--model` if given (a sentence model then scores every target alike, with a note below),
    // else `--target-model`, else the default target model.
    let name = flags
        .model
        .as_deref()
        .or(flags.target_model.as_deref())
        .unwrap_or(DEFAULT_TARGET_MODEL);
    let settings = flags.settings(args.max_length.map(|m| m as usize));
    let model =
        rhetor::model::load(name, settings).with_context(|| format!("cannot load model {name}"))?;
    if !model.is_target_dependent() {
        eprintln!(
            "rhetor: note: {} is not target-dependent; every target gets its sentence's tone",
            model.name()
        );
    }
    let refs: Vec<TargetItem> = items
        .iter()
        .map(|t| TargetItem {
            text: &t.text,
            from: t.from,
            to: t.to,
        })
        .collect();
    let pb = progress::bar(args.quiet, items.len() as u64, "targets");
    let tones = model.score_targets(&refs, &|k| pb.set_position(k as u64))?;
    pb.finish_and_clear();
    let mut out = Sink::open(args.output.as_deref())?;
    let format = args.format.unwrap_or(Format::Jsonl);
    write_target_rows(&mut out, format, &items, &tones, model.name())?;
    out.commit()?;
    Ok(if failed { EXIT_SOME_FAILED } else { EXIT_OK })
}

/// Columns of `--input targets --format csv`.
const TARGET_CSV_HEADER: [&str; 14] = [
    "source",
    "index",
    "id",
    "text",
    "from",
    "to",
    "mention",
    "tone",
    "label",
    "negative",
    "neutral",
    "positive",
    "model",
    "truncated",
];

/// A tone rounded to 4 decimals, as the rows print it.
fn r4(x: f32) -> f64 {
    (x as f64 * 10_000.0).round() / 10_000.0
}

/// Writes `--input targets` rows: JSONL (default), CSV with a header, or a terminal table.
fn write_target_rows(
    out: &mut dyn Write,
    format: Format,
    items: &[rhetor::ingest::TargetInput],
    tones: &[rhetor::Tone],
    model: &str,
) -> Result<()> {
    if format == Format::Csv {
        let mut w = rhetor::report::csv_writer(out);
        w.write_record(TARGET_CSV_HEADER)?;
        for (t, tone) in items.iter().zip(tones) {
            let p = tone.probs;
            w.write_record([
                t.source.clone(),
                t.index.to_string(),
                t.id.clone().unwrap_or_default(),
                t.text.clone(),
                t.from.to_string(),
                t.to.to_string(),
                t.mention(),
                r4(tone.tone).to_string(),
                tone.label.as_str().to_string(),
                r4(p.negative).to_string(),
                r4(p.neutral).to_string(),
                r4(p.positive).to_string(),
                model.to_string(),
                tone.truncated.to_string(),
            ])?;
        }
        w.flush()?;
        return Ok(());
    }
    for (t, tone) in items.iter().zip(tones) {
        let mention = t.mention();
        let p = tone.probs;
        if format == Format::Table {
            let (tone, label) = (tone.tone, tone.label.as_str());
            writeln!(out, "{tone:+.2} {label:<8} {mention:<24} {}", t.text)?;
            continue;
        }
        let row = serde_json::json!({
            "source": t.source, "index": t.index, "id": t.id, "text": t.text,
            "target": {"from": t.from, "to": t.to, "mention": mention},
            "tone": r4(tone.tone), "label": tone.label,
            "probs": {"negative": r4(p.negative), "neutral": r4(p.neutral), "positive": r4(p.positive)},
            "model": model, "truncated": tone.truncated,
        });
        serde_json::to_writer(&mut *out, &row)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
