//! Ingest: the first pipeline stage. Reads articles from text files, directories, JSONL and
//! stdin (or raw lines, for evaluation and pipes) into [`Article`]s. A bad input becomes an
//! [`InputError`] naming it; the good inputs are returned all the same.

use std::io::{BufRead, Read};

mod targets;
use std::path::{Path, PathBuf};
pub use targets::{parse_targets, read_target_input, TargetInput};

use chrono::NaiveDate;
use serde::Deserialize;

use crate::error::InputError;

/// The byte that opens a JSON object: a JSONL article line starts with it.
pub(crate) const JSON_OPEN: u8 = b'{';

/// How to read an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
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
    /// The headline, if any (the JSONL `title`; text files and lines have none).
    pub title: Option<String>,
    /// The body; sentence offsets point into this string (in chars).
    pub text: String,
    /// Whether the body is prose to segment or one unit per line.
    pub layout: Layout,
}

/// The result of reading a set of inputs: articles in input order, the inputs that failed, and
/// notes on what was skipped or renamed (not failures).
#[derive(Debug, Default)]
pub struct Ingested {
    /// The articles read, in input order.
    pub articles: Vec<Article>,
    /// One error per input (file, directory entry, `file:line`) that could not be read.
    pub errors: Vec<InputError>,
    /// Skipped directory entries (dead links, FIFOs, symlink loops) and disambiguated ids.
    pub notes: Vec<String>,
}

/// What reading the inputs yields, one item at a time and in input order.
#[derive(Debug)]
pub enum Item {
    /// An article read, its id already unique within the run.
    Article(Article),
    /// An input (file, directory entry, `file:line`) that could not be read; the others go on.
    Error(InputError),
    /// Something skipped or renamed on purpose: a directory loop, a FIFO, a dead link, an id
    /// already used in this run.
    Note(String),
}

/// Reads every input (`-` is stdin; directories are walked recursively in sorted order) into
/// one [`Ingested`]. Use [`for_each_input`] to handle articles as they are read instead.
pub fn read_inputs(inputs: &[String], mode: InputMode) -> Ingested {
    let mut out = Ingested::default();
    let _ = for_each_input::<std::convert::Infallible>(inputs, mode, &mut |item| {
        out.add(item);
        Ok(())
    });
    out
}

impl Ingested {
    /// Files one item under articles, errors or notes.
    pub fn add(&mut self, item: Item) {
        match item {
            Item::Article(a) => self.articles.push(a),
            Item::Error(e) => self.errors.push(e),
            Item::Note(n) => self.notes.push(n),
        }
    }
}

/// Streams the inputs to `f` as they are read: each text file is read whole, JSONL files
/// and stdin line by line, so memory does not grow with the number of articles. Directories
/// are walked first (their file lists are small). Article ids are unique within the run:
/// text files are known by their stem unless two share it (then by their path), and a JSONL
/// `id` already used is kept apart as `id@file:line`, with a note. Stops at the first error
/// `f` returns.
pub fn for_each_input<E>(
    inputs: &[String],
    mode: InputMode,
    f: &mut dyn FnMut(Item) -> Result<(), E>,
) -> Result<(), E> {
    let mut sources: Vec<Option<PathBuf>> = Vec::new();
    for input in inputs {
        let path = Path::new(input);
        if input == "-" {
            sources.push(None);
        } else if path.is_dir() {
            let (files, items) = walk(path);
            for item in items {
                f(item)?;
            }
            if files.is_empty() {
                f(Item::Error(InputError::Empty {
                    source_name: format!("{input} (directory with no files)"),
                }))?;
            }
            sources.extend(files.into_iter().map(Some));
        } else {
            sources.push(Some(path.to_path_buf()));
        }
    }
    let shared = shared_stems(&sources, mode);
    let mut seen = std::collections::HashSet::new();
    let mut emit = |item: Item| -> Result<(), E> {
        let Item::Article(mut a) = item else {
            return f(item);
        };
        if shared.contains(&a.id) && !a.source.contains(':') {
            a.id = a.source.clone();
        }
        if !seen.insert(a.id.clone()) {
            let apart = format!("{}@{}", a.id, a.source);
            f(Item::Note(format!(
                "{}: id {:?} was already used in this run; this article is kept apart as {apart:?}",
                a.source, a.id
            )))?;
            seen.insert(apart.clone());
            a.id = apart;
        }
        f(Item::Article(a))
    };
    for source in &sources {
        match source {
            None => read_stdin_articles(mode, &mut emit)?,
            Some(p) => read_file(p, mode, &mut emit)?,
        }
    }
    Ok(())
}

/// Stems shared by two or more non-JSONL files: those articles are known by their path.
fn shared_stems(sources: &[Option<PathBuf>], mode: InputMode) -> std::collections::HashSet<String> {
    let mut count: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for p in sources.iter().flatten() {
        let name = p.display().to_string();
        if !is_jsonl(&name, mode) {
            *count.entry(article_id(&name)).or_default() += 1;
        }
    }
    count
        .into_iter()
        .filter(|&(_, n)| n > 1)
        .map(|(s, _)| s)
        .collect()
}

pub(crate) fn read_stdin() -> Result<Vec<u8>, InputError> {
    let mut buf = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut buf)
        .map_err(|e| io_error("-", e))?;
    Ok(buf)
}

/// stdin: JSONL (line by line) if its first non-blank byte is `{` in auto mode, else one
/// article read whole.
fn read_stdin_articles<E>(
    mode: InputMode,
    emit: &mut dyn FnMut(Item) -> Result<(), E>,
) -> Result<(), E> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let jsonl = match mode {
        InputMode::Jsonl => true,
        InputMode::Auto => match first_non_blank(&mut input) {
            Ok(b) => b == Some(JSON_OPEN),
            Err(e) => return emit(Item::Error(io_error("-", e))),
        },
        _ => false,
    };
    if jsonl {
        return read_jsonl("-", &mut input, emit);
    }
    let mut bytes = Vec::new();
    if let Err(e) = input.read_to_end(&mut bytes) {
        return emit(Item::Error(io_error("-", e)));
    }
    parse_whole("-", &bytes, mode, emit)
}

/// Skips leading whitespace of `r` without consuming anything else; returns the next byte.
fn first_non_blank(r: &mut dyn BufRead) -> std::io::Result<Option<u8>> {
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => return Ok(Some(buf[i])),
            None => {
                let n = buf.len();
                r.consume(n);
            }
        }
    }
}

pub(crate) fn io_error(name: &str, error: std::io::Error) -> InputError {
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

/// The regular files under `dir` (sorted, each real file once), and the notes and errors of
/// the walk: loops, dead links, FIFOs and unreadable entries are named and skipped.
fn walk(dir: &Path) -> (Vec<PathBuf>, Vec<Item>) {
    let mut files = Vec::new();
    let mut items = Vec::new();
    let mut seen_dirs = std::collections::HashSet::new();
    let mut seen_files = std::collections::HashSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        match std::fs::canonicalize(&d) {
            Ok(real) if !seen_dirs.insert(real.clone()) => {
                items.push(Item::Note(format!(
                    "{}: skipped, a link back to {} (directory loop)",
                    d.display(),
                    real.display()
                )));
                continue;
            }
            _ => {}
        }
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) => {
                items.push(Item::Error(io_error(&d.display().to_string(), e)));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    items.push(Item::Error(io_error(&d.display().to_string(), e)));
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
                Ok(_) => items.push(Item::Note(format!(
                    "{}: skipped, not a regular file (FIFO, socket or device)",
                    path.display()
                ))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => items.push(Item::Note(
                    format!("{}: skipped, a link to nothing", path.display()),
                )),
                Err(e) => items.push(Item::Error(io_error(&path.display().to_string(), e))),
            }
        }
    }
    files.sort();
    (files, items)
}

fn read_file<E>(
    path: &Path,
    mode: InputMode,
    emit: &mut dyn FnMut(Item) -> Result<(), E>,
) -> Result<(), E> {
    let name = path.display().to_string();
    if is_jsonl(&name, mode) {
        return match std::fs::File::open(path) {
            Ok(f) => read_jsonl(&name, &mut std::io::BufReader::new(f), emit),
            Err(e) => emit(Item::Error(io_error(&name, e))),
        };
    }
    match std::fs::read(path) {
        Ok(bytes) => parse_whole(&name, &bytes, mode, emit),
        Err(e) => emit(Item::Error(io_error(&name, e))),
    }
}

fn is_jsonl(name: &str, mode: InputMode) -> bool {
    let lower = name.to_ascii_lowercase();
    mode == InputMode::Jsonl
        || (mode == InputMode::Auto && (lower.ends_with(".jsonl") || lower.ends_with(".ndjson")))
}

/// Parses the bytes of one whole input: stdin sniffed for JSONL in auto mode, a `.jsonl` name
/// read as JSONL, anything else one text article (or, in lines mode, one article of lines).
pub fn parse_bytes<E>(
    name: &str,
    bytes: &[u8],
    mode: InputMode,
    stdin: bool,
    emit: &mut dyn FnMut(Item) -> Result<(), E>,
) -> Result<(), E> {
    let sniffed = stdin
        && mode == InputMode::Auto
        && bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&JSON_OPEN);
    if sniffed || is_jsonl(name, mode) {
        return read_jsonl(name, &mut &bytes[..], emit);
    }
    parse_whole(name, bytes, mode, emit)
}

/// One text article, or in lines/targets mode one article of lines.
fn parse_whole<E>(
    name: &str,
    bytes: &[u8],
    mode: InputMode,
    emit: &mut dyn FnMut(Item) -> Result<(), E>,
) -> Result<(), E> {
    let text = match decode(name, bytes) {
        Ok(t) => t,
        Err(e) => return emit(Item::Error(e)),
    };
    emit(match mode {
        InputMode::Lines | InputMode::Targets => Item::Article(Article {
            id: article_id(name),
            source: name.to_string(),
            date: None,
            title: None,
            text,
            layout: Layout::Lines,
        }),
        _ => match parse_text_article(name, &text) {
            Ok(a) => Item::Article(a),
            Err(e) => Item::Error(e),
        },
    })
}

/// Reads JSONL line by line (one article per line); a bad line is an error naming
/// `name:line` and reading goes on. A NUL byte on the first line marks a binary file (one
/// error, not one per line).
fn read_jsonl<E>(
    name: &str,
    input: &mut dyn BufRead,
    emit: &mut dyn FnMut(Item) -> Result<(), E>,
) -> Result<(), E> {
    let mut buf = Vec::new();
    let mut line = 0usize;
    loop {
        buf.clear();
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => line += 1,
            Err(e) => return emit(Item::Error(io_error(name, e))),
        }
        let where_ = format!("{name}:{line}");
        if line == 1 && buf.contains(&0) {
            return emit(Item::Error(InputError::Binary {
                source_name: name.to_string(),
                offset: buf.iter().position(|&b| b == 0).unwrap_or(0),
            }));
        }
        let text = match decode(&where_, &buf) {
            Ok(t) => t,
            Err(e) => {
                emit(Item::Error(e))?;
                continue;
            }
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        emit(match parse_jsonl_line(&where_, text) {
            Ok(a) => Item::Article(a),
            Err(e) => Item::Error(e),
        })?;
    }
}

pub(crate) fn decode(name: &str, bytes: &[u8]) -> Result<String, InputError> {
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

/// The id of a file article: its stem (`-` is `stdin`).
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

    fn parse(name: &str, bytes: &[u8], mode: InputMode, stdin: bool) -> Ingested {
        let mut out = Ingested::default();
        let _ = parse_bytes::<()>(name, bytes, mode, stdin, &mut |item| {
            out.add(item);
            Ok(())
        });
        out
    }

    fn one(name: &str, bytes: &[u8], mode: InputMode) -> Ingested {
        parse(name, bytes, mode, false)
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
        let out = parse("-", b"{\"text\":\"Hi.\"}\n", InputMode::Auto, true);
        assert_eq!(out.articles.len(), 1);
        let out = parse("-", b"date 2020-01-01 Hi.", InputMode::Auto, true);
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
        let fifo = std::ffi::CString::new(dir.path().join("pipe.txt").to_str().unwrap()).unwrap();
        // SAFETY: mkfifo only creates a named pipe at a path we own.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let got = read_inputs(&[dir.path().to_str().unwrap().to_string()], InputMode::Auto);
        assert_eq!(got.articles.len(), 2);
        assert!(
            got.notes
                .iter()
                .any(|n| n.contains("pipe.txt") && n.contains("FIFO")),
            "{:?}",
            got.notes
        );
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

    #[cfg(unix)]
    #[test]
    fn an_unreadable_subdirectory_is_named_and_the_rest_read() {
        use std::os::unix::fs::PermissionsExt;
        // SAFETY: geteuid only reads the process's user id.
        if unsafe { libc::geteuid() } == 0 {
            eprintln!("skipped: root reads every directory, so none can be made unreadable");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("closed")).unwrap();
        std::fs::write(dir.path().join("closed/a.txt"), "A.").unwrap();
        std::fs::write(dir.path().join("b.txt"), "B.").unwrap();
        let closed = dir.path().join("closed");
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o000)).unwrap();
        let got = read_inputs(&[dir.path().to_str().unwrap().to_string()], InputMode::Auto);
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(got.articles.len(), 1);
        assert!(
            got.errors[0].source_name().ends_with("closed"),
            "{:?}",
            got.errors
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
