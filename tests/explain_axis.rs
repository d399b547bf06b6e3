//! `--explain` and `--axis` end to end: the real binary and model on real text, the deletion
//! test of the explanations on the world-rhetoric suite, and the example axes' ordering of
//! their held-out check sentences (Spearman). Run with `-- --nocapture` to see the figures
//! quoted in README.

mod common;

use common::{rhetor, root, row_with, score};
use rhetor::bench::suite::read_manifest;
use rhetor::explain::faithfulness;
use rhetor::metrics::spearman;
use rhetor::model::axis::Axes;
use rhetor::model::device::Device;
use rhetor::model::registry::DEFAULT_MODEL;
use rhetor::model::transformer::Settings;

const ARTICLE: &str = "date 2025-05-14 Japan's foreign minister accused China of sabotaging the fisheries talks and threatened to expel its ambassador. The two delegations will meet again in Tokyo on Thursday. Russia praised both sides for their patience and offered to host a summit.\n";

fn axis_file(name: &str) -> String {
    root()
        .join("data/axes")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn explain_adds_phrases_that_are_substrings_of_the_sentence_with_signed_effects() {
    let (run, _dir) = score(
        &[("a.txt", ARTICLE.as_bytes())],
        &["--explain", "--explain-top", "2", "a.txt"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = run.rows();
    for r in &rows {
        let text: Vec<char> = r["text"].as_str().unwrap().chars().collect();
        let phrases = r["explanation"].as_array().expect("every row is explained");
        assert!(phrases.len() <= 2);
        let mut last = f64::INFINITY;
        for p in phrases {
            let (s, e) = (p["start"].as_u64().unwrap(), p["end"].as_u64().unwrap());
            let span: String = text[s as usize..e as usize].iter().collect();
            assert_eq!(span, p["text"].as_str().unwrap());
            let effect = p["effect"].as_f64().unwrap().abs();
            assert!(effect >= 0.01 && effect <= last, "{r}");
            last = effect;
        }
    }
    // A hostile sentence with one hostile act is hostile because of it, not because of its
    // names. (With several redundant cues, as in the article's first sentence — accused,
    // sabotaging, threatened to expel — deleting any one leaves the others, and occlusion
    // rightly reports small effects for each.)
    let (run, _dir) = score(
        &[(
            "b.txt",
            b"Japan's foreign minister condemned China's decision on the fisheries talks.\n"
                .as_slice(),
        )],
        &["--explain", "--explain-top", "2", "b.txt"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let hostile = &run.rows()[0];
    let top = &hostile["explanation"][0];
    assert!(top["effect"].as_f64().unwrap() < -0.1, "{hostile}");
    let word = top["text"].as_str().unwrap();
    assert!(word.contains("condemned"), "top phrase {word:?}");
}

#[test]
fn explain_shows_in_the_table_and_the_csv() {
    let (run, dir) = score(
        &[("a.txt", ARTICLE.as_bytes())],
        &["--explain", "--format", "csv", "a.txt"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let header = run.stdout.lines().next().unwrap();
    assert!(header.ends_with(",text,explanation"), "{header}");
    let table = rhetor(
        &["score", "--explain", "--format", "table", "a.txt"],
        None,
        dir.path(),
    );
    assert!(table.stdout.contains('▼'), "{}", table.stdout);
    assert!(
        table.stderr.contains("ms per sentence"),
        "the cost is reported: {}",
        table.stderr
    );
}

#[test]
fn top_phrases_move_the_tone_more_than_random_phrases_on_the_world_rhetoric_suite() {
    common::require_setup();
    let suite = read_manifest(&root().join("benches/suites.toml"))
        .unwrap()
        .into_iter()
        .find(|s| s.name == "world-rhetoric")
        .expect("world-rhetoric is in the manifest");
    let texts: Vec<String> = suite
        .open()
        .expect("the world-rhetoric suite is committed")
        .map(|r| r.expect("a valid suite row").text)
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let model = rhetor::model::load(DEFAULT_MODEL, Settings::default()).expect("default model");
    let f = faithfulness(model.as_ref(), &refs, 13).unwrap();
    println!(
        "deletion test on world-rhetoric ({} sentences): {f:?}",
        texts.len()
    );
    assert!(f.sentences as f64 >= 0.9 * texts.len() as f64, "{f:?}");
    assert!(f.top_wins >= 0.8, "{f:?}");
    assert!(f.mean_top >= 2.0 * f.mean_random, "{f:?}");
}

#[test]
fn the_example_axes_order_their_held_out_check_sentences() {
    common::require_setup();
    let check = std::fs::read_to_string(root().join("data/axes/check.jsonl")).unwrap();
    let axes = Axes::load(
        &[
            root().join("data/axes/threat.toml"),
            root().join("data/axes/framing.toml"),
        ],
        32,
        Device::Cpu,
    )
    .expect("the example axes load");
    assert_eq!(axes.names(), ["threat", "framing"]);
    for (k, name) in ["threat", "framing"].iter().enumerate() {
        let rows: Vec<(String, f64)> = check
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["axis"] == *name)
            .map(|v| {
                (
                    v["text"].as_str().unwrap().to_string(),
                    v["rank"].as_f64().unwrap(),
                )
            })
            .collect();
        let texts: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let scores: Vec<f64> = axes
            .score(&texts, &|_| {})
            .unwrap()
            .iter()
            .map(|s| s[k] as f64)
            .collect();
        let gold: Vec<f64> = rows.iter().map(|r| r.1).collect();
        let rho = spearman(&scores, &gold).unwrap();
        println!(
            "axis {name}: Spearman {rho:.3} on {} check sentences",
            rows.len()
        );
        assert!(rows.len() >= 50);
        assert!(rho >= 0.5, "axis {name}: Spearman {rho:.3}");
    }
}

#[test]
fn axes_flow_from_score_to_aggregate_and_chart() {
    let (run, dir) = score(
        &[("a.txt", ARTICLE.as_bytes())],
        &[
            "--explain",
            "--axis",
            &axis_file("threat.toml"),
            "--axis",
            &axis_file("framing.toml"),
            "-o",
            "rows.jsonl",
            "a.txt",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(dir.path().join("rows.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let threat = |needle: &str| row_with(&rows, needle)["axes"]["threat"].as_f64().unwrap();
    assert!(
        threat("threatened to expel") > threat("will meet again"),
        "{rows:?}"
    );
    let agg = rhetor(
        &[
            "aggregate",
            "rows.jsonl",
            "--by",
            "speaker",
            "--format",
            "csv",
        ],
        None,
        dir.path(),
    );
    assert_eq!(agg.code, 0, "{}", agg.stderr);
    assert!(agg
        .stdout
        .lines()
        .next()
        .unwrap()
        .contains(",axis_framing_mean,axis_framing_sd,axis_framing_ci_low,axis_framing_ci_high,axis_threat_mean"));
    let chart = rhetor(
        &[
            "chart",
            "rows.jsonl",
            "--axis",
            "threat",
            "--html",
            "c.html",
        ],
        None,
        dir.path(),
    );
    assert_eq!(chart.code, 0, "{}", chart.stderr);
    assert!(
        chart.stdout.contains("mean threat axis"),
        "{}",
        chart.stdout
    );
    let html = std::fs::read_to_string(dir.path().join("c.html")).unwrap();
    assert!(html.contains("threat axis"), "the points name the axis");
    assert!(
        html.contains("<mark class=\""),
        "evidence shows the explanation"
    );
    let missing = rhetor(&["chart", "rows.jsonl", "--axis", "nope"], None, dir.path());
    assert_ne!(missing.code, 0);
    assert!(missing.stderr.contains("--axis FILE"), "{}", missing.stderr);
}

#[test]
fn a_bad_axis_file_is_named_with_what_to_fix() {
    let (run, _dir) = score(
        &[
            ("a.txt", ARTICLE.as_bytes()),
            ("bad.toml", b"name = \"x\"\nlow = \"a\"\nhigh = \"b\"\nlow_anchors = [\"one\"]\nhigh_anchors = [\"c\", \"d\"]\n"),
        ],
        &["--axis", "bad.toml", "a.txt"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("bad.toml") && run.stderr.contains("low_anchors needs at least two"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}
