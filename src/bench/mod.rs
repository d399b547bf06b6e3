//! Bench: runs tone models over labeled suites and reports agreement with human labels
//! (Pearson and Spearman against ratings, accuracy, 3-class macro-F1, ECE, confusion), speed
//! (sentences/s, tokens/s, batch latency p50/p95, model load time) and peak memory, with the
//! machine and versions. Suites are streamed in chunks; only per-row predictions are kept.

pub mod suite;

use std::time::Instant;

use serde::Serialize;

use crate::data::Example;
use crate::error::ModelError;
use crate::metrics;
use crate::model::{Label, TargetItem, Tone, ToneModel};
use suite::Suite;

pub use crate::error::BenchError;

/// Rows scored per call to a model.
pub const CHUNK: usize = 2048;

/// The machine a bench ran on and the versions it ran, so that speeds can be compared.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// CPU model name from `/proc/cpuinfo`, or `unknown`.
    pub cpu: String,
    /// CPUs this process may use (available parallelism; 1 when unknown).
    pub cores: usize,
    /// Operating system and architecture, e.g. `linux-x86_64`.
    pub os: String,
    /// The rhetor version (the crate's).
    pub rhetor: String,
    /// The libtorch version rhetor was built against (`RHETOR_LIBTORCH_VERSION` at build
    /// time), or `unknown`.
    pub libtorch: String,
}

impl Machine {
    /// Describes this machine and build; what cannot be read is `unknown`.
    pub fn detect() -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|s| s.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        Machine {
            cpu,
            cores: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            os: std::env::consts::OS.to_string() + "-" + std::env::consts::ARCH,
            rhetor: env!("CARGO_PKG_VERSION").to_string(),
            libtorch: option_env!("RHETOR_LIBTORCH_VERSION")
                .unwrap_or("unknown")
                .to_string(),
        }
    }
}

/// Peak resident memory of this process so far, in MiB (Linux `VmHWM`).
pub fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = s
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// Results of one model on one suite.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The suite's name.
    pub suite: String,
    /// The model's name as it reports it (e.g. `NAME+int8` for a quantized run).
    pub model: String,
    /// Rows of the suite scored (every labeled row).
    pub rows: usize,
    /// Rows with a numeric gold tone (a rating), over which Pearson and Spearman are computed.
    pub rated_rows: usize,
    /// Pearson r between the model's tone and the gold tone, over rows that have a gold tone;
    /// `None` with fewer than 2 such rows or when either side is constant.
    pub pearson: Option<f64>,
    /// Spearman rank correlation between the model's tone and the gold tone, over the same
    /// rows as `pearson`.
    pub spearman: Option<f64>,
    /// Share of rows whose predicted class (negative, neutral, positive) is the gold class,
    /// 0 … 1.
    pub accuracy: f64,
    /// F1 averaged over the three classes (those present in the gold or predicted labels),
    /// 0 … 1.
    pub macro_f1: f64,
    /// Expected calibration error of the top-class probability, with 10 equal-width bins;
    /// 0 is perfectly calibrated.
    pub ece: f64,
    /// Rows = truth, columns = prediction: negative, neutral, positive.
    pub confusion: [[usize; 3]; 3],
    /// Wall-clock seconds spent in the model's scoring calls (reading the suite excluded).
    pub seconds: f64,
    /// Rows scored per second of `seconds`.
    pub sentences_per_sec: f64,
    /// Model tokens per second of `seconds`; `None` for a model without a tokenizer (VADER).
    pub tokens_per_sec: Option<f64>,
    /// Median time of one batch (between two progress reports of the model, one per batch
    /// for a transformer), in milliseconds; `None` when the model reported no progress.
    pub batch_p50_ms: Option<f64>,
    /// 95th percentile of that batch time, in milliseconds; `None` as for `batch_p50_ms`.
    pub batch_p95_ms: Option<f64>,
}

/// A benched model and how long it took to load.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    /// The model's name as it reports it.
    pub name: String,
    /// Wall-clock seconds to load the model, ready to score.
    pub load_seconds: f64,
}

/// A whole bench run: the machine, the models, and one outcome per model and suite.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The machine and versions the bench ran on.
    pub machine: Machine,
    /// The models, in the order they were loaded.
    pub models: Vec<ModelInfo>,
    /// One result per model and suite that ran.
    pub outcomes: Vec<Outcome>,
    /// Suites not run (their file is missing) or failed with a model, each with the reason in
    /// parentheses.
    pub skipped: Vec<String>,
    /// Peak resident memory of the bench process, in MiB ([`peak_rss_mib`]); `None` off Linux.
    pub peak_rss_mib: Option<f64>,
    /// Gold classes from ratings are neutral when |tone| is below this (tone on −1 … +1).
    pub neutral_band: f32,
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let k = ((sorted.len() - 1) as f64 * p).round() as usize;
    Some(sorted[k.min(sorted.len() - 1)])
}

/// One chunk of rows scored: each row's tone, with the latency of each batch (ms).
fn score_chunk(
    model: &dyn ToneModel,
    chunk: &[Example],
) -> Result<(Vec<Tone>, Vec<f64>), ModelError> {
    let texts: Vec<&str> = chunk.iter().map(|r| r.text.as_str()).collect();
    let last = std::cell::Cell::new(Instant::now());
    let lat = std::cell::RefCell::new(Vec::new());
    let report = |_: usize| {
        let now = Instant::now();
        lat.borrow_mut()
            .push(now.duration_since(last.get()).as_secs_f64() * 1000.0);
        last.set(now);
    };
    // Target-level suites (every row has a span) ask for the tone toward the target.
    let items: Option<Vec<TargetItem>> = chunk
        .iter()
        .map(|r| {
            r.span.map(|(from, to)| TargetItem {
                text: &r.text,
                from,
                to,
            })
        })
        .collect();
    let tones = match items {
        Some(items) if !items.is_empty() => model.score_targets(&items, &report)?,
        _ => model.score(&texts, &report)?,
    };
    Ok((tones, lat.into_inner()))
}

/// Gold and predicted values of the rows scored so far.
#[derive(Default)]
struct Tally {
    pred_tone: Vec<f64>,
    gold_tone: Vec<f64>,
    truth: Vec<Label>,
    pred: Vec<Label>,
    probs: Vec<[f32; 3]>,
    latencies: Vec<f64>,
    seconds: f64,
}

impl Tally {
    fn add(&mut self, chunk: &[Example], tones: &[Tone]) {
        for (row, t) in chunk.iter().zip(tones) {
            if let Some(g) = row.tone {
                self.gold_tone.push(g as f64);
                self.pred_tone.push(t.tone as f64);
            }
            self.truth.push(row.label);
            self.pred.push(t.label);
            self.probs.push(t.probs.as_array());
        }
    }

    fn outcome(mut self, suite: &Suite, model: &dyn ToneModel, tokens: Option<usize>) -> Outcome {
        let (rows, seconds) = (self.truth.len(), self.seconds);
        self.latencies.sort_by(|a, b| a.total_cmp(b));
        Outcome {
            suite: suite.name.clone(),
            model: model.name().to_string(),
            rows,
            rated_rows: self.gold_tone.len(),
            pearson: metrics::pearson(&self.pred_tone, &self.gold_tone),
            spearman: metrics::spearman(&self.pred_tone, &self.gold_tone),
            accuracy: metrics::accuracy(&self.truth, &self.pred),
            macro_f1: metrics::macro_f1(&self.truth, &self.pred),
            ece: metrics::ece(&self.probs, &self.truth, 10),
            confusion: metrics::confusion(&self.truth, &self.pred),
            seconds,
            sentences_per_sec: rows as f64 / seconds.max(1e-9),
            tokens_per_sec: tokens.map(|t| t as f64 / seconds.max(1e-9)),
            batch_p50_ms: percentile(&self.latencies, 0.5),
            batch_p95_ms: percentile(&self.latencies, 0.95),
        }
    }
}

/// Runs one model over one suite, streaming it in chunks.
pub fn run_suite(
    model: &dyn ToneModel,
    suite: &Suite,
    progress: &dyn Fn(usize),
) -> Result<Outcome, BenchError> {
    let mut reader = suite.open()?;
    let mut tally = Tally::default();
    let mut tokens: Option<usize> = Some(0);
    loop {
        let chunk: Vec<Example> = reader.by_ref().take(CHUNK).collect::<Result<_, _>>()?;
        if chunk.is_empty() {
            break;
        }
        let texts: Vec<&str> = chunk.iter().map(|r| r.text.as_str()).collect();
        tokens = tokens.zip(model.count_tokens(&texts)).map(|(a, b)| a + b);
        let start = Instant::now();
        let (tones, latencies) = score_chunk(model, &chunk)?;
        tally.seconds += start.elapsed().as_secs_f64();
        tally.latencies.extend(latencies);
        tally.add(&chunk, &tones);
        progress(tally.truth.len());
    }
    if tally.truth.is_empty() {
        return Err(BenchError::Empty(suite.path.clone()));
    }
    Ok(tally.outcome(suite, model, tokens))
}

fn f(x: Option<f64>, digits: usize) -> String {
    x.map(|v| format!("{v:.digits$}"))
        .unwrap_or_else(|| "-".into())
}

impl Report {
    /// A side-by-side text table (also the body of the Markdown report).
    pub fn table(&self, markdown: bool) -> String {
        let head = [
            "suite", "model", "rows", "pearson", "spearman", "acc", "F1", "ECE", "sent/s", "tok/s",
            "p50 ms", "p95 ms",
        ];
        let mut lines: Vec<Vec<String>> = vec![head.iter().map(|s| s.to_string()).collect()];
        for o in &self.outcomes {
            lines.push(vec![
                o.suite.clone(),
                o.model.clone(),
                o.rows.to_string(),
                f(o.pearson, 3),
                f(o.spearman, 3),
                format!("{:.3}", o.accuracy),
                format!("{:.3}", o.macro_f1),
                format!("{:.3}", o.ece),
                format!("{:.0}", o.sentences_per_sec),
                f(o.tokens_per_sec, 0),
                f(o.batch_p50_ms, 1),
                f(o.batch_p95_ms, 1),
            ]);
        }
        let widths: Vec<usize> = (0..head.len())
            .map(|c| {
                lines
                    .iter()
                    .map(|l| l[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for (i, l) in lines.iter().enumerate() {
            let cells: Vec<String> = l
                .iter()
                .enumerate()
                .map(|(c, s)| {
                    if c < 2 {
                        format!("{s:<w$}", w = widths[c])
                    } else {
                        format!("{s:>w$}", w = widths[c])
                    }
                })
                .collect();
            if markdown {
                out += &format!("| {} |\n", cells.join(" | "));
                if i == 0 {
                    let seps: Vec<String> = widths
                        .iter()
                        .enumerate()
                        .map(|(c, w)| {
                            if c < 2 {
                                "-".repeat(*w)
                            } else {
                                format!("{}:", "-".repeat(w.saturating_sub(1)))
                            }
                        })
                        .collect();
                    out += &format!("| {} |\n", seps.join(" | "));
                }
            } else {
                out += &cells.join("  ");
                out.push('\n');
            }
        }
        out
    }

    /// The context of the table, one fact a line: machine and versions, each model's load
    /// time, peak memory, how gold classes come from ratings, and the skipped suites.
    pub fn footer(&self) -> String {
        let mut s = format!(
            "machine: {} ({} cores), {}; rhetor {}, libtorch {}\n",
            self.machine.cpu,
            self.machine.cores,
            self.machine.os,
            self.machine.rhetor,
            self.machine.libtorch
        );
        for m in &self.models {
            s += &format!("model {}: loaded in {:.2} s\n", m.name, m.load_seconds);
        }
        if let Some(p) = self.peak_rss_mib {
            s += &format!("peak resident memory: {p:.0} MiB\n");
        }
        s += &format!(
            "gold classes from ratings: neutral when |tone| < {} (tone = rating / scale); predicted classes are each model's labels\n",
            self.neutral_band
        );
        for k in &self.skipped {
            s += &format!("skipped: {k}\n");
        }
        s
    }

    /// The report as a Markdown document: a title, the table and the footer.
    pub fn markdown(&self) -> String {
        format!(
            "# rhetor bench\n\n{}\n```\n{}```\n",
            self.table(true),
            self.footer()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_ranked_values() {
        let v = [1.0, 2.0, 3.0, 4.0, 100.0];
        assert_eq!(percentile(&v, 0.5), Some(3.0));
        assert_eq!(percentile(&v, 0.95), Some(100.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
