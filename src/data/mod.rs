//! Labeled data, read one way for training (`rhetor train`) and benchmarking (`rhetor bench`).
//!
//! Formats ([`Format`]): the VADER ICWSM 2014 TSV (`id<TAB>rating<TAB>text`, ratings −4..4),
//! NewsMTSC JSONL (target-dependent polarity −1/0/1) read per sentence or per target, SST-2
//! TSV (`sentence<TAB>label`, 0 negative, 1 positive), and generic CSV, TSV and JSONL with a
//! text column and a numeric or categorical label column ([`Columns`]). [`open`] streams a
//! file as [`Example`]s; every error names the file and line.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::error::{DataError, Hint};
use crate::model::{Label, Quad};

/// Neutral band on the [−1, 1] tone scale used to turn ratings into classes: ratings within
/// (−0.125, 0.125), i.e. within ±0.5 on VADER's −4..4 scale, are neutral.
pub const NEUTRAL_BAND: f32 = 0.125;

/// Formats of labeled data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Guess from the file name and first line ([`detect`]).
    #[default]
    Auto,
    /// VADER ICWSM 2014 ground truth: `id<TAB>mean_rating<TAB>text`, rating in [−4, 4].
    Vader,
    /// NewsMTSC JSONL, sentence-level: all rows of one sentence (wherever they are in the
    /// file) make one example whose class is the sign of the mean polarity.
    Newsmtsc,
    /// NewsMTSC-style JSONL, target-level: one example per row, with the target's character
    /// span (`from`/`to`); `sentence`/`polarity` or the rhetoric corpus's `text`/`label`.
    #[serde(rename = "newsmtsc-targets")]
    #[cfg_attr(feature = "cli", value(name = "newsmtsc-targets"))]
    NewsmtscTargets,
    /// SST-2 TSV: `sentence<TAB>label` with a header line, labels 0 (negative) / 1 (positive).
    Sst2,
    /// CSV with a header; see [`Columns`].
    Csv,
    /// TSV with a header; see [`Columns`].
    Tsv,
    /// JSONL; see [`Columns`]. A `quad` field, where present, is read too.
    Jsonl,
}

/// Column names and the rating scale for the generic formats.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    /// The column holding the sentence.
    pub text: String,
    /// The column holding the label: a number (divided by `scale`) or a class word.
    pub label: String,
    /// A numeric label is divided by this to give a tone in [−1, 1].
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

/// One labeled sentence (or one labeled target in a sentence).
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Stable key within its file: the row id where the data has one, else `line<N>`.
    pub key: String,
    /// The sentence.
    pub text: String,
    /// The target's character span in `text`, for target-level data.
    pub span: Option<(usize, usize)>,
    /// Tone in [−1, 1] where the data has an intensity rating.
    pub tone: Option<f32>,
    /// The gold class.
    pub label: Label,
    /// The quad class, for rows that have one (the rhetoric corpus).
    pub quad: Option<Quad>,
    /// The file it came from (for per-file splits and reports).
    pub group: String,
}

/// Guesses the format of `path` from its name and first non-blank line.
pub fn detect(path: &Path, first: &str) -> Format {
    let name = path.to_string_lossy().to_lowercase();
    let first = first.trim_start();
    let vader_like = first.split('\t').count() == 3
        && first
            .split('\t')
            .nth(1)
            .is_some_and(|r| r.trim().parse::<f32>().is_ok());
    if first.starts_with(char::from(crate::ingest::JSON_OPEN)) {
        if first.contains("\"polarity\"") && first.contains("\"sentence\"") {
            Format::Newsmtsc
        } else {
            Format::Jsonl
        }
    } else if first.starts_with("sentence\tlabel") {
        Format::Sst2
    } else if vader_like {
        Format::Vader
    } else if name.ends_with(".tsv") {
        Format::Tsv
    } else {
        Format::Csv
    }
}

/// Opens a labeled file as a stream of examples. `Format::Auto` is resolved by [`detect`].
/// NewsMTSC sentence-level data is grouped by sentence, so that one format reads the whole
/// file at open (its errors come from here); the others stream row by row.
pub fn open(path: &Path, format: Format, cols: &Columns) -> Result<Reader, DataError> {
    let format = match format {
        Format::Auto => detect(path, &first_line(path)?),
        f => f,
    };
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let mut reader = Reader {
        path: path.to_path_buf(),
        format,
        cols: cols.clone(),
        group: group_of(path),
        line: 0,
        source: Source::Lines(BufReader::new(file).lines()),
    };
    match format {
        Format::Newsmtsc => reader.group_sentences()?,
        Format::Csv | Format::Tsv | Format::Sst2 => reader.read_header()?,
        _ => {}
    }
    Ok(reader)
}

/// Reads a whole labeled file.
pub fn load(path: &Path, format: Format, cols: &Columns) -> Result<Vec<Example>, DataError> {
    open(path, format, cols)?.collect()
}

/// A deterministic split: the example goes to the held-out part when a seeded hash of its
/// group and key falls below `fraction`.
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

/// Turns a label cell into (tone, class): numbers are divided by `scale`; words such as
/// negative/neutral/positive (or neg/pos, hostile/warm) are classes.
pub fn label_value(raw: &str, scale: f32) -> Option<(Option<f32>, Label)> {
    let r = raw.trim().trim_matches('"').to_lowercase();
    match r.as_str() {
        "negative" | "neg" | "hostile" => return Some((None, Label::Negative)),
        "neutral" | "neu" | "none" => return Some((None, Label::Neutral)),
        "positive" | "pos" | "warm" => return Some((None, Label::Positive)),
        _ => {}
    }
    let tone = (finite(&r)? / scale).clamp(-1.0, 1.0);
    Some((Some(tone), Label::from_tone(tone, NEUTRAL_BAND)))
}

/// The class of a polarity: its sign (0 is neutral).
fn polarity_label(p: f64) -> Label {
    if p > 0.0 {
        Label::Positive
    } else if p < 0.0 {
        Label::Negative
    } else {
        Label::Neutral
    }
}

/// A finite number, or `None` (so `NaN` and `inf` ratings are rejected, not averaged).
fn finite(raw: &str) -> Option<f32> {
    raw.trim().parse::<f32>().ok().filter(|x| x.is_finite())
}

fn io_error(path: &Path, error: std::io::Error) -> DataError {
    DataError::Io {
        path: path.to_path_buf(),
        error,
        hint: Hint::SharedData,
    }
}

fn first_line(path: &Path) -> Result<String, DataError> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| io_error(path, e))?;
        if !line.trim().is_empty() {
            return Ok(line);
        }
    }
    Ok(String::new())
}

fn group_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Where a [`Reader`] takes its rows from.
enum Source {
    /// One row per line (VADER, JSONL, NewsMTSC targets).
    Lines(Lines<BufReader<File>>),
    /// CSV/TSV records (quoted fields may span lines) and the text and label columns.
    Records {
        records: csv::StringRecordsIntoIter<File>,
        text: usize,
        label: usize,
    },
    /// Rows already grouped at open (NewsMTSC sentence-level).
    Grouped(std::vec::IntoIter<Example>),
}

/// A stream of the examples of one file ([`open`]).
pub struct Reader {
    path: PathBuf,
    format: Format,
    cols: Columns,
    group: String,
    /// The 1-based line of the row being read.
    line: usize,
    source: Source,
}

impl Reader {
    /// The format the file is read as (never `Auto`).
    pub fn format(&self) -> Format {
        self.format
    }

    fn err(&self, reason: impl Into<String>) -> DataError {
        DataError::Parse {
            path: self.path.clone(),
            line: self.line,
            reason: reason.into(),
        }
    }

    fn example(&self, key: String, text: &str, tone: Option<f32>, label: Label) -> Example {
        Example {
            key,
            text: text.trim().to_string(),
            span: None,
            tone,
            label,
            quad: None,
            group: self.group.clone(),
        }
    }

    /// The next non-blank line, with `self.line` set to its number.
    fn next_line(&mut self) -> Option<Result<String, DataError>> {
        let Source::Lines(lines) = &mut self.source else {
            return None;
        };
        for line in lines.by_ref() {
            self.line += 1;
            match line {
                Ok(l) if l.trim().is_empty() => continue,
                Ok(l) => return Some(Ok(l.trim_end_matches('\r').to_string())),
                Err(e) => return Some(Err(self.err(format!("read error: {e}")))),
            }
        }
        None
    }

    fn parse_line(&self, line: &str) -> Result<Example, DataError> {
        match self.format {
            Format::Vader => self.vader(line),
            Format::Jsonl => self.jsonl(&self.json(line)?),
            _ => self.target(&self.json(line)?),
        }
    }

    fn vader(&self, line: &str) -> Result<Example, DataError> {
        let mut parts = line.splitn(3, '\t');
        let (Some(id), Some(rating), Some(text)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(self.err("expected id<TAB>rating<TAB>text"));
        };
        let rating = finite(rating)
            .ok_or_else(|| self.err(format!("rating {rating:?} is not a finite number")))?;
        let tone = (rating / 4.0).clamp(-1.0, 1.0);
        let label = Label::from_tone(tone, NEUTRAL_BAND);
        Ok(self.example(id.trim().to_string(), text, Some(tone), label))
    }

    fn json(&self, line: &str) -> Result<Value, DataError> {
        serde_json::from_str(line).map_err(|e| self.err(e.to_string()))
    }

    fn jsonl(&self, v: &Value) -> Result<Example, DataError> {
        let cols = &self.cols;
        let text = v[&cols.text]
            .as_str()
            .ok_or_else(|| self.err(format!("missing text column {:?}", cols.text)))?;
        let raw = match &v[&cols.label] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(self.err(format!("missing label column {:?}", cols.label))),
        };
        let (tone, label) = label_value(&raw, cols.scale)
            .ok_or_else(|| self.err(format!("label {raw:?} is neither a number nor a class")))?;
        let quad = match v.get("quad") {
            None | Some(Value::Null) => None,
            Some(q) => Some(
                q.as_str()
                    .and_then(Quad::parse)
                    .ok_or_else(|| self.err(format!("quad {q} is not a quad class")))?,
            ),
        };
        let key = format!("line{}", self.line);
        Ok(Example {
            quad,
            ..self.example(key, text, tone, label)
        })
    }

    /// The sentence and polarity of a NewsMTSC row (or `text`/`label` of the corpus's
    /// target rows).
    fn sentence_polarity<'v>(&self, v: &'v Value) -> Result<(&'v str, f64), DataError> {
        let sentence = v["sentence"]
            .as_str()
            .or(v["text"].as_str())
            .ok_or_else(|| self.err("missing \"sentence\" (or \"text\")"))?;
        let polarity = v["polarity"]
            .as_f64()
            .or(v["label"].as_f64())
            .ok_or_else(|| self.err("missing numeric \"polarity\" (or \"label\")"))?;
        Ok((sentence, polarity))
    }

    /// One target row: the sentence untrimmed (the span counts its characters).
    fn target(&self, v: &Value) -> Result<Example, DataError> {
        let (sentence, polarity) = self.sentence_polarity(v)?;
        let (Some(from), Some(to)) = (v["from"].as_u64(), v["to"].as_u64()) else {
            return Err(self.err("missing \"from\" or \"to\""));
        };
        let (from, to) = (from as usize, to as usize);
        if from >= to || to > sentence.chars().count() {
            return Err(self.err(format!("span {from}..{to} does not fit the sentence")));
        }
        let key = v["id"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| format!("line{}", self.line));
        Ok(Example {
            key,
            text: sentence.to_string(),
            span: Some((from, to)),
            tone: None,
            label: polarity_label(polarity),
            quad: None,
            group: self.group.clone(),
        })
    }

    /// NewsMTSC sentence-level: reads every row, then one example per distinct sentence
    /// (keyed by its first line, in order of first appearance) labelled by the sign of the
    /// mean polarity of its targets.
    fn group_sentences(&mut self) -> Result<(), DataError> {
        let mut order: Vec<(String, usize, Vec<f64>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        while let Some(line) = self.next_line() {
            let v = self.json(&line?)?;
            let (sentence, polarity) = self.sentence_polarity(&v)?;
            let sentence = sentence.trim().to_string();
            let i = *index.entry(sentence.clone()).or_insert_with(|| {
                order.push((sentence, self.line, Vec::new()));
                order.len() - 1
            });
            order[i].2.push(polarity);
        }
        let grouped: Vec<Example> = order
            .into_iter()
            .map(|(sentence, line, pols)| {
                let mean = pols.iter().sum::<f64>() / pols.len() as f64;
                self.example(format!("line{line}"), &sentence, None, polarity_label(mean))
            })
            .collect();
        self.source = Source::Grouped(grouped.into_iter());
        Ok(())
    }

    /// CSV/TSV/SST-2: finds the text and label columns in the header.
    fn read_header(&mut self) -> Result<(), DataError> {
        let file = File::open(&self.path).map_err(|e| io_error(&self.path, e))?;
        let delimiter = if self.format == Format::Csv {
            b','
        } else {
            b'\t'
        };
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(file);
        self.line = 1;
        let header = rdr.headers().map_err(|e| self.err(e.to_string()))?.clone();
        if header.iter().all(|h| h.trim().is_empty()) {
            // A blank file has no rows (its consumers say so), not a broken header.
            self.source = Source::Grouped(Vec::new().into_iter());
            return Ok(());
        }
        let (tc, lc) = match self.format {
            Format::Sst2 => ("sentence", "label"),
            _ => (self.cols.text.as_str(), self.cols.label.as_str()),
        };
        let find = |name: &str| {
            header.iter().position(|h| h.trim() == name).ok_or_else(|| {
                self.err(format!(
                    "no column {name:?} in header {:?}",
                    header.iter().collect::<Vec<_>>()
                ))
            })
        };
        let (text, label) = (find(tc)?, find(lc)?);
        self.source = Source::Records {
            records: rdr.into_records(),
            text,
            label,
        };
        Ok(())
    }

    fn record(
        &self,
        rec: &csv::StringRecord,
        text: usize,
        label: usize,
    ) -> Result<Example, DataError> {
        let (Some(t), Some(raw)) = (rec.get(text), rec.get(label)) else {
            return Err(self.err(format!(
                "expected at least {} fields, found {}",
                text.max(label) + 1,
                rec.len()
            )));
        };
        let (tone, label) = if self.format == Format::Sst2 {
            match raw.trim() {
                "0" => (None, Label::Negative),
                "1" => (None, Label::Positive),
                other => return Err(self.err(format!("SST-2 label {other:?} is not 0 or 1"))),
            }
        } else {
            label_value(raw, self.cols.scale)
                .ok_or_else(|| self.err(format!("label {raw:?} is neither a number nor a class")))?
        };
        Ok(self.example(format!("line{}", self.line), t, tone, label))
    }

    fn next_record(&mut self) -> Option<Result<Example, DataError>> {
        let Source::Records {
            records,
            text,
            label,
        } = &mut self.source
        else {
            return None;
        };
        let (text, label) = (*text, *label);
        loop {
            let rec = records.next()?;
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    if let Some(p) = e.position() {
                        self.line = p.line() as usize;
                    }
                    return Some(Err(self.err(e.to_string())));
                }
            };
            self.line = rec.position().map_or(self.line + 1, |p| p.line() as usize);
            if rec.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            return Some(self.record(&rec, text, label));
        }
    }
}

impl Iterator for Reader {
    type Item = Result<Example, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.source {
            Source::Grouped(rows) => rows.next().map(Ok),
            Source::Records { .. } => self.next_record(),
            Source::Lines(_) => {
                let line = self.next_line()?;
                Some(line.and_then(|l| self.parse_line(&l)))
            }
        }
    }
}

#[cfg(test)]
mod tests;
