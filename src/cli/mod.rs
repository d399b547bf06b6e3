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
mod args;
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

/// The error and its causes joined by ": ", leaving out a cause whose text the message
/// already holds (library errors name their cause and also keep it as their source).
pub fn message(err: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !msg.contains(&text) {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&text);
        }
    }
    msg
}

/// True when the error is a closed pipe on output (`rhetor score … | head`): not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

pub use rhetor::model::set_threads;
