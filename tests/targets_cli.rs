//! Tone toward a target: `--input targets` rows and the target-dependent model in article rows.

mod common;

use common::*;

#[test]
fn targets_input_gives_one_row_per_valid_line() {
    let input = concat!(
        "{\"id\":\"t1\",\"text\":\"Kim praised Trump but denounced Biden as a warmonger.\",\"mention\":\"Trump\"}\n",
        "{\"id\":\"t2\",\"text\":\"Kim praised Trump but denounced Biden as a warmonger.\",\"from\":32,\"to\":37}\n",
        "{\"text\":\"No span here.\"}\n",
        "not json\n",
        "{\"text\":\"Seoul thanked Tokyo.\",\"mention\":\"Beijing\"}\n",
    );
    let run = rhetor(
        &["score", "--quiet", "--input", "targets", "-"],
        Some(input.as_bytes()),
        &root(),
    );
    assert_eq!(run.code, 1, "bad lines fail the run: {}", run.stderr);
    for bad in ["-:3", "-:4", "-:5"] {
        assert!(run.stderr.contains(bad), "{bad} named: {}", run.stderr);
    }
    let rows = run.rows();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["target"]["mention"], "Trump");
    assert_eq!(rows[1]["target"]["mention"], "Biden");
    assert_eq!(rows[1]["index"], 1);
    assert_eq!(rows[0]["model"], "rhetor-target-minilm");
}

#[test]
fn targets_input_with_an_explicit_sentence_model_uses_it_and_says_so() {
    let input = "{\"text\":\"Seoul thanked Tokyo for the aid.\",\"mention\":\"Tokyo\"}\n";
    let run = rhetor(
        &[
            "score",
            "--quiet",
            "--input",
            "targets",
            "--model",
            "rhetor-tone-minilm",
            "-",
        ],
        Some(input.as_bytes()),
        &root(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.rows()[0]["model"], "rhetor-tone-minilm+int8");
    assert!(
        run.stderr.contains("not target-dependent"),
        "the sentence model's limit is said: {}",
        run.stderr
    );
}

/// Contrast pairs written for the project: one sentence, a praised and a blamed target.
const PAIRS: &[(&str, &str, &str)] = &[
    (
        "Voters adore Jones, while critics blasted Smith for the scandal.",
        "Jones",
        "Smith",
    ),
    (
        "The senator thanked Garcia for her courage and attacked Miller as a liar.",
        "Garcia",
        "Miller",
    ),
    (
        "Lee was hailed as a hero after the rescue, but Park was fired for negligence.",
        "Lee",
        "Park",
    ),
    (
        "Putin condemned Zelensky, calling him a puppet, and praised Xi as a wise partner.",
        "Xi",
        "Zelensky",
    ),
    (
        "Kim praised Trump but denounced Biden as a warmonger.",
        "Trump",
        "Biden",
    ),
];

#[test]
fn the_praised_target_mostly_scores_above_the_blamed_one_in_the_same_sentence() {
    let tones = pair_tones(PAIRS);
    let right = tones.iter().filter(|p| p[0] > p[1]).count();
    // Mixed sentences are the hard case for this model (see models/README.md): 4 of 5 today.
    assert!(
        right >= 4,
        "only {right} of {} pairs ordered: {tones:?}",
        PAIRS.len()
    );
}

#[test]
fn article_targets_are_scored_by_the_target_model() {
    let run = rhetor(
        &["score", "--quiet", seed().to_str().unwrap()],
        None,
        &root(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = run.rows();
    let r = row_with(&rows, "the most reactionary state");
    let us = r["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["actor"] == "united-states")
        .unwrap();
    assert_eq!(us["source"], "rhetor-target-minilm");
    let run = rhetor(
        &[
            "score",
            "--quiet",
            "--target-model",
            "none",
            seed().to_str().unwrap(),
        ],
        None,
        &root(),
    );
    let rows = run.rows();
    let r = row_with(&rows, "the most reactionary state");
    assert_eq!(r["targets"][0]["source"], "sentence");
    assert_eq!(r["targets"][0]["tone"], r["tone"]);
}

#[test]
fn targets_input_honours_the_csv_format_with_quoted_fields() {
    let input = "{\"id\":\"q1\",\"text\":\"Seoul thanked Canada, but denounced \\\"the North\\\".\",\"mention\":\"Canada\"}\n";
    let run = rhetor(
        &[
            "score", "--quiet", "--input", "targets", "--format", "csv", "-",
        ],
        Some(input.as_bytes()),
        &root(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    assert!(lines[0].starts_with("source,index,id,text,from,to,mention,tone,label"));
    assert!(
        lines[1].starts_with(
            "-,0,q1,\"Seoul thanked Canada, but denounced \"\"the North\"\".\",14,20,Canada,"
        ),
        "{}",
        lines[1]
    );
}
