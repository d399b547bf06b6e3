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
    /// The article's id (see [`crate::ingest::Article::id`]).
    pub article: String,
    /// `null` for an undated article.
    pub date: Option<NaiveDate>,
    /// The article's headline, if it has one (omitted from JSON when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// One scored unit: the JSONL row of `rhetor score`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The article the unit belongs to, its fields at the top level of the JSON row; `None`
    /// in `--input lines` rows.
    #[serde(flatten)]
    pub article: Option<ArticleFields>,
    /// Where the article came from: a path, `path:line` for JSONL, or `-` for stdin.
    pub source: String,
    /// Sentence index within the article (line number from 0 in lines mode).
    pub index: usize,
    /// Character offsets (Unicode scalar values, end exclusive) into the article text.
    pub start: usize,
    /// Character offset just past the unit's end (exclusive).
    pub end: usize,
    /// The sentence (or line) as scored.
    pub text: String,
    /// Tone in [-1, 1]: -1 hostile, 0 neutral, 1 warm.
    pub tone: f32,
    /// The class of `tone`: negative, neutral or positive.
    pub label: Label,
    /// The probability of each class (for VADER, its neg/neu/pos proportions).
    pub probs: Probs,
    /// The CAMEO QuadClass of the sentence (models with a quad head).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quad: Option<Quad>,
    /// The five quad class probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quad_probs: Option<QuadProbs>,
    /// The name of the model that scored the unit.
    pub model: String,
    /// The unit had more tokens than the model's maximum length; the tail was not scored.
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
    /// The phrase as written.
    pub text: String,
    /// Character offset in the row's `text` where the phrase starts.
    pub start: usize,
    /// Character offset in the row's `text` just past the phrase's end.
    pub end: usize,
    /// The sentence's tone minus its tone without the phrase, in [-2, 2].
    pub effect: f32,
}

/// Quad class probabilities, serialised as
/// `{"verbal_cooperation":…, "material_cooperation":…, "verbal_conflict":…,
/// "material_conflict":…, "none":…}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QuadProbs {
    /// P([`Quad::VerbalCooperation`]): statements, appeals, consultations, diplomacy.
    pub verbal_cooperation: f32,
    /// P([`Quad::MaterialCooperation`]): material cooperation, aid, yielding.
    pub material_cooperation: f32,
    /// P([`Quad::VerbalConflict`]): demands, disapproval, rejection, threats.
    pub verbal_conflict: f32,
    /// P([`Quad::MaterialConflict`]): protests, force posture, coercion, assault, fighting.
    pub material_conflict: f32,
    /// P([`Quad::None`]): no interaction between actors.
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
    /// Registry id of the actor who speaks; `null` when no speaker is found.
    pub speaker: Option<String>,
    /// The actors spoken of (every actor mentioned but the speaker and news agencies), in
    /// order of first mention, each with the tone toward it.
    #[serde(default)]
    pub targets: Vec<TargetTone>,
    /// Every actor mention in the sentence, in reading order.
    #[serde(default)]
    pub mentions: Vec<crate::attribute::Mention>,
}

/// The tone toward one target: from the target-dependent model named in `source`, or the
/// sentence's own tone (`"source": "sentence"`) when no target model is used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetTone {
    /// Registry id of the target actor.
    pub actor: String,
    /// Tone toward the target in [-1, 1]: -1 hostile, 1 warm.
    pub tone: f32,
    /// The class of `tone`.
    pub label: Label,
    /// The name of the target model that scored it, or `sentence`.
    #[serde(default = "sentence_source")]
    pub source: String,
}

fn sentence_source() -> String {
    "sentence".into()
}

/// Score rows read back, and what could not be read.
#[derive(Debug, Default)]
pub struct RowsRead {
    /// The rows read, in input order.
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
