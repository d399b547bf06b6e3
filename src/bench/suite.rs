//! Bench suites: named labeled files read as a stream of rows (a large suite never has to fit
//! in memory). Formats: the VADER ICWSM TSV, NewsMTSC JSONL (sentence-level: consecutive rows
//! of the same sentence are merged, polarity averaged), SST-2 TSV, and generic CSV/TSV/JSONL
//! with column flags. A TOML manifest names suites.

use std::fs::File;
use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{DataError, Hint};
use crate::model::Label;
use crate::train::data::{label_value, split_record, NEUTRAL_BAND};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SuiteFormat {
    /// `id<TAB>rating<TAB>text`, rating -4..4.
    Vader,
    /// NewsMTSC JSONL (`sentence`, `polarity`), sentence-level.
    Newsmtsc,
    /// NewsMTSC JSONL, target-level: one row per target (`from`/`to` span); target-dependent
    /// models score the tone toward it, others the sentence's tone.
    #[serde(rename = "newsmtsc-targets")]
    #[value(name = "newsmtsc-targets")]
    NewsmtscTargets,
    /// `sentence<TAB>label` with a header, labels 0/1.
    Sst2,
    /// CSV with a header; `text_column`, `label_column`, `scale`.
    Csv,
    /// TSV with a header; `text_column`, `label_column`, `scale`.
    Tsv,
    /// JSONL; `text_column`, `label_column`, `scale`.
    Jsonl,
}

/// One suite: where and how to read it.
#[derive(Debug, Clone, Deserialize)]
pub struct Suite {
    pub name: String,
    pub format: SuiteFormat,
    pub path: PathBuf,
    #[serde(default = "text_col")]
    pub text_column: String,
    #[serde(default = "label_col")]
    pub label_column: String,
    /// Numeric labels are divided by this to give a tone in [-1, 1].
    #[serde(default = "one")]
    pub scale: f32,
    #[serde(default)]
    pub description: String,
}

fn text_col() -> String {
    "text".into()
}
fn label_col() -> String {
    "label".into()
}
fn one() -> f32 {
    1.0
}

#[derive(Debug, Deserialize)]
struct Manifest {
    #[serde(rename = "suite", default)]
    suites: Vec<Suite>,
}

/// Reads a suite manifest; relative paths are taken from the manifest's folder.
pub fn read_manifest(path: &Path) -> Result<Vec<Suite>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|error| DataError::Io {
        path: path.to_path_buf(),
        error,
        hint: Hint::SuiteManifest,
    })?;
    let m: Manifest = toml::from_str(&text).map_err(|e| DataError::Parse {
        path: path.to_path_buf(),
        line: 0,
        reason: e.to_string(),
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    Ok(m.suites
        .into_iter()
        .map(|mut s| {
            if s.path.is_relative() {
                s.path = base.join(&s.path);
            }
            s
        })
        .collect())
}

impl Suite {
    /// A suite from a file path, its format guessed from the name and first line.
    pub fn from_path(path: &Path) -> Suite {
        let first = std::fs::File::open(path)
            .ok()
            .and_then(|f| BufReader::new(f).lines().next())
            .and_then(|l| l.ok())
            .unwrap_or_default();
        let lower = path.to_string_lossy().to_lowercase();
        let format = if first.trim_start().starts_with('{') {
            if first.contains("\"polarity\"") {
                SuiteFormat::Newsmtsc
            } else {
                SuiteFormat::Jsonl
            }
        } else if first.starts_with("sentence\tlabel") {
            SuiteFormat::Sst2
        } else if first.split('\t').count() == 3
            && first
                .split('\t')
                .nth(1)
                .is_some_and(|r| r.trim().parse::<f32>().is_ok())
        {
            SuiteFormat::Vader
        } else if lower.ends_with(".tsv") {
            SuiteFormat::Tsv
        } else {
            SuiteFormat::Csv
        };
        Suite {
            name: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string()),
            format,
            path: path.to_path_buf(),
            text_column: text_col(),
            label_column: label_col(),
            scale: 1.0,
            description: String::new(),
        }
    }

    pub fn open(&self) -> Result<SuiteReader, DataError> {
        let f = File::open(&self.path).map_err(|error| DataError::Io {
            path: self.path.clone(),
            error,
            hint: Hint::SuitePath,
        })?;
        Ok(SuiteReader {
            suite: self.clone(),
            lines: BufReader::new(f).lines(),
            line: 0,
            columns: None,
            pending: None,
            done: false,
        })
    }
}

/// One labeled row.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteRow {
    pub text: String,
    /// Target span (characters) for target-level suites.
    pub span: Option<(usize, usize)>,
    /// Gold tone in [-1, 1] where the suite has ratings.
    pub tone: Option<f32>,
    pub label: Label,
}

/// Streams rows of a suite.
pub struct SuiteReader {
    suite: Suite,
    lines: Lines<BufReader<File>>,
    line: usize,
    columns: Option<(usize, usize)>,
    /// NewsMTSC: the sentence being merged and its polarities.
    pending: Option<(String, Vec<f32>)>,
    done: bool,
}

impl SuiteReader {
    fn err(&self, reason: String) -> DataError {
        DataError::Parse {
            path: self.suite.path.clone(),
            line: self.line,
            reason,
        }
    }

    fn newsmtsc_row(sentence: String, pols: &[f32]) -> SuiteRow {
        let mean = pols.iter().sum::<f32>() / pols.len().max(1) as f32;
        let label = if mean > 0.0 {
            Label::Positive
        } else if mean < 0.0 {
            Label::Negative
        } else {
            Label::Neutral
        };
        SuiteRow {
            text: sentence,
            span: None,
            tone: None,
            label,
        }
    }

    fn parse(&mut self, raw: &str) -> Result<Option<SuiteRow>, DataError> {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            return Ok(None);
        }
        let s = &self.suite;
        match s.format {
            SuiteFormat::Vader => {
                let mut p = line.splitn(3, '\t');
                let (Some(_), Some(r), Some(t)) = (p.next(), p.next(), p.next()) else {
                    return Err(self.err("expected id<TAB>rating<TAB>text".into()));
                };
                let r = crate::train::data::finite(r)
                    .ok_or_else(|| self.err(format!("rating {r:?} is not a finite number")))?;
                let tone = (r / 4.0).clamp(-1.0, 1.0);
                Ok(Some(SuiteRow {
                    text: t.trim().to_string(),
                    span: None,
                    tone: Some(tone),
                    label: Label::from_tone(tone, NEUTRAL_BAND),
                }))
            }
            SuiteFormat::Newsmtsc => {
                let v: serde_json::Value =
                    serde_json::from_str(line).map_err(|e| self.err(e.to_string()))?;
                let sentence = v["sentence"]
                    .as_str()
                    .ok_or_else(|| self.err("missing \"sentence\"".into()))?
                    .trim()
                    .to_string();
                let pol = v["polarity"]
                    .as_f64()
                    .ok_or_else(|| self.err("missing \"polarity\"".into()))?
                    as f32;
                match &mut self.pending {
                    Some((prev, pols)) if *prev == sentence => {
                        pols.push(pol);
                        Ok(None)
                    }
                    _ => {
                        let out = self.pending.take().map(|(t, p)| Self::newsmtsc_row(t, &p));
                        self.pending = Some((sentence, vec![pol]));
                        Ok(out)
                    }
                }
            }
            SuiteFormat::NewsmtscTargets => {
                let v: serde_json::Value =
                    serde_json::from_str(line).map_err(|e| self.err(e.to_string()))?;
                let text = v["sentence"]
                    .as_str()
                    .ok_or_else(|| self.err("missing \"sentence\"".into()))?
                    .to_string();
                let (Some(from), Some(to), Some(pol)) =
                    (v["from"].as_u64(), v["to"].as_u64(), v["polarity"].as_f64())
                else {
                    return Err(self.err("needs \"from\", \"to\" and \"polarity\"".into()));
                };
                let label = if pol > 0.0 {
                    Label::Positive
                } else if pol < 0.0 {
                    Label::Negative
                } else {
                    Label::Neutral
                };
                Ok(Some(SuiteRow {
                    text,
                    span: Some((from as usize, to as usize)),
                    tone: None,
                    label,
                }))
            }
            SuiteFormat::Jsonl => {
                let v: serde_json::Value =
                    serde_json::from_str(line).map_err(|e| self.err(e.to_string()))?;
                let text = v[&s.text_column]
                    .as_str()
                    .ok_or_else(|| self.err(format!("missing text column {:?}", s.text_column)))?
                    .to_string();
                let raw = match &v[&s.label_column] {
                    serde_json::Value::String(x) => x.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    _ => return Err(self.err(format!("missing label column {:?}", s.label_column))),
                };
                let (tone, label) = label_value(&raw, s.scale)
                    .ok_or_else(|| self.err(format!("bad label {raw:?}")))?;
                Ok(Some(SuiteRow {
                    text,
                    span: None,
                    tone,
                    label,
                }))
            }
            SuiteFormat::Csv | SuiteFormat::Tsv | SuiteFormat::Sst2 => {
                let sep = if s.format == SuiteFormat::Csv {
                    ','
                } else {
                    '\t'
                };
                let fields = split_record(line, sep);
                let Some((ti, li)) = self.columns else {
                    let (tc, lc) = if s.format == SuiteFormat::Sst2 {
                        ("sentence", "label")
                    } else {
                        (s.text_column.as_str(), s.label_column.as_str())
                    };
                    let find = |name: &str| fields.iter().position(|f| f.trim() == name);
                    match (find(tc), find(lc)) {
                        (Some(t), Some(l)) => self.columns = Some((t, l)),
                        _ => {
                            return Err(self.err(format!(
                                "header {fields:?} lacks the columns {tc:?} and {lc:?}"
                            )))
                        }
                    }
                    return Ok(None);
                };
                let (Some(text), Some(raw)) = (fields.get(ti), fields.get(li)) else {
                    return Err(self.err(format!("expected at least {} fields", ti.max(li) + 1)));
                };
                let (tone, label) = if s.format == SuiteFormat::Sst2 {
                    let label = crate::train::data::sst2_label(raw).ok_or_else(|| {
                        self.err(format!("SST-2 label {:?} is not 0 or 1", raw.trim()))
                    })?;
                    (None, label)
                } else {
                    label_value(raw, s.scale)
                        .ok_or_else(|| self.err(format!("bad label {raw:?}")))?
                };
                Ok(Some(SuiteRow {
                    text: text.trim().to_string(),
                    span: None,
                    tone,
                    label,
                }))
            }
        }
    }
}

impl Iterator for SuiteReader {
    type Item = Result<SuiteRow, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            match self.lines.next() {
                Some(Ok(raw)) => {
                    self.line += 1;
                    match self.parse(&raw) {
                        Ok(Some(row)) => return Some(Ok(row)),
                        Ok(None) => continue,
                        Err(e) => return Some(Err(e)),
                    }
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(self.err(format!("read error: {e}"))));
                }
                None => {
                    self.done = true;
                    return self
                        .pending
                        .take()
                        .map(|(t, p)| Ok(Self::newsmtsc_row(t, &p)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(name);
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    #[test]
    fn newsmtsc_merges_consecutive_targets_of_one_sentence() {
        let (_d, p) = write(
            "n.jsonl",
            "{\"sentence\":\"A\",\"polarity\":-1}\n{\"sentence\":\"A\",\"polarity\":-1}\n{\"sentence\":\"B\",\"polarity\":1}\n",
        );
        let s = Suite::from_path(&p);
        assert_eq!(s.format, SuiteFormat::Newsmtsc);
        let rows: Vec<SuiteRow> = s.open().unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].label, Label::Negative);
        assert_eq!(rows[1].text, "B");
    }

    #[test]
    fn newsmtsc_targets_keep_one_row_per_target_with_its_span() {
        let (_d, p) = write(
            "n.jsonl",
            "{\"sentence\":\"A hit B.\",\"from\":0,\"to\":1,\"polarity\":-1}\n{\"sentence\":\"A hit B.\",\"from\":6,\"to\":7,\"polarity\":1}\n",
        );
        let mut s = Suite::from_path(&p);
        s.format = SuiteFormat::NewsmtscTargets;
        let rows: Vec<SuiteRow> = s.open().unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].span, Some((6, 7)));
        assert_eq!(rows[1].label, Label::Positive);
    }

    #[test]
    fn tsv_with_header_and_scale() {
        let (_d, p) = write("s.tsv", "id\ttone\ttext\n1\t-2\tThreat.\n2\t1\tNice.\n");
        let mut s = Suite::from_path(&p);
        assert_eq!(s.format, SuiteFormat::Tsv);
        s.label_column = "tone".into();
        s.scale = 2.0;
        let rows: Vec<SuiteRow> = s.open().unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(rows[0].tone, Some(-1.0));
        assert_eq!(rows[1].label, Label::Positive);
    }

    #[test]
    fn vader_and_sst2_and_errors_name_the_line() {
        let (_d, p) = write("v.txt", "1\t2.0\tGood.\r\n2\tx\tBad.\n");
        let s = Suite::from_path(&p);
        assert_eq!(s.format, SuiteFormat::Vader);
        let rows: Vec<_> = s.open().unwrap().collect();
        assert_eq!(rows[0].as_ref().unwrap().tone, Some(0.5));
        assert!(rows[1].as_ref().unwrap_err().to_string().contains(":2:"));
        let (_d2, p2) = write("s.tsv", "sentence\tlabel\nfine film\t1\nbad film\t0\n");
        let s = Suite::from_path(&p2);
        assert_eq!(s.format, SuiteFormat::Sst2);
        let labels: Vec<Label> = s.open().unwrap().map(|r| r.unwrap().label).collect();
        assert_eq!(labels, [Label::Positive, Label::Negative]);
    }
}
