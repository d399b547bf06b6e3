//! Ingest: the first pipeline stage. Reads articles from text files, directories, JSONL and
//! stdin (or raw lines, for evaluation and pipes) into [`Article`]s. A bad input becomes an
//! [`InputError`] naming it; the good inputs are returned all the same.

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;

use crate::error::InputError;

/// How to read an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum InputMode {
    /// By extension: `.jsonl`/`.ndjson` are JSONL, everything else a text article; stdin is
    /// sniffed (JSONL if its first non-blank character is `{`).
    #[default]
    Auto,
    /// A text article; the first line may begin `date YYYY-MM-DD`.
    Text,
    /// One JSON article per line: `id`, `date`, optional `title`, `text`.
    Jsonl,
    /// Each line is one unit to score, never re-segmented; one output row per line.
    Lines,
    /// JSONL, one target per line: `text` plus `from`/`to` (character offsets) or `mention`;
    /// one row per line with the tone toward that target.
    Targets,
}

/// How an article's text is cut into units to score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Prose: the segmenter finds the sentences.
    Prose,
    /// Every line is one unit (`--input lines`).
    Lines,
}

/// One article (or, in lines mode, one file of lines).
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// Stable id, unique within one run: the JSONL `id` (or `file:line` without one), the file
    /// stem for text files, or the file's path when two files of a run share a stem.
    pub id: String,
    /// Where it came from: a path, `path:line` for JSONL, or `-` for stdin.
    pub source: String,
    /// Publication date; `None` means undated.
    pub date: Option<NaiveDate>,
    pub title: Option<String>,
    /// The body; sentence offsets point into this string (in chars).
    pub text: String,
    pub layout: Layout,
}

/// The result of reading a set of inputs: articles in input order, the inputs that failed, and
/// notes on what was skipped or renamed (not failures).
#[derive(Debug, Default)]
pub struct Ingested {
    pub articles: Vec<Article>,
    pub errors: Vec<InputError>,
    /// Skipped directory entries (dead links, FIFOs, symlink loops) and disambiguated ids.
    pub notes: Vec<String>,
}

/// Reads every input (`-` is stdin; directories are walked recursively in sorted order).
pub fn read_inputs(inputs: &[String], mode: InputMode) -> Ingested {
    let mut out = Ingested::default();
    for input in inputs {
        if input == "-" {
            match read_stdin() {
                Ok(bytes) => parse_bytes("-", &bytes, mode, true, &mut out),
                Err(e) => out.errors.push(e),
            }
            continue;
        }
        let path = Path::new(input);
        if path.is_dir() {
            let files = walk(path, &mut out);
            if files.is_empty() {
                out.errors.push(InputError::Empty {
                    source_name: format!("{input} (directory with no files)"),
                });
            }
            for f in files {
                read_file(&f, mode, &mut out);
            }
        } else {
            read_file(path, mode, &mut out);
        }
    }
    make_ids_unique(&mut out);
    out
}

/// Two text files with the same stem (`x/report.txt`, `y/report.txt`) get their paths as ids;
/// a JSONL id used twice is reported and the later article gets `id@source`.
fn make_ids_unique(out: &mut Ingested) {
    use std::collections::HashMap;
    let mut count: HashMap<&str, usize> = HashMap::new();
    for a in &out.articles {
        *count.entry(a.id.as_str()).or_default() += 1;
    }
    let shared: std::collections::HashSet<String> = count
        .into_iter()
        .filter(|&(_, n)| n > 1)
        .map(|(id, _)| id.to_string())
        .collect();
    let mut seen = std::collections::HashSet::new();
    for a in &mut out.articles {
        if !shared.contains(&a.id) {
            continue;
        }
        if !a.source.contains(':') || a.source.starts_with('-') {
            a.id = a.source.clone();
        } else if !seen.insert(a.id.clone()) {
            out.notes.push(format!(
                "{}: id {:?} was already used in this run; this article is kept apart as {:?}",
                a.source,
                a.id,
                format!("{}@{}", a.id, a.source)
            ));
            a.id = format!("{}@{}", a.id, a.source);
        }
    }
}

fn read_stdin() -> Result<Vec<u8>, InputError> {
    let mut buf = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut buf)
        .map_err(|e| io_error("-", e))?;
    Ok(buf)
}

fn io_error(name: &str, error: std::io::Error) -> InputError {
    if error.kind() == std::io::ErrorKind::NotFound {
        InputError::NotFound {
            source_name: name.to_string(),
        }
    } else {
        InputError::Io {
            source_name: name.to_string(),
            error,
        }
    }
}

/// Regular, non-hidden files under `dir`, recursively, sorted by path; each real file once
/// (symlinked directories are followed once, loops are named). An unreadable entry becomes an
/// error naming it; dead links, FIFOs and other special files are named as skipped.
fn walk(dir: &Path, out: &mut Ingested) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut seen_dirs = std::collections::HashSet::new();
    let mut seen_files = std::collections::HashSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        match std::fs::canonicalize(&d) {
            Ok(real) if !seen_dirs.insert(real.clone()) => {
                out.notes.push(format!(
                    "{}: skipped, a link back to {} (directory loop)",
                    d.display(),
                    real.display()
                ));
                continue;
            }
            _ => {}
        }
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) => {
                out.errors.push(io_error(&d.display().to_string(), e));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    out.errors.push(io_error(&d.display().to_string(), e));
                    continue;
                }
            };
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            match std::fs::metadata(&path) {
                Ok(m) if m.is_dir() => stack.push(path),
                Ok(m) if m.is_file() => {
                    let real = std::fs::canonicalize(&path).unwrap_or(path.clone());
                    if seen_files.insert(real) {
                        files.push(path);
                    }
                }
                Ok(_) => out.notes.push(format!(
                    "{}: skipped, not a regular file (FIFO, socket or device)",
                    path.display()
                )),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => out
                    .notes
                    .push(format!("{}: skipped, a link to nothing", path.display())),
                Err(e) => out.errors.push(io_error(&path.display().to_string(), e)),
            }
        }
    }
    files.sort();
    files
}

fn read_file(path: &Path, mode: InputMode, out: &mut Ingested) {
    let name = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => parse_bytes(&name, &bytes, mode, false, out),
        Err(e) => out.errors.push(io_error(&name, e)),
    }
}

fn is_jsonl_path(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".jsonl") || lower.ends_with(".ndjson")
}

/// Parses the bytes of one input (a file or stdin) and appends its articles or its error.
pub fn parse_bytes(name: &str, bytes: &[u8], mode: InputMode, stdin: bool, out: &mut Ingested) {
    let text = match decode(name, bytes) {
        Ok(t) => t,
        Err(e) => {
            out.errors.push(e);
            return;
        }
    };
    let mode = match mode {
        InputMode::Auto if stdin => {
            if text.trim_start().starts_with('{') {
                InputMode::Jsonl
            } else {
                InputMode::Text
            }
        }
        InputMode::Auto if is_jsonl_path(name) => InputMode::Jsonl,
        InputMode::Auto => InputMode::Text,
        m => m,
    };
    match mode {
        InputMode::Jsonl => parse_jsonl(name, &text, out),
        InputMode::Lines | InputMode::Targets => out.articles.push(Article {
            id: article_id(name),
            source: name.to_string(),
            date: None,
            title: None,
            text,
            layout: Layout::Lines,
        }),
        _ => match parse_text_article(name, &text) {
            Ok(a) => out.articles.push(a),
            Err(e) => out.errors.push(e),
        },
    }
}

/// Checks for binary content and invalid UTF-8; strips a UTF-8 byte-order mark.
fn decode(name: &str, bytes: &[u8]) -> Result<String, InputError> {
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        return Err(InputError::Binary {
            source_name: name.to_string(),
            offset,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => Err(InputError::InvalidUtf8 {
            source_name: name.to_string(),
            offset: e.valid_up_to(),
        }),
    }
}

fn article_id(name: &str) -> String {
    if name == "-" {
        return "stdin".to_string();
    }
    Path::new(name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_string())
}

/// Parses a date written `YYYY-MM-DD`, or an RFC 3339 timestamp whose date part is used.
pub fn parse_date(value: &str) -> Result<NaiveDate, String> {
    let v = value.trim();
    let day = if v.len() > 10 && v.is_char_boundary(10) && v.as_bytes()[10] == b'T' {
        &v[..10]
    } else {
        v
    };
    NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|e| e.to_string())
}

/// A text article: optional `date YYYY-MM-DD` at the start of the first line, then the body
/// (which may continue on the same line).
pub fn parse_text_article(name: &str, text: &str) -> Result<Article, InputError> {
    let trimmed = text.trim_start();
    let mut date = None;
    let mut body = trimmed;
    // Only `date` followed by a number is a header (a malformed one is an error):
    // "date night was cancelled" is an undated body.
    let header = trimmed.strip_prefix("date ").filter(|rest| {
        rest.trim_start_matches([' ', '\t'])
            .starts_with(|c: char| c.is_ascii_digit())
    });
    if let Some(rest) = header {
        let rest = rest.trim_start_matches([' ', '\t']);
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let value = &rest[..end];
        date = Some(parse_date(value).map_err(|reason| InputError::BadDate {
            source_name: name.to_string(),
            value: value.to_string(),
            reason,
        })?);
        body = rest[end..].trim_start();
    }
    let body = body.trim_end();
    if body.is_empty() {
        return Err(InputError::Empty {
            source_name: name.to_string(),
        });
    }
    Ok(Article {
        id: article_id(name),
        source: name.to_string(),
        date,
        title: None,
        text: body.to_string(),
        layout: Layout::Prose,
    })
}

#[derive(Deserialize)]
struct JsonArticle {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    title: Option<String>,
    text: String,
}

fn parse_jsonl(name: &str, text: &str, out: &mut Ingested) {
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let where_ = format!("{name}:{}", i + 1);
        match parse_jsonl_line(&where_, line) {
            Ok(a) => out.articles.push(a),
            Err(e) => out.errors.push(e),
        }
    }
}

fn parse_jsonl_line(where_: &str, line: &str) -> Result<Article, InputError> {
    let row: JsonArticle = serde_json::from_str(line).map_err(|e| InputError::Json {
        source_name: where_.to_string(),
        reason: format!(
            "{e}; each line must be an object with \"text\" and optional \"id\", \"date\", \"title\""
        ),
    })?;
    let date = match row.date.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => Some(parse_date(d).map_err(|reason| InputError::BadDate {
            source_name: where_.to_string(),
            value: d.to_string(),
            reason,
        })?),
    };
    // Offsets index the "text" field exactly as given, so it is not trimmed.
    if row.text.trim().is_empty() {
        return Err(InputError::Empty {
            source_name: where_.to_string(),
        });
    }
    let id = match row.id {
        Some(serde_json::Value::String(s)) if !s.is_empty() => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => where_.to_string(),
    };
    Ok(Article {
        id,
        source: where_.to_string(),
        date,
        title: row.title,
        text: row.text,
        layout: Layout::Prose,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: &str, bytes: &[u8], mode: InputMode) -> Ingested {
        let mut out = Ingested::default();
        parse_bytes(name, bytes, mode, false, &mut out);
        out
    }

    #[test]
    fn date_line_with_body_on_the_same_line() {
        let a = parse_text_article("a.txt", " date 2024-12-29 Kim spoke. Then left.\n").unwrap();
        assert_eq!(a.date, NaiveDate::from_ymd_opt(2024, 12, 29));
        assert_eq!(a.text, "Kim spoke. Then left.");
        assert_eq!(a.id, "a");
    }

    #[test]
    fn article_without_date_is_undated() {
        let a = parse_text_article("b.txt", "No date here.").unwrap();
        assert_eq!(a.date, None);
    }

    #[test]
    fn bad_dates_are_errors_naming_the_input() {
        for bad in ["2024-13-01", "2024-02-30", "2024", "29/12/2024"] {
            let e = parse_text_article("c.txt", &format!("date {bad} Text.")).unwrap_err();
            assert!(matches!(e, InputError::BadDate { .. }), "{bad}");
            assert!(e.to_string().contains("c.txt"), "{e}");
            assert!(e.to_string().contains("YYYY-MM-DD"), "{e}");
        }
    }

    #[test]
    fn empty_and_date_only_articles_are_errors() {
        assert!(matches!(
            parse_text_article("e.txt", "  \n "),
            Err(InputError::Empty { .. })
        ));
        assert!(matches!(
            parse_text_article("e.txt", "date 2024-01-01\n"),
            Err(InputError::Empty { .. })
        ));
    }

    #[test]
    fn binary_and_invalid_utf8_are_rejected() {
        let out = one("bin.dat", b"abc\0def", InputMode::Auto);
        assert!(matches!(
            out.errors[0],
            InputError::Binary { offset: 3, .. }
        ));
        let out = one("latin1.txt", b"caf\xe9 au lait", InputMode::Auto);
        assert!(matches!(
            out.errors[0],
            InputError::InvalidUtf8 { offset: 3, .. }
        ));
        assert!(out.errors[0].to_string().contains("latin1.txt"));
    }

    #[test]
    fn jsonl_keeps_good_lines_and_names_bad_ones() {
        let data = concat!(
            "{\"id\":\"a\",\"date\":\"2024-01-02\",\"title\":\"T\",\"text\":\"One.\"}\n",
            "not json\n",
            "\n",
            "{\"id\":7,\"text\":\"Two.\"}\n",
            "{\"id\":\"x\",\"date\":\"2024-99-01\",\"text\":\"Three.\"}\n",
            "{\"id\":\"y\",\"text\":\"  \"}\n",
            "{\"date\":\"2024-03-04T10:00:00Z\",\"text\":\"Four.\"}\n",
        );
        let out = one("in.jsonl", data.as_bytes(), InputMode::Auto);
        let ids: Vec<_> = out.articles.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["a", "7", "in.jsonl:7"]);
        assert_eq!(out.articles[0].title.as_deref(), Some("T"));
        assert_eq!(out.articles[2].date, NaiveDate::from_ymd_opt(2024, 3, 4));
        let names: Vec<_> = out.errors.iter().map(|e| e.source_name()).collect();
        assert_eq!(names, ["in.jsonl:2", "in.jsonl:5", "in.jsonl:6"]);
    }

    #[test]
    fn stdin_is_sniffed_for_jsonl() {
        let mut out = Ingested::default();
        parse_bytes(
            "-",
            b"{\"text\":\"Hi.\"}\n",
            InputMode::Auto,
            true,
            &mut out,
        );
        assert_eq!(out.articles.len(), 1);
        let mut out = Ingested::default();
        parse_bytes("-", b"date 2020-01-01 Hi.", InputMode::Auto, true, &mut out);
        assert_eq!(out.articles[0].id, "stdin");
    }

    #[test]
    fn only_a_dated_first_line_is_a_date_header() {
        for body in ["date night was cancelled.", "date yesterday was set."] {
            let a = one("x.txt", body.as_bytes(), InputMode::Text);
            assert_eq!(a.articles[0].date, None);
            assert_eq!(a.articles[0].text, body);
        }
    }

    #[test]
    fn a_nul_byte_anywhere_marks_a_binary_file() {
        let mut bytes = vec![b'a'; 100_000];
        bytes.push(0);
        assert!(matches!(
            one("x.txt", &bytes, InputMode::Text).errors[..],
            [InputError::Binary { .. }]
        ));
    }

    #[test]
    fn files_with_the_same_stem_stay_apart_and_duplicate_ids_are_noted() {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["x", "y"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
            std::fs::write(dir.path().join(sub).join("report.txt"), "A sentence.").unwrap();
        }
        let jsonl = dir.path().join("z.jsonl");
        std::fs::write(
            &jsonl,
            "{\"id\":\"a\",\"text\":\"One.\"}\n{\"id\":\"a\",\"text\":\"Two.\"}\n",
        )
        .unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        let got = read_inputs(&[d], InputMode::Auto);
        let ids: Vec<&str> = got.articles.iter().map(|a| a.id.as_str()).collect();
        let unique: std::collections::HashSet<&&str> = ids.iter().collect();
        assert_eq!(unique.len(), 4, "{ids:?}");
        assert!(ids.iter().any(|i| i.ends_with("x/report.txt")), "{ids:?}");
        assert_eq!(got.notes.len(), 1, "{:?}", got.notes);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_loop_is_walked_once_and_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a.txt"), "A.").unwrap();
        std::fs::write(dir.path().join("b.txt"), "B.").unwrap();
        std::os::unix::fs::symlink("..", dir.path().join("sub/loop")).unwrap();
        std::os::unix::fs::symlink("nowhere", dir.path().join("dead.txt")).unwrap();
        let got = read_inputs(&[dir.path().to_str().unwrap().to_string()], InputMode::Auto);
        assert_eq!(got.articles.len(), 2);
        assert!(got.errors.is_empty(), "{:?}", got.errors);
        assert!(
            got.notes.iter().any(|n| n.contains("loop")),
            "{:?}",
            got.notes
        );
        assert!(
            got.notes.iter().any(|n| n.contains("dead.txt")),
            "{:?}",
            got.notes
        );
    }

    #[test]
    fn lines_mode_keeps_the_whole_text() {
        let out = one("l.txt", b"a\n\nb\n", InputMode::Lines);
        assert_eq!(out.articles[0].layout, Layout::Lines);
        assert_eq!(out.articles[0].text, "a\n\nb\n");
    }

    #[test]
    fn directories_are_walked_sorted_and_missing_files_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("b.txt"), "B.").unwrap();
        std::fs::write(dir.path().join("sub/a.txt"), "A.").unwrap();
        std::fs::write(dir.path().join(".hidden"), "H.").unwrap();
        let missing = dir.path().join("nope.txt").display().to_string();
        let out = read_inputs(
            &[dir.path().display().to_string(), missing.clone()],
            InputMode::Auto,
        );
        let texts: Vec<_> = out.articles.iter().map(|a| a.text.as_str()).collect();
        assert_eq!(texts, ["B.", "A."]);
        assert!(
            matches!(&out.errors[0], InputError::NotFound { source_name } if *source_name == missing)
        );
    }
}

/// One target to score from `--input targets`.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetInput {
    pub source: String,
    pub index: usize,
    pub id: Option<String>,
    pub text: String,
    pub from: usize,
    pub to: usize,
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
