//! rhetor's WordPiece ids equal the encoder's own tokenizer.json (HF tokenizers) ids.

mod common;

use rhetor::tokenize::{TextEncoder, WordPiece};

#[test]
fn wordpiece_ids_match_the_models_own_tokenizer_on_the_fixture() {
    common::require_setup();
    let tok = WordPiece::from_vocab(&common::root().join("models/all-minilm-l6-v2/vocab.txt"))
        .expect("load vocab.txt");
    let fixture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("tests/fixtures/tokenizer_ids.json")).unwrap(),
    )
    .unwrap();
    let rows = fixture["rows"].as_array().unwrap();
    assert!(rows.len() >= 50, "the fixture holds at least 50 sentences");
    let mut failures = Vec::new();
    for r in rows {
        let text = r["text"].as_str().unwrap();
        let want: Vec<i64> = r["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        let got = tok.encode(text, 512).ids;
        if got != want {
            failures.push(format!("{text:?}\n  want {want:?}\n  got  {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
