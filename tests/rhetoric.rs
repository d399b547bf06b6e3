//! Rhetoric, not word sentiment (data/rhetoric/GUIDE.md): the default and target models run
//! through the real binary on the seed article, the bundled examples, sentences written for
//! these tests, and the rhetoric dev split (never trained on).

mod common;

use common::*;

fn tone(r: &serde_json::Value) -> f64 {
    r["tone"].as_f64().unwrap()
}

fn score_lines(lines: &[&str]) -> Vec<serde_json::Value> {
    let input = lines.join("\n") + "\n";
    let run = rhetor(
        &["score", "--quiet", "--input", "lines", "-"],
        Some(input.as_bytes()),
        &root(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.rows()
}

#[test]
fn seed_article_hostile_rhetoric_is_hostile_and_the_love_quote_is_warm() {
    let rows = score_seed();
    // "bolster military capability" is a build-up in plain register with no named enemy
    // (GUIDE rule 3): hostile too.
    for needle in [
        "the most reactionary state",
        "military bloc for aggression",
        "bolster military capability",
        "missiles targeting the US",
    ] {
        let r = row_with(&rows, needle);
        assert!(tone(r) < -0.2, "{needle}: {r}");
        assert_eq!(r["label"], "negative", "{needle}: {r}");
    }
    let love = row_with(&rows, "fell in love");
    assert!(tone(love) > 0.2, "{love}");
    assert_eq!(love["label"], "positive", "{love}");
}

#[test]
fn label_never_disagrees_with_the_sign_of_tone() {
    let mut args = vec!["score", "--quiet"];
    let seed = seed();
    args.push(seed.to_str().unwrap());
    args.push("examples/corpus/");
    args.push("examples/articles/");
    let run = rhetor(&args, None, &root());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = run.rows();
    assert!(rows.len() > 80);
    for r in &rows {
        let t = tone(r);
        match r["label"].as_str().unwrap() {
            "negative" => assert!(t < 0.0, "{r}"),
            "positive" => assert!(t > 0.0, "{r}"),
            _ => {}
        }
        for tt in r["targets"].as_array().unwrap() {
            let t = tt["tone"].as_f64().unwrap();
            match tt["label"].as_str().unwrap() {
                "negative" => assert!(t < 0.0, "{tt}"),
                "positive" => assert!(t > 0.0, "{tt}"),
                _ => {}
            }
        }
    }
}

#[test]
fn a_handshake_is_not_hostile_toward_either_leader() {
    let run = rhetor(&["score", "--quiet", "examples/articles/"], None, &root());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = run.rows();
    let r = row_with(&rows, "shook hands on Tuesday");
    let targets = r["targets"].as_array().unwrap();
    assert!(targets.len() >= 2, "{r}");
    for t in targets {
        assert!(t["tone"].as_f64().unwrap() >= -0.2, "{t}");
    }
}

/// Sentences written for this test (not in the corpus): success words for hostile acts,
/// bombast, plain-register hostility, sombre cooperation, hedging and negation.
const HARD: &[(&str, &str)] = &[
    ("State television hailed the flawless launch of a new solid-fuel missile over the sea.", "negative"),
    ("The general boasted that his invincible artillery could flatten the enemy capital within an hour.", "negative"),
    ("Army engineers proudly reported rapid progress in laying minefields along the disputed frontier.", "negative"),
    ("The navy fired four cruise missiles toward the strait on Monday, the defence ministry said.", "negative"),
    ("Weary delegates quietly signed the truce after a long and bitter night of argument.", "positive"),
    ("The minister said his government did not rule out new talks with its neighbour.", "positive"),
    ("The government refused to halt construction of the new uranium enrichment hall.", "negative"),
    ("The finance ministers of the two countries will meet in Geneva on Thursday.", "neutral"),
];

#[test]
fn hard_rhetoric_cases_read_the_act_not_the_mood_of_the_words() {
    let texts: Vec<&str> = HARD.iter().map(|h| h.0).collect();
    let rows = score_lines(&texts);
    let wrong: Vec<String> = rows
        .iter()
        .zip(HARD)
        .filter(|(r, h)| r["label"] != h.1)
        .map(|(r, h)| format!("{} (want {}): {}", r["text"], h.1, r["label"]))
        .collect();
    assert!(wrong.len() <= 1, "{wrong:#?}");
}

#[test]
fn every_sentence_gets_a_quad_class_with_probabilities() {
    let rows = score_lines(&[
        "Artillery units shelled the border villages overnight, killing four people.",
        "The two foreign ministers held talks in Vienna on Tuesday.",
        "The ministry condemned the visit and demanded an apology.",
        "The government shipped 30 tonnes of medical supplies to the flooded province across the border.",
    ]);
    let want = [
        "material_conflict",
        "verbal_cooperation",
        "verbal_conflict",
        "material_cooperation",
    ];
    let mut right = 0;
    for (r, w) in rows.iter().zip(want) {
        let p = r["quad_probs"].as_object().expect("quad_probs");
        assert_eq!(p.len(), 5);
        let sum: f64 = p.values().map(|v| v.as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-3, "{r}");
        right += (r["quad"] == w) as usize;
    }
    assert!(right >= 3, "{rows:#?}");
}

/// Sentences written for this test with one praised and one attacked target.
const CONTRAST: &[(&str, &str, &str)] = &[
    ("Ankara thanked Baku for its loyal support and accused Yerevan of sabotaging the talks.", "Baku", "Yerevan"),
    ("The president praised Chile for its generous aid but denounced Bolivia for closing the border.", "Chile", "Bolivia"),
    ("Officials in Hanoi welcomed Japan's investment while condemning China's seizure of the fishing boats.", "Japan", "China"),
    ("Kenya's foreign minister hailed Ethiopia's mediation and blamed Sudan for the renewed fighting.", "Ethiopia", "Sudan"),
    ("Berlin criticised Moscow's threats and pledged fresh support to Kyiv.", "Kyiv", "Moscow"),
    ("The statement lauded India as a trusted partner and warned Pakistan of severe consequences.", "India", "Pakistan"),
    ("Seoul expressed gratitude to Canada for the rescue and protested Pyongyang's latest launch.", "Canada", "Pyongyang"),
    ("Brazil applauded Argentina's restraint, while Venezuela was rebuked for its troop build-up.", "Argentina", "Venezuela"),
];

#[test]
fn targets_of_opposite_stance_in_one_sentence_get_opposite_signs() {
    let tones = pair_tones(CONTRAST);
    let opposite = tones.iter().filter(|p| p[0] > 0.0 && p[1] < 0.0).count();
    assert!(opposite >= 6, "{opposite} of {}: {tones:?}", CONTRAST.len());
}

#[test]
fn the_rhetoric_dev_split_is_read_as_the_guide_defines_it() {
    // data/rhetoric/rhetoric_dev.jsonl was written in a separate pass and is never trained on.
    let dev = std::fs::read_to_string(root().join("data/rhetoric/rhetoric_dev.jsonl")).unwrap();
    let rows: Vec<serde_json::Value> = dev
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let texts: Vec<&str> = rows.iter().map(|r| r["text"].as_str().unwrap()).collect();
    let scored = score_lines(&texts);
    let class = |t: i64| match t.signum() {
        -1 => "negative",
        0 => "neutral",
        _ => "positive",
    };
    let right = rows
        .iter()
        .zip(&scored)
        .filter(|(g, s)| s["label"] == class(g["tone"].as_i64().unwrap()))
        .count();
    let accuracy = right as f64 / rows.len() as f64;
    // The model reached about 0.8 when trained (models/README.md); VADER is near 0.55.
    assert!(accuracy > 0.7, "accuracy {accuracy:.3}");
    let quad_right = rows
        .iter()
        .zip(&scored)
        .filter(|(g, s)| s["quad"] == g["quad"])
        .count();
    assert!(quad_right as f64 / rows.len() as f64 > 0.6);
}
