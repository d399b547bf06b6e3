//! Bench: runs tone models over labeled suites and reports agreement with human labels
//! (Pearson and Spearman against ratings, accuracy, 3-class macro-F1, ECE, confusion), speed
//! (sentences/s, tokens/s, batch latency p50/p95, model load time) and peak memory, with the
//! machine and versions. Suites are streamed in chunks; only per-row predictions are kept.

pub mod suite;

use std::time::Instant;

use serde::Serialize;

use crate::error::{DataError, ModelError};
use crate::metrics;
use crate::model::{Label, TargetItem, ToneModel};
use suite::Suite;

/// Rows scored per call to a model.
pub const CHUNK: usize = 2048;

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub os: String,
    pub rhetor: String,
    pub libtorch: String,
}

impl Machine {
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
    pub suite: String,
    pub model: String,
    pub rows: usize,
    pub rated_rows: usize,
    pub pearson: Option<f64>,
    pub spearman: Option<f64>,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub ece: f64,
    /// Rows = truth, columns = prediction: negative, neutral, positive.
    pub confusion: [[usize; 3]; 3],
    pub seconds: f64,
    pub sentences_per_sec: f64,
    pub tokens_per_sec: Option<f64>,
    pub batch_p50_ms: Option<f64>,
    pub batch_p95_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub name: String,
    pub load_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub models: Vec<ModelInfo>,
    pub outcomes: Vec<Outcome>,
    pub skipped: Vec<String>,
    pub peak_rss_mib: Option<f64>,
    pub neutral_band: f32,
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let k = ((sorted.len() - 1) as f64 * p).round() as usize;
    Some(sorted[k.min(sorted.len() - 1)])
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A suite without a single labeled row: its metrics would be meaningless.
    #[error("{0}: the suite has no labeled rows; check the file and its format")]
    Empty(std::path::PathBuf),
}

/// Runs one model over one suite.
pub fn run_suite(
    model: &dyn ToneModel,
    suite: &Suite,
    progress: &dyn Fn(usize),
) -> Result<Outcome, BenchError> {
    let mut reader = suite.open()?;
    let (mut pred_tone, mut gold_tone) = (Vec::new(), Vec::new());
    let (mut truth, mut pred, mut probs) = (Vec::<Label>::new(), Vec::<Label>::new(), Vec::new());
    let mut latencies = Vec::new();
    let mut seconds = 0.0;
    let mut tokens: Option<usize> = Some(0);
    let mut rows = 0;
    loop {
        let mut chunk = Vec::with_capacity(CHUNK);
        for r in reader.by_ref().take(CHUNK) {
            chunk.push(r?);
        }
        if chunk.is_empty() {
            break;
        }
        let texts: Vec<&str> = chunk.iter().map(|r| r.text.as_str()).collect();
        tokens = match (tokens, model.count_tokens(&texts)) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        let start = Instant::now();
        let last = std::cell::Cell::new(start);
        let lat = std::cell::RefCell::new(Vec::new());
        let spans: Vec<(usize, usize)> = chunk.iter().filter_map(|r| r.span).collect();
        let items: Vec<TargetItem> = if spans.len() == chunk.len() {
            chunk
                .iter()
                .zip(&spans)
                .map(|(r, &(from, to))| TargetItem {
                    text: &r.text,
                    from,
                    to,
                })
                .collect()
        } else {
            Vec::new()
        };
        let report = |_: usize| {
            let now = Instant::now();
            lat.borrow_mut()
                .push(now.duration_since(last.get()).as_secs_f64() * 1000.0);
            last.set(now);
        };
        let tones = if items.is_empty() {
            model.score(&texts, &report)?
        } else {
            model.score_targets(&items, &report)?
        };
        seconds += start.elapsed().as_secs_f64();
        latencies.extend(lat.into_inner());
        for (row, t) in chunk.iter().zip(&tones) {
            if let Some(g) = row.tone {
                gold_tone.push(g as f64);
                pred_tone.push(t.tone as f64);
            }
            truth.push(row.label);
            pred.push(t.label);
            probs.push(t.probs.as_array());
        }
        rows += chunk.len();
        progress(rows);
    }
    if rows == 0 {
        return Err(BenchError::Empty(suite.path.clone()));
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    Ok(Outcome {
        suite: suite.name.clone(),
        model: model.name().to_string(),
        rows,
        rated_rows: gold_tone.len(),
        pearson: metrics::pearson(&pred_tone, &gold_tone),
        spearman: metrics::spearman(&pred_tone, &gold_tone),
        accuracy: metrics::accuracy(&truth, &pred),
        macro_f1: metrics::macro_f1(&truth, &pred),
        ece: metrics::ece(&probs, &truth, 10),
        confusion: metrics::confusion(&truth, &pred),
        seconds,
        sentences_per_sec: rows as f64 / seconds.max(1e-9),
        tokens_per_sec: tokens.map(|t| t as f64 / seconds.max(1e-9)),
        batch_p50_ms: percentile(&latencies, 0.5),
        batch_p95_ms: percentile(&latencies, 0.95),
    })
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
