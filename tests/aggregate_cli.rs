//! `rhetor aggregate`: golden CSV/JSON exports on fixed rows, and the directions of rhetoric
//! over time on the project's example corpus (examples/corpus, 13 dated articles, 2018–2020).

mod common;

use common::*;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(root().join("tests/fixtures").join(name)).unwrap()
}

/// `rhetor aggregate` on the fixture rows by month as CSV; the run must succeed.
fn aggregate_fixture_by_month() -> Run {
    let rows = root().join("tests/fixtures/aggregate_rows.jsonl");
    let run = rhetor(
        &["aggregate", rows.to_str().unwrap(), "--period", "month"],
        None,
        &root(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    run
}

#[test]
fn csv_export_matches_the_golden_file() {
    let run = aggregate_fixture_by_month();
    assert_eq!(run.stdout, fixture("aggregate_month_sentence.csv"));
    assert!(
        run.stderr.contains("skipped 1 sentence"),
        "the undated row is skipped: {}",
        run.stderr
    );
}

#[test]
fn json_export_with_article_weighting_matches_the_golden_file() {
    let rows = root().join("tests/fixtures/aggregate_rows.jsonl");
    let run = rhetor(
        &[
            "aggregate",
            rows.to_str().unwrap(),
            "--period",
            "month",
            "--weight",
            "article",
            "--format",
            "json",
        ],
        None,
        &root(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, fixture("aggregate_month_article.json"));
}

#[test]
fn malformed_rows_are_named_and_the_rest_aggregated() {
    let mut data = fixture("aggregate_rows.jsonl");
    data.insert_str(0, "{broken\n");
    let run = rhetor(
        &["aggregate", "-", "--by", "speaker"],
        Some(data.as_bytes()),
        &root(),
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("-:1"), "{}", run.stderr);
    assert!(run.stdout.contains("speaker,kim-jong-un"), "{}", run.stdout);
}

fn mean(csv: &str, actor: &str, period: &str) -> f64 {
    csv.lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f[1] == actor && f[4] == period)
        .unwrap_or_else(|| panic!("no row for {actor} {period} in\n{csv}"))[7]
        .parse()
        .unwrap()
}

#[test]
fn example_corpus_kim_turns_hostile_toward_the_us_after_2018() {
    let corpus = root().join("examples/corpus");
    let scored = rhetor(
        &["score", "--quiet", corpus.to_str().unwrap()],
        None,
        &root(),
    );
    assert_eq!(scored.code, 0, "{}", scored.stderr);
    let by_quarter = rhetor(
        &["aggregate", "-", "--period", "quarter", "--by", "dyad"],
        Some(scored.stdout.as_bytes()),
        &root(),
    );
    let q = by_quarter.stdout.as_str();
    let dyad = "kim-jong-un->united-states";
    // Singapore (2018-Q2) and the Pyongyang summit (2018-Q3): warm; after Stockholm (2019-Q4)
    // and the anniversary rebuke (2020-Q2): hostile.
    assert!(mean(q, dyad, "2018-Q2") > 0.0);
    assert!(mean(q, dyad, "2018-Q3") > 0.0);
    assert!(mean(q, dyad, "2019-Q4") < 0.0);
    assert!(mean(q, dyad, "2020-Q2") < mean(q, dyad, "2018-Q2") - 0.5);
    // Trump's rhetoric toward Kim stays warm through the summits.
    assert!(mean(q, "donald-trump->kim-jong-un", "2018-Q2") > 0.2);
    let by_year = rhetor(
        &[
            "aggregate",
            "-",
            "--period",
            "year",
            "--by",
            "speaker",
            "--weight",
            "article",
        ],
        Some(scored.stdout.as_bytes()),
        &root(),
    );
    let y = by_year.stdout.as_str();
    assert!(mean(y, "kim-jong-un", "2018") > mean(y, "kim-jong-un", "2020") + 0.3);
}

#[test]
fn an_invalid_utf8_line_or_an_absurd_tone_is_named_and_reading_goes_on() {
    let good = fixture("aggregate_rows.jsonl");
    let lines: Vec<&str> = good.lines().collect();
    let mut data: Vec<u8> = Vec::new();
    data.extend_from_slice(lines[0].as_bytes());
    data.extend_from_slice(b"\n\xff\xfe not text\n");
    data.extend_from_slice(lines[1].replace("\"tone\":-0.3", "\"tone\":7.5").as_bytes());
    data.push(b'\n');
    for l in &lines[2..] {
        data.extend_from_slice(l.as_bytes());
        data.push(b'\n');
    }
    let run = rhetor(
        &["aggregate", "-", "--by", "speaker", "--format", "json"],
        Some(&data),
        &root(),
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("-:2: invalid UTF-8"), "{}", run.stderr);
    assert!(run.stderr.contains("-:3: tone 7.5"), "{}", run.stderr);
    let stats: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let total: u64 = stats
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sentences"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 3, "every good dated row after the bad lines is read");
}

#[test]
fn a_single_sentence_cell_has_no_confidence_interval_rather_than_a_zero_width_one() {
    let run = aggregate_fixture_by_month();
    let (mut single, mut several) = (0, 0);
    for line in run.stdout.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (n, sd, lo, hi) = (f[5], f[8], f[9], f[10]);
        if n == "1" {
            single += 1;
            assert_eq!((sd, lo, hi), ("", "", ""), "{line}");
        } else {
            several += 1;
            let (lo, hi): (f64, f64) = (lo.parse().unwrap(), hi.parse().unwrap());
            assert!(lo < hi, "{line}");
        }
    }
    assert!(
        single > 0 && several > 0,
        "the fixture has both kinds of cell"
    );
}
