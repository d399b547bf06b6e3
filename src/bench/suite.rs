//! Bench suites: named labeled files, read by [`crate::data`] as a stream of rows (a large
//! suite never has to fit in memory) exactly as training reads them. A TOML manifest names
//! suites.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::data::{self, Columns, Format, Reader};
use crate::error::{DataError, Hint};

/// One suite: where and how to read it.
#[derive(Debug, Clone, Deserialize)]
pub struct Suite {
    /// The name `--suite` selects and reports show.
    pub name: String,
    /// How the file is laid out ([`Format::Auto`] guesses it).
    pub format: Format,
    /// The labeled file (a relative path in a manifest is taken from the manifest's folder).
    pub path: PathBuf,
    /// The column holding the sentence, for CSV, TSV and JSONL files [default: `text`].
    #[serde(default = "text_col")]
    pub text_column: String,
    /// The column holding the label (a number or a class word), for CSV, TSV and JSONL files
    /// [default: `label`].
    #[serde(default = "label_col")]
    pub label_column: String,
    /// Numeric labels are divided by this to give a tone in [-1, 1].
    #[serde(default = "one")]
    pub scale: f32,
    /// What the suite holds and where it comes from, for people reading the manifest.
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
    /// A suite from a file path, its format guessed from the name and first line
    /// ([`data::detect`], resolved when the suite is opened).
    pub fn from_path(path: &Path) -> Suite {
        Suite {
            name: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string()),
            format: Format::Auto,
            path: path.to_path_buf(),
            text_column: text_col(),
            label_column: label_col(),
            scale: 1.0,
            description: String::new(),
        }
    }

    /// Streams the suite's rows.
    pub fn open(&self) -> Result<Reader, DataError> {
        let cols = Columns {
            text: self.text_column.clone(),
            label: self.label_column.clone(),
            scale: self.scale,
        };
        data::open(&self.path, self.format, &cols)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Example;
    use crate::model::Label;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// The rows `rhetor train` reads from `path` (all in the training split, in file order).
    fn training_rows(path: &Path) -> Vec<Example> {
        let cfg = crate::train::TrainConfig {
            data: vec![path.to_path_buf()],
            val: Vec::new(),
            format: Format::Auto,
            columns: Columns::default(),
            val_fraction: 0.0,
            calib_fraction: 0.0,
            seed: 1,
            base: PathBuf::new(),
            base_name: String::new(),
            base_package: String::new(),
            out: PathBuf::new(),
            name: String::new(),
            max_length: 128,
            batch_size: 32,
            epochs: 1,
            class_tone: 0.5,
            command: String::new(),
        };
        let rows = crate::train::load_splits(&cfg).unwrap();
        rows.into_iter().map(|(ex, _)| ex).collect()
    }

    #[test]
    fn training_and_bench_read_identical_rows_from_every_format() {
        let d = tempfile::tempdir().unwrap();
        let files = [
            write(d.path(), "v.txt", "1_1\t2.5\tGreat movie!\r\n1_2\t-0.2\tMeh.\n"),
            write(
                d.path(),
                "n.jsonl",
                concat!(
                    "{\"sentence\":\"A hit B.\",\"mention\":\"A\",\"from\":0,\"to\":1,\"polarity\":-1}\n",
                    "{\"sentence\":\"C won.\",\"mention\":\"C\",\"from\":0,\"to\":1,\"polarity\":1}\n",
                    "{\"sentence\":\"A hit B.\",\"mention\":\"B\",\"from\":6,\"to\":7,\"polarity\":-1}\n",
                ),
            ),
            write(d.path(), "s.tsv", "sentence\tlabel\na dull film\t0\na fine film\t1\n"),
            write(d.path(), "c.csv", "id,text,label\n1,\"Hello,\nworld\",positive\n2,Bad,-0.8\n"),
            write(d.path(), "t.tsv", "id\ttext\tlabel\n1\tThreat.\t-1\n"),
            write(d.path(), "j.jsonl", "{\"text\":\"Talks resumed.\",\"label\":1,\"quad\":\"verbal_cooperation\"}\n"),
        ];
        for f in &files {
            let bench: Vec<Example> = Suite::from_path(f)
                .open()
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            assert!(!bench.is_empty(), "{}", f.display());
            assert_eq!(training_rows(f), bench, "{}", f.display());
        }
        let sst2: Vec<Label> = training_rows(&files[2]).iter().map(|e| e.label).collect();
        assert_eq!(sst2, [Label::Negative, Label::Positive]);
        assert_eq!(
            training_rows(&files[1]).len(),
            2,
            "one row per sentence, wherever its targets are"
        );
    }

    #[test]
    fn manifest_paths_are_relative_to_the_manifest() {
        let d = tempfile::tempdir().unwrap();
        let m = write(
            d.path(),
            "suites.toml",
            "[[suite]]\nname = \"x\"\nformat = \"newsmtsc-targets\"\npath = \"sub/x.jsonl\"\n",
        );
        let suites = read_manifest(&m).unwrap();
        assert_eq!(suites[0].path, d.path().join("sub/x.jsonl"));
        assert_eq!(suites[0].format, Format::NewsmtscTargets);
    }
}
