//! `rhetor bench` end to end: two models on the bundled suite and a suite file, with reports.

mod common;

use common::*;

#[test]
fn bench_compares_two_models_and_writes_reports() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("mine.tsv"),
        "id\ttone\ttext\n1\t-2\tThey vowed to destroy the enemy.\n2\t2\tA wonderful, historic friendship.\n3\t0\tThe envoy arrived on Monday.\n",
    )
    .unwrap();
    let mut suite_file = std::fs::read_to_string(root().join("benches/suites.toml")).unwrap();
    suite_file = suite_file.replace(
        "path = \"suites/",
        &format!("path = \"{}/benches/suites/", root().display()),
    );
    suite_file += "\n[[suite]]\nname = \"mine\"\nformat = \"tsv\"\npath = \"mine.tsv\"\nlabel_column = \"tone\"\nscale = 2.0\n\n[[suite]]\nname = \"absent\"\nformat = \"vader\"\npath = \"nope.txt\"\n";
    std::fs::write(t.path().join("suites.toml"), suite_file).unwrap();
    let run = rhetor(
        &[
            "bench",
            "--quiet",
            "--suites",
            "suites.toml",
            "--model",
            "vader",
            "--model",
            "rhetor-tone-minilm",
            "--suite",
            "world-rhetoric",
            "--suite",
            "mine",
            "--suite",
            "absent",
            "--report-json",
            "r.json",
            "--report-md",
            "r.md",
        ],
        None,
        t.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("skipped: absent"), "{}", run.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(t.path().join("r.json")).unwrap()).unwrap();
    let outcomes = report["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 4, "2 models × 2 suites");
    for o in outcomes {
        assert!(o["rows"].as_u64().unwrap() >= 3);
        assert!(o["pearson"].as_f64().is_some(), "{o}");
        assert!(o["sentences_per_sec"].as_f64().unwrap() > 0.0);
    }
    let wr: Vec<&serde_json::Value> = outcomes
        .iter()
        .filter(|o| o["suite"] == "world-rhetoric")
        .collect();
    assert_eq!(wr[0]["rows"], 300);
    assert!(report["machine"]["cores"].as_u64().unwrap() >= 1);
    assert!(report["peak_rss_mib"].as_f64().unwrap() > 0.0);
    let md = std::fs::read_to_string(t.path().join("r.md")).unwrap();
    assert!(md.contains("| world-rhetoric") && md.contains("rhetor-tone-minilm"));
}

#[test]
fn unknown_suite_is_a_usage_error() {
    let run = rhetor(
        &["bench", "--model", "vader", "--suite", "no-such-suite"],
        None,
        &root(),
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no-such-suite") && run.stderr.contains("world-rhetoric"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_nan_rating_or_an_empty_suite_is_named_and_the_other_suites_still_report() {
    let t = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(t.path().join(name), text).unwrap();
    write(
        "good.txt",
        "1\t-2.5\tThey vowed to destroy the enemy.\n2\t3.1\tA wonderful, historic friendship.\n",
    );
    write(
        "nan.txt",
        "1\t1.5\tFine words.\n2\tNaN\tNo rating at all.\n",
    );
    write("empty.csv", "\n\n");
    let run = rhetor(
        &[
            "bench",
            "--quiet",
            "--model",
            "vader",
            "--suite",
            "good.txt",
            "--suite",
            "nan.txt",
            "--suite",
            "empty.csv",
        ],
        None,
        t.path(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("good"), "{}", run.stdout);
    assert!(!run.stdout.contains("NaN"), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("nan.txt:2: rating \"NaN\" is not a finite number"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("empty.csv: the suite has no labeled rows"),
        "{}",
        run.stderr
    );
}
