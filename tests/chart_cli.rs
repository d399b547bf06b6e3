//! `rhetor chart` on the example corpus: terminal chart within 80 columns with a legend, SVG
//! with lines and confidence bands, and a self-contained HTML report with evidence.

mod common;

use common::*;

/// `rhetor chart --articles examples/corpus ARGS` run in `dir`.
fn chart_corpus(dir: &std::path::Path, args: &[&str]) -> Run {
    let corpus = root().join("examples/corpus");
    let mut all = vec!["chart", "--articles", corpus.to_str().unwrap()];
    all.extend_from_slice(args);
    rhetor(&all, None, dir)
}

#[test]
fn chart_of_the_example_corpus_in_terminal_svg_and_html() {
    let t = tempfile::tempdir().unwrap();
    let run = chart_corpus(
        t.path(),
        &["--period", "quarter", "--svg", "r.svg", "--html", "r.html"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for line in run.stdout.lines() {
        assert!(
            line.chars().count() <= 80,
            "wider than 80 columns: {line:?}"
        );
    }
    assert!(
        run.stdout.contains("A kim-jong-un"),
        "legend: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains("2018-Q1") && run.stdout.contains("2020-Q4"),
        "{}",
        run.stdout
    );
    let svg = std::fs::read_to_string(t.path().join("r.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(
        svg.contains("<polyline") && svg.contains("<polygon"),
        "lines and bands"
    );
    assert!(svg.contains(">2018-Q2<") && svg.contains(">kim-jong-un<"));
    let html = std::fs::read_to_string(t.path().join("r.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Dyads") && html.contains("kim-jong-un"));
    assert!(html.contains("Singapore"), "evidence sentences are quoted");
    let external =
        html.matches("http").count() - html.matches("http://www.w3.org/2000/svg").count();
    assert_eq!(external, 0, "the report is self-contained");
}

#[test]
fn chart_reads_score_jsonl_and_charts_targets() {
    let corpus = root().join("examples/corpus");
    let scored = rhetor(
        &["score", "--quiet", corpus.to_str().unwrap()],
        None,
        &root(),
    );
    let run = rhetor(
        &[
            "chart",
            "-",
            "--by",
            "target",
            "--actor",
            "united-states",
            "--period",
            "year",
        ],
        Some(scored.stdout.as_bytes()),
        &root(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("rhetoric toward actor over time"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("A united-states"));
}

#[test]
fn chart_plots_quad_shares_and_the_report_shows_the_quad_mix() {
    let t = tempfile::tempdir().unwrap();
    let run = chart_corpus(
        t.path(),
        &[
            "--period", "year", "--metric", "conflict", "--svg", "c.svg", "--html", "c.html",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("share of conflict") && run.stdout.contains("100%"),
        "{}",
        run.stdout
    );
    let svg = std::fs::read_to_string(t.path().join("c.svg")).unwrap();
    assert!(svg.contains("share of sentences") && svg.contains("<polyline"));
    assert!(
        !svg.contains("<polygon"),
        "shares are drawn without tone bands"
    );
    let html = std::fs::read_to_string(t.path().join("c.html")).unwrap();
    assert!(html.contains("quad: "), "every point lists its quad mix");
}

#[test]
fn an_unknown_actor_is_warned_about_with_the_closest_ids_and_single_points_show_no_ci() {
    let rows = root().join("tests/fixtures/aggregate_rows.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("c.svg");
    let run = rhetor(
        &[
            "chart",
            rows.to_str().unwrap(),
            "--actor",
            "kim-jong-u",
            "--actor",
            "donald-trump",
            "--actor",
            "zzzz",
            "--svg",
            svg.to_str().unwrap(),
        ],
        None,
        &root(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no sentence names actor `kim-jong-u` as speaker: did you mean kim-jong-un?"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("actor `zzzz` as speaker: `rhetor aggregate` lists"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("`donald-trump`"), "{}", run.stderr);
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.contains("single unit: no CI"), "{svg}");
}
