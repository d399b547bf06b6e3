//! Labeled data for training and validation: the VADER ICWSM TSV (`id<TAB>rating<TAB>text`,
//! ratings -4..4), NewsMTSC JSONL (target-dependent polarity -1/0/1), and generic CSV/JSONL with
//! a text column and a numeric or categorical label column.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::error::{DataError, Hint};
use crate::model::{Label, Quad};

/// One labeled sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Stable key within its file (the row id, or the line number).
    pub key: String,
    pub text: String,
    /// Tone in [-1, 1] when the data has an intensity rating.
    pub tone: Option<f32>,
    pub label: Label,
    /// The file it came from (for per-file splits and reports).
    pub group: String,
    /// The quad class, for rows that have one (the rhetoric corpus).
    pub quad: Option<Quad>,
}

/// Formats of labeled data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DataFormat {
    /// Guess from the file name and first line.
    Auto,
    /// VADER ICWSM 2014 ground truth: `id<TAB>mean_rating<TAB>text`, rating in [-4, 4].
    Vader,
    /// NewsMTSC JSONL; sentence-level: one example per sentence, polarity averaged over targets.
    Newsmtsc,
    /// CSV with a header; see `--text-column` and `--label-column`.
    Csv,
    /// JSONL; see `--text-column` and `--label-column`.
    Jsonl,
    /// SST-2 style TSV: `sentence<TAB>label` with a header line, labels 0/1.
    Sst2,
}

/// Column names and the rating scale for the generic formats.
#[derive(Debug, Clone)]
pub struct Columns {
    pub text: String,
    pub label: String,
    /// A numeric label is divided by this to give a tone in [-1, 1].
    pub scale: f32,
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            text: "text".into(),
            label: "label".into(),
            scale: 1.0,
        }
    }
}

/// Neutral band on the [-1, 1] tone scale used to turn ratings into classes: ratings within
/// (-0.125, 0.125), i.e. within ±0.5 on VADER's -4..4 scale, are neutral.
pub const NEUTRAL_BAND: f32 = 0.125;

fn read(path: &Path) -> Result<String, DataError> {
    let bytes = std::fs::read(path).map_err(|error| DataError::Io {
        path: path.to_path_buf(),
        error,
        hint: Hint::SharedData,
    })?;
    String::from_utf8(bytes).map_err(|e| DataError::Parse {
        path: path.to_path_buf(),
        line: 0,
        reason: format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()),
    })
}

fn group_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Guesses the format of a file.
pub fn detect(path: &Path, text: &str) -> DataFormat {
    let name = path.to_string_lossy().to_lowercase();
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.trim_start().starts_with('{') {
        if first.contains("\"polarity\"") && first.contains("\"mention\"") {
            DataFormat::Newsmtsc
        } else {
            DataFormat::Jsonl
        }
    } else if first.split('\t').count() == 3
        && first
            .split('\t')
            .nth(1)
            .is_some_and(|r| r.trim().parse::<f32>().is_ok())
    {
        DataFormat::Vader
    } else if name.ends_with(".tsv") || first.starts_with("sentence\tlabel") {
        DataFormat::Sst2
    } else {
        DataFormat::Csv
    }
}

/// Reads one labeled file.
pub fn load(path: &Path, format: DataFormat, cols: &Columns) -> Result<Vec<Example>, DataError> {
    let text = read(path)?;
    let format = if format == DataFormat::Auto {
        detect(path, &text)
    } else {
        format
    };
    let group = group_of(path);
    match format {
        DataFormat::Vader => parse_vader(path, &text, &group),
        DataFormat::Newsmtsc => parse_newsmtsc(path, &text, &group),
        DataFormat::Jsonl => parse_jsonl(path, &text, &group, cols),
        DataFormat::Csv => parse_delimited(path, &text, &group, cols, ',', &|raw| {
            label_value(raw, cols.scale)
        }),
        DataFormat::Sst2 => {
            let c = Columns {
                text: "sentence".into(),
                label: "label".into(),
                scale: 1.0,
            };
            parse_delimited(path, &text, &group, &c, '\t', &|raw| {
                sst2_label(raw).map(|l| (None, l))
            })
        }
        DataFormat::Auto => unreachable!("resolved above"),
    }
}

fn parse_vader(path: &Path, text: &str, group: &str) -> Result<Vec<Example>, DataError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let mut parts = line.splitn(3, '\t');
        let (Some(id), Some(rating), Some(sentence)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(DataError::Parse {
                path: path.to_path_buf(),
                line: i + 1,
                reason: "expected id<TAB>rating<TAB>text".into(),
            });
        };
        let rating: f32 = finite(rating).ok_or_else(|| DataError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            reason: format!("rating {rating:?} is not a finite number"),
        })?;
        let tone = (rating / 4.0).clamp(-1.0, 1.0);
        out.push(Example {
            key: id.trim().to_string(),
            text: sentence.trim().to_string(),
            tone: Some(tone),
            label: Label::from_tone(tone, NEUTRAL_BAND),
            group: group.to_string(),
            quad: None,
        });
    }
    Ok(out)
}

/// The non-blank lines of a JSONL text, parsed, with their 1-based line numbers; a line that
/// is not JSON is an error naming it.
fn json_lines<'a>(
    path: &'a Path,
    text: &'a str,
) -> impl Iterator<Item = Result<(usize, Value), DataError>> + 'a {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(move |(i, l)| {
            serde_json::from_str(l)
                .map(|v| (i + 1, v))
                .map_err(|e| parse_error(path, i + 1, e.to_string()))
        })
}

fn parse_error(path: &Path, line: usize, reason: String) -> DataError {
    DataError::Parse {
        path: path.to_path_buf(),
        line,
        reason,
    }
}

/// NewsMTSC as sentence-level tone: the sentence's targets' polarities are averaged; the class
/// is the sign of the mean (mixed or neutral targets give neutral).
fn parse_newsmtsc(path: &Path, text: &str, group: &str) -> Result<Vec<Example>, DataError> {
    let mut by_sentence: BTreeMap<String, (usize, Vec<f32>)> = BTreeMap::new();
    for row in json_lines(path, text) {
        let (line, v) = row?;
        let sentence = v["sentence"]
            .as_str()
            .ok_or_else(|| parse_error(path, line, "missing \"sentence\"".into()))?;
        let polarity = v["polarity"]
            .as_f64()
            .ok_or_else(|| parse_error(path, line, "missing numeric \"polarity\"".into()))?
            as f32;
        by_sentence
            .entry(sentence.trim().to_string())
            .or_insert_with(|| (line, Vec::new()))
            .1
            .push(polarity);
    }
    let mut out: Vec<Example> = by_sentence
        .into_iter()
        .map(|(sentence, (line, pols))| {
            let mean = pols.iter().sum::<f32>() / pols.len() as f32;
            let label = if mean > 0.0 {
                Label::Positive
            } else if mean < 0.0 {
                Label::Negative
            } else {
                Label::Neutral
            };
            Example {
                key: format!("line{line}"),
                text: sentence,
                tone: None,
                label,
                group: group.to_string(),
                quad: None,
            }
        })
        .collect();
    out.sort_by(|a, b| a.key.len().cmp(&b.key.len()).then(a.key.cmp(&b.key)));
    Ok(out)
}

/// A finite number, or `None` (so `NaN` and `inf` ratings are rejected, not averaged).
pub fn finite(raw: &str) -> Option<f32> {
    raw.trim().parse::<f32>().ok().filter(|x| x.is_finite())
}

/// Turns a label cell into (tone, class): numbers are divided by `scale`; words such as
/// negative/neutral/positive (or neg/pos, -1/0/1) are classes.
pub fn label_value(raw: &str, scale: f32) -> Option<(Option<f32>, Label)> {
    let r = raw.trim().trim_matches('"').to_lowercase();
    match r.as_str() {
        "negative" | "neg" | "hostile" => return Some((None, Label::Negative)),
        "neutral" | "neu" | "none" => return Some((None, Label::Neutral)),
        "positive" | "pos" | "warm" => return Some((None, Label::Positive)),
        _ => {}
    }
    let x = finite(&r)?;
    let tone = (x / scale).clamp(-1.0, 1.0);
    Some((Some(tone), Label::from_tone(tone, NEUTRAL_BAND)))
}

fn parse_jsonl(
    path: &Path,
    text: &str,
    group: &str,
    cols: &Columns,
) -> Result<Vec<Example>, DataError> {
    let mut out = Vec::new();
    for row in json_lines(path, text) {
        let (line, v) = row?;
        let err = |reason: String| parse_error(path, line, reason);
        let t = v[&cols.text]
            .as_str()
            .ok_or_else(|| err(format!("missing text column {:?}", cols.text)))?;
        let raw = match &v[&cols.label] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(err(format!("missing label column {:?}", cols.label))),
        };
        let (tone, label) = label_value(&raw, cols.scale)
            .ok_or_else(|| err(format!("label {raw:?} is neither a number nor a class")))?;
        let quad = match v.get("quad") {
            None | Some(Value::Null) => None,
            Some(q) => Some(
                q.as_str()
                    .and_then(Quad::parse)
                    .ok_or_else(|| err(format!("quad {q} is not a quad class")))?,
            ),
        };
        out.push(Example {
            key: format!("line{line}"),
            text: t.trim().to_string(),
            tone,
            label,
            group: group.to_string(),
            quad,
        });
    }
    Ok(out)
}

/// Splits one CSV/TSV record, honouring double quotes.
pub fn split_record(line: &str, sep: char) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && cur.is_empty() {
            quoted = true;
        } else if c == sep {
            fields.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    fields.push(cur);
    fields
}

/// Reads one label cell into (tone where the data has one, class).
type LabelOf<'a> = &'a dyn Fn(&str) -> Option<(Option<f32>, Label)>;

/// SST-2's binary label: `0` is negative, `1` positive (there is no neutral class).
pub fn sst2_label(raw: &str) -> Option<Label> {
    match raw.trim() {
        "0" => Some(Label::Negative),
        "1" => Some(Label::Positive),
        _ => None,
    }
}

fn parse_delimited(
    path: &Path,
    text: &str,
    group: &str,
    cols: &Columns,
    sep: char,
    label_of: LabelOf<'_>,
) -> Result<Vec<Example>, DataError> {
    let mut lines = text.lines().enumerate();
    let header = match lines.next() {
        Some((_, h)) => split_record(h.trim_end_matches('\r'), sep),
        None => return Ok(Vec::new()),
    };
    let find = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| DataError::Parse {
                path: path.to_path_buf(),
                line: 1,
                reason: format!("no column {name:?} in header {header:?}"),
            })
    };
    let (ti, li) = (find(&cols.text)?, find(&cols.label)?);
    let mut out = Vec::new();
    for (i, line) in lines {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let f = split_record(line, sep);
        let err = |reason: String| DataError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            reason,
        };
        let (Some(t), Some(raw)) = (f.get(ti), f.get(li)) else {
            return Err(err(format!(
                "expected {} fields, found {}",
                header.len(),
                f.len()
            )));
        };
        let (tone, label) = label_of(raw)
            .ok_or_else(|| err(format!("label {raw:?} is not a label of this format")))?;
        out.push(Example {
            key: format!("line{}", i + 1),
            text: t.trim().to_string(),
            tone,
            label,
            group: group.to_string(),
            quad: None,
        });
    }
    Ok(out)
}

/// A deterministic split: the example goes to the held-out part when a seeded hash of its group
/// and key falls below `fraction`.
pub fn held_out(ex: &Example, seed: u64, fraction: f64) -> bool {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(ex.group.as_bytes());
    h.update([0]);
    h.update(ex.key.as_bytes());
    let d = h.finalize();
    let x = u64::from_le_bytes(d[..8].try_into().unwrap_or([0; 8]));
    (x as f64 / u64::MAX as f64) < fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vader_lines_with_crlf() {
        let ex = parse_vader(
            Path::new("v"),
            "1_1\t2.5\tGreat movie!\r\n2_1\t-0.2\tMeh.\r\n",
            "v",
        )
        .unwrap();
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].tone, Some(0.625));
        assert_eq!(ex[0].label, Label::Positive);
        assert_eq!(ex[1].label, Label::Neutral);
        assert_eq!(ex[1].text, "Meh.");
    }

    #[test]
    fn newsmtsc_aggregates_targets_per_sentence() {
        let data = concat!(
            "{\"mention\":\"A\",\"from\":0,\"to\":1,\"sentence\":\"A hit B.\",\"polarity\":-1,\"id\":\"1\"}\n",
            "{\"mention\":\"B\",\"from\":6,\"to\":7,\"sentence\":\"A hit B.\",\"polarity\":1,\"id\":\"2\"}\n",
            "{\"mention\":\"C\",\"from\":0,\"to\":1,\"sentence\":\"C won.\",\"polarity\":1,\"id\":\"3\"}\n",
        );
        let ex = parse_newsmtsc(Path::new("n"), data, "n").unwrap();
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].text, "A hit B.");
        assert_eq!(ex[0].label, Label::Neutral);
        assert_eq!(ex[1].label, Label::Positive);
    }

    #[test]
    fn generic_csv_with_quotes_and_class_words() {
        let data = "id,text,label\n1,\"Hello, world\",positive\n2,Bad,-0.8\n";
        let cols = Columns::default();
        let numeric = |raw: &str| label_value(raw, cols.scale);
        let ex = parse_delimited(Path::new("c.csv"), data, "c", &cols, ',', &numeric).unwrap();
        assert_eq!(ex[0].text, "Hello, world");
        assert_eq!(ex[0].label, Label::Positive);
        assert_eq!(ex[1].tone, Some(-0.8));
        let bad = parse_delimited(Path::new("c.csv"), "a,b\n1,2\n", "c", &cols, ',', &numeric);
        assert!(bad.unwrap_err().to_string().contains("no column \"text\""));
    }

    #[test]
    fn sst2_label_0_is_negative_in_training_as_in_bench() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sst2.tsv");
        std::fs::write(&p, "sentence\tlabel\na dull film\t0\na fine film\t1\n").unwrap();
        let cols = Columns {
            text: "text".into(),
            label: "label".into(),
            scale: 1.0,
        };
        let ex = load(&p, DataFormat::Auto, &cols).unwrap();
        let labels: Vec<Label> = ex.iter().map(|e| e.label).collect();
        assert_eq!(labels, [Label::Negative, Label::Positive]);
        let suite = crate::bench::suite::Suite::from_path(&p);
        let bench: Vec<Label> = suite.open().unwrap().map(|r| r.unwrap().label).collect();
        assert_eq!(bench, labels);
    }

    #[test]
    fn detects_formats() {
        assert_eq!(
            detect(Path::new("x.txt"), "1\t0.5\thi\n"),
            DataFormat::Vader
        );
        assert_eq!(
            detect(Path::new("x.jsonl"), "{\"mention\":\"a\",\"polarity\":1}\n"),
            DataFormat::Newsmtsc
        );
        assert_eq!(
            detect(Path::new("x.tsv"), "sentence\tlabel\nok\t1\n"),
            DataFormat::Sst2
        );
    }

    #[test]
    fn split_is_deterministic_and_near_the_fraction() {
        let ex: Vec<Example> = (0..2000)
            .map(|i| Example {
                key: i.to_string(),
                text: String::new(),
                tone: None,
                label: Label::Neutral,
                group: "g".into(),
                quad: None,
            })
            .collect();
        let a: Vec<bool> = ex.iter().map(|e| held_out(e, 7, 0.1)).collect();
        let b: Vec<bool> = ex.iter().map(|e| held_out(e, 7, 0.1)).collect();
        assert_eq!(a, b);
        let n = a.iter().filter(|&&x| x).count();
        assert!((150..250).contains(&n), "{n}");
    }
}

/// One labeled target: the tone of `text` toward the mention at chars `from..to`.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetExample {
    pub key: String,
    pub text: String,
    pub from: usize,
    pub to: usize,
    pub label: Label,
}

/// Reads NewsMTSC target rows (`sentence`, `from`, `to`, `polarity`, `id`). `from`/`to` are
/// character offsets; a row whose span does not fit its sentence is an error naming the line.
pub fn load_targets(path: &Path) -> Result<Vec<TargetExample>, DataError> {
    let text = read(path)?;
    let mut out = Vec::new();
    for row in json_lines(path, &text) {
        let (line, v) = row?;
        let err = |reason: String| parse_error(path, line, reason);
        // NewsMTSC names: sentence/polarity; the project's rhetoric rows: text/label (-2..2).
        let sentence = v["sentence"]
            .as_str()
            .or(v["text"].as_str())
            .ok_or_else(|| err("missing \"sentence\" (or \"text\")".into()))?;
        let from = v["from"]
            .as_u64()
            .ok_or_else(|| err("missing \"from\"".into()))? as usize;
        let to = v["to"]
            .as_u64()
            .ok_or_else(|| err("missing \"to\"".into()))? as usize;
        let pol = v["polarity"]
            .as_f64()
            .or(v["label"].as_f64())
            .ok_or_else(|| err("missing \"polarity\" (or \"label\")".into()))?;
        if from >= to || to > sentence.chars().count() {
            return Err(err(format!("span {from}..{to} does not fit the sentence")));
        }
        out.push(TargetExample {
            key: v["id"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| format!("line{line}")),
            text: sentence.to_string(),
            from,
            to,
            label: if pol > 0.0 {
                Label::Positive
            } else if pol < 0.0 {
                Label::Negative
            } else {
                Label::Neutral
            },
        });
    }
    Ok(out)
}
