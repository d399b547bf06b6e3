//! One harness for the integration tests: runs the real `rhetor` binary with the real model,
//! each test in its own temporary folder.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const SEED: &str = "000_7fe4a781f76bc1cb.txt";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared folder beside the repository (third-party data and the seed article).
pub fn shared(rel: &str) -> PathBuf {
    let p = root().join("../shared").join(rel);
    assert!(
        p.exists(),
        "this test needs {} (the project's shared data, expected beside the repository as ../shared); it is missing",
        p.display()
    );
    p
}

pub fn seed() -> PathBuf {
    shared(&format!("seeds/{SEED}"))
}

/// Fails with the setup command when the base encoder is not installed.
pub fn require_setup() {
    let base = root().join("models/all-minilm-l6-v2/model.safetensors");
    assert!(
        base.is_file(),
        "the base encoder is not installed ({}): run scripts/setup.sh",
        base.display()
    );
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The JSONL rows of stdout.
    pub fn rows(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSONL row {l:?}: {e}")))
            .collect()
    }
}

pub fn rhetor(args: &[&str], stdin: Option<&[u8]>, cwd: &Path) -> Run {
    rhetor_env(args, stdin, cwd, &[])
}

/// Like [`rhetor`], with extra environment variables.
pub fn rhetor_env(args: &[&str], stdin: Option<&[u8]>, cwd: &Path, env: &[(&str, &Path)]) -> Run {
    require_setup();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rhetor"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args)
        .current_dir(cwd)
        .env("RHETOR_MODELS", root().join("models"))
        .env_remove("COLUMNS")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run the rhetor binary");
    if let Some(data) = stdin {
        let mut si = child.stdin.take().expect("stdin");
        si.write_all(data).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait for rhetor");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "rhetor panicked: {}",
        run.stderr
    );
    run
}

/// Runs `rhetor score ARGS` in a fresh temporary folder holding `files`.
pub fn score(files: &[(&str, &[u8])], args: &[&str]) -> (Run, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, data) in files {
        let p = dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, data).expect("write fixture");
    }
    let mut all = vec!["score", "--quiet"];
    all.extend_from_slice(args);
    let run = rhetor(&all, None, dir.path());
    (run, dir)
}

/// Finds the row whose text contains `needle`.
pub fn row_with<'a>(rows: &'a [serde_json::Value], needle: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["text"].as_str().is_some_and(|t| t.contains(needle)))
        .unwrap_or_else(|| panic!("no row contains {needle:?}"))
}

/// Scores the seed article (../shared/seeds) and returns its rows; the run must succeed.
#[allow(dead_code)]
pub fn score_seed() -> Vec<serde_json::Value> {
    let run = rhetor(
        &["score", "--quiet", seed().to_str().unwrap()],
        None,
        &root(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.rows()
}

/// The target model's tones for `(sentence, first mention, second mention)` triples, as
/// `[first, second]` pairs in order (through `rhetor score --input targets`).
#[allow(dead_code)]
pub fn pair_tones(pairs: &[(&str, &str, &str)]) -> Vec<[f64; 2]> {
    let mut input = String::new();
    for (text, a, b) in pairs {
        for m in [a, b] {
            input += &serde_json::json!({"text": text, "mention": m}).to_string();
            input.push('\n');
        }
    }
    let run = rhetor(
        &["score", "--quiet", "--input", "targets", "-"],
        Some(input.as_bytes()),
        &root(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let tones: Vec<f64> = run
        .rows()
        .iter()
        .map(|r| r["tone"].as_f64().unwrap())
        .collect();
    tones.chunks(2).map(|p| [p[0], p[1]]).collect()
}
