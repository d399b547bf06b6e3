//! The Spark recipe (scale/) in local mode: the job scores examples/corpus/ through
//! `rhetor score` (one process per partition), and its rows and its Spark-computed aggregates
//! equal plain `rhetor score` and `rhetor aggregate` (month and week, sentence and article
//! weight, on the corpus and on synthetic corner-case rows). The first run installs pyspark
//! from PyPI into .deps/spark-venv (pinned by hash in scale/requirements.txt).

mod common;

use std::process::Command;

#[test]
fn spark_job_rows_and_aggregates_equal_rhetor_score_and_aggregate() {
    common::require_setup();
    if Command::new("java").arg("-version").output().is_err() {
        eprintln!("skipped: Spark needs Java and no `java` is on PATH (scale/run_local.sh says how to get it)");
        return;
    }
    let out = tempfile::tempdir().expect("temp dir");
    let run = Command::new("bash")
        .arg(common::root().join("scale/run_local.sh"))
        .args(["--check", "--out"])
        .arg(out.path())
        .current_dir(common::root())
        .env("RHETOR_BIN", env!("CARGO_BIN_EXE_rhetor"))
        .env("RHETOR_MODELS", common::root().join("models"))
        .output()
        .expect("run scale/run_local.sh");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("rows scored on Spark equal plain `rhetor score`"),
        "{stdout}"
    );
    for period in ["month", "week"] {
        for weight in ["sentence", "article"] {
            for data in ["corpus", "synthetic"] {
                let line = format!("check: passed: {data} period={period} weight={weight}:");
                assert!(stdout.contains(&line), "missing {line:?} in\n{stdout}");
            }
        }
    }
    assert!(stdout.contains("check: all passed"), "{stdout}");
}
