//! Command-line interface: clap flags (their doc comments are the help text), validated once
//! and turned into library calls. Errors carry context naming the file, flag or model.

/// `println!` that returns the write error (a closed pipe, a full disk) instead of panicking;
/// `main` treats a closed pipe as success and any other write error as exit 2.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// `print!` that returns the write error instead of panicking (see [`outln!`]).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)
    }};
}

mod aggregate;
mod bench;
mod chart;
mod models;
mod output;
mod progress;
mod score;
mod train;

use anyhow::Result;

use clap::{Parser, Subcommand};

/// Exit code when everything worked.
pub const EXIT_OK: i32 = 0;
/// Exit code when some inputs failed (the others were still scored and written).
pub const EXIT_SOME_FAILED: i32 = 1;

/// Sentence-level tone of dated news articles, scored by a local transformer.
#[derive(Parser, Debug)]
#[command(name = "rhetor", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Score(score::ScoreArgs),
    Bench(bench::BenchArgs),
    Aggregate(aggregate::AggregateArgs),
    Chart(chart::ChartArgs),
    Train(train::TrainArgs),
    Models(models::ModelsArgs),
}

/// Runs the command line; returns the exit code.
pub fn run() -> Result<i32> {
    let cli = Cli::parse();
    output::remove_partial_files_on_signal();
    match cli.command {
        Command::Score(a) => score::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Aggregate(a) => aggregate::run(a),
        Command::Chart(a) => chart::run(a),
        Command::Train(a) => train::run(a),
        Command::Models(a) => models::run(a),
    }
}

/// True when the error is a closed pipe on output (`rhetor score … | head`): not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<rhetor::score::ScoreError>()
                .is_some_and(|e| matches!(e, rhetor::score::ScoreError::Output(io) if io.kind() == std::io::ErrorKind::BrokenPipe))
    })
}

pub use rhetor::model::registry::DEFAULT_TARGET_MODEL;
pub use rhetor::model::set_threads;

/// Loads `--target-model`: `none` disables it; the default model may be absent (targets then
/// get the sentence's tone, with a note); any other name must load. Unless one is asked for, a
/// lexicon run (`--model vader`) uses none: the lexicon's sentence tone goes to the targets,
/// rather than a transformer costing ten times the lexicon's time.
pub fn load_target_model(
    requested: Option<&str>,
    tone_model: &str,
    batch_size: usize,
    precision: rhetor::model::transformer::Precision,
) -> Result<Option<Box<dyn rhetor::model::ToneModel>>> {
    let name = match requested {
        Some(name) => name,
        None if tone_model == "vader" => {
            eprintln!("rhetor: note: --model vader: targets get VADER's sentence tone (give --target-model to score them with a target model)");
            return Ok(None);
        }
        None => DEFAULT_TARGET_MODEL,
    };
    if name == "none" {
        return Ok(None);
    }
    let settings = rhetor::model::transformer::Settings {
        batch_size,
        max_length: None,
        precision,
    };
    match rhetor::model::load(name, settings) {
        Ok(m) => Ok(Some(m)),
        Err(rhetor::ModelError::NotFound { .. }) if name == DEFAULT_TARGET_MODEL => {
            eprintln!(
                "rhetor: note: target model {name} not installed; targets get the sentence's tone"
            );
            Ok(None)
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot load target model {name}"))),
    }
}
