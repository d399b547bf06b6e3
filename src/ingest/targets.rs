//! `--input targets`: JSONL lines naming a sentence and one target in it.

use serde::Deserialize;

use super::{decode, io_error, read_stdin};
use crate::error::InputError;

/// One target to score from `--input targets`.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetInput {
    /// The input it came from: a path or `-` for stdin.
    pub source: String,
    /// Its line in the input, from 0 (blank lines count).
    pub index: usize,
    /// The line's `id` (a string, or a number written as text), if it has one.
    pub id: Option<String>,
    /// The sentence that mentions the target.
    pub text: String,
    /// Character offset in `text` where the target's mention starts.
    pub from: usize,
    /// Character offset in `text` just past the mention's end (`from < to`).
    pub to: usize,
}

impl TargetInput {
    /// The mention: the characters `from..to` of `text`.
    pub fn mention(&self) -> String {
        self.text
            .chars()
            .skip(self.from)
            .take(self.to - self.from)
            .collect()
    }
}

#[derive(Deserialize)]
struct JsonTarget {
    #[serde(default)]
    id: Option<serde_json::Value>,
    text: String,
    #[serde(default)]
    from: Option<usize>,
    #[serde(default)]
    to: Option<usize>,
    #[serde(default)]
    mention: Option<String>,
}

/// Parses `--input targets` JSONL. Bad lines become errors naming `source:line`.
pub fn parse_targets(name: &str, text: &str) -> (Vec<TargetInput>, Vec<InputError>) {
    let (mut ok, mut errs) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let where_ = format!("{name}:{}", i + 1);
        let bad = |reason: String| InputError::Json {
            source_name: where_.clone(),
            reason,
        };
        let row: JsonTarget = match serde_json::from_str(line) {
            Ok(r) => r,
            Err(e) => {
                errs.push(bad(format!(
                    "{e}; each line needs \"text\" and \"from\"/\"to\" or \"mention\""
                )));
                continue;
            }
        };
        let n = row.text.chars().count();
        let span = match (row.from, row.to, &row.mention) {
            (Some(f), Some(t), _) if f < t && t <= n => Ok((f, t)),
            (Some(f), Some(t), _) => Err(format!(
                "span {f}..{t} does not fit the text ({n} characters)"
            )),
            (_, _, Some(m)) if !m.is_empty() => match row.text.find(m.as_str()) {
                Some(b) => {
                    let f = row.text[..b].chars().count();
                    Ok((f, f + m.chars().count()))
                }
                None => Err(format!("mention {m:?} is not in the text")),
            },
            _ => Err("give \"from\" and \"to\" (character offsets) or \"mention\"".into()),
        };
        match span {
            Ok((from, to)) => ok.push(TargetInput {
                source: name.to_string(),
                index: i,
                id: match row.id {
                    Some(serde_json::Value::String(s)) => Some(s),
                    Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                },
                text: row.text,
                from,
                to,
            }),
            Err(reason) => errs.push(bad(reason)),
        }
    }
    (ok, errs)
}

/// Reads the bytes of one input for `--input targets` (a file or `-`).
pub fn read_target_input(input: &str) -> Result<String, InputError> {
    let bytes = if input == "-" {
        read_stdin()?
    } else {
        std::fs::read(input).map_err(|e| io_error(input, e))?
    };
    decode(input, &bytes)
}
