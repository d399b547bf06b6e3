//! Report: the last pipeline stage. One [`Reporter`] trait, one file per output format
//! (JSONL, CSV, table). Every row is one scored sentence (or line).

pub mod chart;
mod csv;
mod jsonl;
mod table;

use std::io::Write;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::{Label, Probs, Quad};

pub use self::csv::CsvReporter;
pub use self::jsonl::JsonlReporter;
pub use self::table::TableReporter;

/// Article fields of a row; absent in `--input lines` rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArticleFields {
    pub article: String,
    /// `null` for an undated article.
    pub date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// One scored unit: the JSONL row of `rhetor score`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    #[serde(flatten)]
    pub article: Option<ArticleFields>,
    pub source: String,
    /// Sentence index within the article (line number from 0 in lines mode).
    pub index: usize,
    /// Character offsets (Unicode scalar values, end exclusive) into the article text.
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub tone: f32,
    pub label: Label,
    pub probs: Probs,
    /// The CAMEO QuadClass of the sentence (models with a quad head).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quad: Option<Quad>,
    /// The five quad class probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quad_probs: Option<QuadProbs>,
    pub model: String,
    pub truncated: bool,
    /// Who speaks and who is spoken of (article rows only).
    #[serde(flatten)]
    pub attribution: Option<RowAttribution>,
}

/// Quad class probabilities, serialised as
/// `{"verbal_cooperation":…, "material_cooperation":…, "verbal_conflict":…,
/// "material_conflict":…, "none":…}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QuadProbs {
    pub verbal_cooperation: f32,
    pub material_cooperation: f32,
    pub verbal_conflict: f32,
    pub material_conflict: f32,
    pub none: f32,
}

impl QuadProbs {
    /// From probabilities in [`Quad::ALL`] order, rounded to 4 decimals.
    pub fn from_array(p: [f32; 5]) -> Self {
        QuadProbs {
            verbal_cooperation: round4(p[0]),
            material_cooperation: round4(p[1]),
            verbal_conflict: round4(p[2]),
            material_conflict: round4(p[3]),
            none: round4(p[4]),
        }
    }
}

/// Speaker, targets (with the tone toward each) and mentions of a sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowAttribution {
    pub speaker: Option<String>,
    #[serde(default)]
    pub targets: Vec<TargetTone>,
    #[serde(default)]
    pub mentions: Vec<crate::attribute::Mention>,
}

/// The tone toward one target: from the target-dependent model named in `source`, or the
/// sentence's own tone (`"source": "sentence"`) when no target model is used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetTone {
    pub actor: String,
    pub tone: f32,
    pub label: Label,
    #[serde(default = "sentence_source")]
    pub source: String,
}

fn sentence_source() -> String {
    "sentence".into()
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Jsonl,
    Csv,
    Table,
}

/// Writes rows in one format.
pub trait Reporter {
    /// Writes one row.
    fn row(&mut self, row: &Row) -> std::io::Result<()>;
    /// Flushes what was written; called after every scored chunk (so a reader of a pipe sees
    /// rows as they are scored) and at the end.
    fn finish(&mut self) -> std::io::Result<()>;
}

/// Builds the reporter for a format over a writer.
pub fn reporter<'w>(format: Format, out: Box<dyn Write + 'w>) -> Box<dyn Reporter + 'w> {
    match format {
        Format::Jsonl => Box::new(JsonlReporter::new(out)),
        Format::Csv => Box::new(CsvReporter::new(out)),
        Format::Table => Box::new(TableReporter::new(out, table::terminal_width())),
    }
}

/// Rounds to 4 decimals for output (keeps JSONL compact and stable).
pub(crate) fn round4(x: f32) -> f32 {
    (x * 10_000.0).round() / 10_000.0
}
