//! Score rows: what `rhetor score` writes for each sentence (or line), and reading them back.
//! Aggregation, charts and the writers in [`crate::report`] all sit on these types.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::{Label, Probs, Quad};

/// Rounds to 4 decimals for output (keeps JSONL compact and stable).
pub(crate) fn round4(x: f32) -> f32 {
    (x * 10_000.0).round() / 10_000.0
}

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
    /// The score on each user-defined rhetoric axis (`rhetor score --axis`), by axis name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub axes: BTreeMap<String, f32>,
    /// The phrases that moved the tone most (`rhetor score --explain`), strongest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Vec<Phrase>>,
}

/// A phrase that moved a sentence's tone: character offsets (end exclusive) into the row's
/// `text`, and `effect`, the sentence's tone minus its tone with the phrase deleted
/// (negative: the phrase pulled the tone towards hostile).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phrase {
    pub text: String,
    pub start: usize,
    pub end: usize,
    pub effect: f32,
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

/// Score rows read back, and what could not be read.
#[derive(Debug, Default)]
pub struct RowsRead {
    pub rows: Vec<Row>,
    /// One message per input or line that could not be read (`FILE:LINE: reason`).
    pub errors: Vec<String>,
}

/// Reads score rows (JSONL, as `rhetor score` writes them) from files or `-` (stdin; also
/// when `inputs` is empty). A bad input or line is recorded in `errors` and reading goes on.
pub fn read_rows(inputs: &[String]) -> RowsRead {
    let inputs = if inputs.is_empty() {
        vec!["-".to_string()]
    } else {
        inputs.to_vec()
    };
    let mut out = RowsRead::default();
    for input in &inputs {
        let reader: Box<dyn Read> = if input == "-" {
            Box::new(std::io::stdin())
        } else {
            match std::fs::File::open(input) {
                Ok(f) => Box::new(f),
                Err(e) => {
                    out.errors.push(format!("{input}: {e}"));
                    continue;
                }
            }
        };
        for (i, line) in BufReader::new(reader).split(b'\n').enumerate() {
            let at = format!("{input}:{}", i + 1);
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    out.errors.push(format!("{at}: {e}"));
                    break;
                }
            };
            match parse_row(&line) {
                Ok(Some(r)) => out.rows.push(r),
                Ok(None) => {}
                Err(reason) => {
                    out.errors.push(format!("{at}: {reason}"));
                }
            }
        }
    }
    out
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
