//! Speaker and targets of every sentence of the seed article (read from ../shared/seeds).

mod common;

use common::*;

/// (speaker, targets) per sentence, in order.
const EXPECTED: &[(Option<&str>, &[&str])] = &[
    (Some("kim-jong-un"), &["united-states", "donald-trump"]),
    (None, &["donald-trump", "united-states", "north-korea"]),
    (None, &["donald-trump", "kim-jong-un", "north-korea"]),
    (None, &["kim-jong-un", "donald-trump", "ukraine"]),
    (None, &["north-korea", "russia", "ukraine"]),
    (
        Some("kim-jong-un"),
        &["workers-party-of-korea", "united-states"],
    ),
    (
        Some("kim-jong-un"),
        &["united-states", "south-korea", "japan"],
    ),
    (Some("kim-jong-un"), &[]),
    (Some("kim-jong-un"), &["north-korea"]),
    (None, &["donald-trump", "kim-jong-un"]),
    (Some("donald-trump"), &["kim-jong-un"]),
    (None, &["united-states"]),
    (None, &["north-korea", "united-states"]),
    (
        None,
        &["united-states", "south-korea", "japan", "north-korea"],
    ),
];

#[test]
fn seed_article_speakers_and_targets_sentence_by_sentence() {
    let rows = score_seed();
    assert_eq!(rows.len(), EXPECTED.len());
    for (r, (speaker, targets)) in rows.iter().zip(EXPECTED) {
        assert_eq!(r["speaker"].as_str(), *speaker, "speaker of {}", r["text"]);
        let got: Vec<&str> = r["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["actor"].as_str().unwrap())
            .collect();
        assert_eq!(got, *targets, "targets of {}", r["text"]);
        for m in r["mentions"].as_array().unwrap() {
            let text: Vec<char> = r["text"].as_str().unwrap().chars().collect();
            let (s, e) = (
                m["start"].as_u64().unwrap() as usize,
                m["end"].as_u64().unwrap() as usize,
            );
            assert_eq!(
                text[s..e].iter().collect::<String>(),
                m["text"].as_str().unwrap(),
                "mention span"
            );
        }
    }
    // The example: Kim calls the US "the most reactionary state": speaker Kim, target
    // US, negative (scored by the target-dependent model).
    let r = row_with(&rows, "the most reactionary state");
    assert_eq!(r["speaker"], "kim-jong-un");
    let us = r["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["actor"] == "united-states")
        .unwrap();
    assert!(us["tone"].as_f64().unwrap() < 0.0, "{us}");
    assert_eq!(us["label"], "negative", "{us}");
    assert_eq!(us["source"], "rhetor-target-minilm");
}
