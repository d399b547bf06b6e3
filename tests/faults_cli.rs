//! Faults around the process: stdout that is a closed pipe or a full disk, and SIGINT in the
//! middle of writing an output file.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Runs `rhetor ARGS` with stdout sent to `stdout`; returns (exit code, stderr).
fn run_with_stdout(args: &[&str], stdout: Stdio) -> (i32, String) {
    require_setup();
    let out = Command::new(env!("CARGO_BIN_EXE_rhetor"))
        .args(args)
        .current_dir(root())
        .env("RHETOR_MODELS", root().join("models"))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("run rhetor");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "rhetor panicked: {stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

/// A pipe whose reading end is already closed.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe fills two descriptors; the reading end is closed at once, the writing end
    // is handed to the child (and closed in this process when the Stdio is dropped).
    unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
        libc::close(fds[0]);
        std::os::fd::FromRawFd::from_raw_fd(fds[1])
    }
}

fn commands() -> Vec<Vec<String>> {
    let rows = root().join("tests/fixtures/aggregate_rows.jsonl");
    let rows = rows.to_str().unwrap().to_string();
    vec![
        vec!["models".into()],
        vec!["chart".into(), rows.clone()],
        vec!["aggregate".into(), rows],
        vec![
            "bench".into(),
            "--quiet".into(),
            "--model".into(),
            "vader".into(),
            "--suite".into(),
            "world-rhetoric".into(),
        ],
    ]
}

#[test]
fn a_closed_stdout_pipe_ends_every_command_quietly_and_successfully() {
    for args in commands() {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stderr) = run_with_stdout(&args, closed_pipe());
        assert_eq!(code, 0, "{args:?}: {stderr}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_on_stdout_is_exit_2_with_a_message_for_every_command() {
    for args in commands() {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let (code, stderr) = run_with_stdout(&args, Stdio::from(full));
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("rhetor: error"), "{args:?}: {stderr}");
    }
}

#[test]
fn sigint_while_writing_an_output_file_leaves_no_debris() {
    require_setup();
    let dir = tempfile::tempdir().unwrap();
    let input: String = (0..4000)
        .map(|i| format!("Sentence number {i} reports that the talks went on for hours.\n"))
        .collect();
    std::fs::write(dir.path().join("in.txt"), input).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rhetor"))
        .args([
            "score",
            "--quiet",
            "--input",
            "lines",
            "--threads",
            "1",
            "-o",
            "out.jsonl",
            "in.txt",
        ])
        .current_dir(dir.path())
        .env("RHETOR_MODELS", root().join("models"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the temporary output exists (scoring has started), then interrupt.
    let started = Instant::now();
    let partial = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().ends_with(".partial"))
    };
    while !partial() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(partial(), "the run writes to a temporary file first");
    // SAFETY: kill only sends a signal to the child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "interrupted, not finished");
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        vec!["in.txt".to_string()],
        "no partial file, no output"
    );
}
