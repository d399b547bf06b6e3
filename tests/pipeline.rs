//! The library's front door gives the rows the binary writes, on text written for this test.

mod common;

use common::*;
use rhetor::Pipeline;

const TEXT: &str = "date 2023-05-17 Chile's foreign minister praised Peru for reopening the \
border crossing. She accused Bolivia of stalling the water talks for a decade. The delegations \
will meet again in Lima on June 4.";

#[test]
fn pipeline_rows_match_the_rows_of_rhetor_score() {
    require_setup();
    let pipeline = Pipeline::builder().build().expect("default models load");
    let lib = pipeline.score_text(TEXT).unwrap();
    let cli = rhetor(&["score", "--quiet", "-"], Some(TEXT.as_bytes()), &root()).rows();
    assert_eq!(lib.len(), cli.len());
    assert_eq!(lib.len(), 3);
    for (l, c) in lib.iter().zip(&cli) {
        assert_eq!(l.text, c["text"].as_str().unwrap());
        assert_eq!(l.start as u64, c["start"].as_u64().unwrap());
        assert!((l.tone as f64 - c["tone"].as_f64().unwrap()).abs() < 1e-4);
        assert_eq!(serde_json::to_value(l.label).unwrap(), c["label"]);
        let at = l.attribution.as_ref().unwrap();
        assert_eq!(serde_json::to_value(&at.speaker).unwrap(), c["speaker"]);
        for (t, ct) in at.targets.iter().zip(c["targets"].as_array().unwrap()) {
            assert_eq!(t.actor, ct["actor"].as_str().unwrap());
            assert!((t.tone as f64 - ct["tone"].as_f64().unwrap()).abs() < 1e-4);
        }
    }
}

#[test]
fn score_sentences_gives_one_row_per_sentence_in_order_even_with_newlines() {
    require_setup();
    let pipeline = Pipeline::builder()
        .model("vader")
        .target_model(None)
        .build()
        .unwrap();
    let sentences = [
        "A wonderful, historic friendship.",
        "",
        "They vowed\nto destroy the enemy.",
    ];
    let rows = pipeline.score_sentences(&sentences).unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows[0].tone > 0.3 && rows[2].tone < -0.3, "{rows:?}");
    assert_eq!(rows[2].end, sentences[2].chars().count());
}

#[test]
fn a_missing_model_is_an_error_naming_it() {
    let err = Pipeline::builder()
        .model("no-such-model")
        .build()
        .err()
        .expect("an error");
    assert!(err.to_string().contains("no-such-model"), "{err}");
}

#[test]
fn the_builder_adds_explanations_to_every_row() {
    require_setup();
    let pipeline = Pipeline::builder()
        .model("vader")
        .target_model(None)
        .explain(2)
        .build()
        .unwrap();
    let rows = pipeline
        .score_sentences(&["The envoys praised the wonderful agreement."])
        .unwrap();
    let phrases = rows[0].explanation.as_ref().expect("an explanation");
    assert!(!phrases.is_empty() && phrases.len() <= 2, "{phrases:?}");
    assert!(phrases
        .iter()
        .any(|p| p.text.contains("praised") || p.text.contains("wonderful")));
}
