//! Seeded fuzzing of ingest and segmentation through the real binary: random text articles
//! and JSONL lines (odd Unicode, quotes, abbreviations, stray whitespace, control bytes,
//! malformed lines) are scored with the VADER lexicon. Every run must end without a panic,
//! every row's `text` must be `body[start..end]` (character offsets into the body as
//! documented), every number must be finite, and a bad input must not cost the good ones
//! their rows.

mod common;

use std::collections::HashMap;

use common::*;

/// SplitMix64: a small, seeded generator, so a failure reproduces exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const WORDS: &[&str] = &[
    "Kim",
    "Jong",
    "Un",
    "Trump",
    "Seoul",
    "Washington",
    "Pyongyang",
    "the",
    "U.S.",
    "Mr.",
    "Dr.",
    "e.g.",
    "3.5",
    "1,200",
    "missile",
    "talks",
    "condemned",
    "praised",
    "Ukraine's",
    "Москва",
    "北京",
    "東京",
    "مرحبا",
    "café",
    "e\u{301}",
    "🚀",
    "👍🏽",
    "—",
    "…",
    "\u{200b}",
    "(ok)",
    "[sic]",
    "No.",
    "Jan.",
    "a.m.",
    "Inc.",
    "i.e.",
    "\u{a0}",
    "\u{2028}",
    "«",
    "»",
];
const STOPS: &[&str] = &[".", "!", "?", "...", ".\"", "?”", "!'", ".)", ";", ""];
const GAPS: &[&str] = &[" ", " ", " ", "  ", "\t", "\n", "\r\n", "\n\n", " \u{3000}"];

/// A body with no leading or trailing whitespace (what ingest keeps of a text file).
fn body(rng: &mut Rng) -> String {
    let mut s = String::new();
    for _ in 0..1 + rng.below(6) {
        let words = 1 + rng.below(14);
        for w in 0..words {
            if w > 0 {
                s.push_str(rng.pick(GAPS));
            }
            let word = rng.pick(WORDS);
            if rng.below(8) == 0 {
                s.push('"');
                s.push_str(word);
                s.push('"');
            } else {
                s.push_str(word);
            }
        }
        s.push_str(rng.pick(STOPS));
        s.push_str(rng.pick(GAPS));
    }
    let trimmed = s.trim().to_string();
    if trimmed.is_empty() {
        "Kim spoke.".into()
    } else {
        trimmed
    }
}

fn date(rng: &mut Rng) -> String {
    format!(
        "20{:02}-{:02}-{:02}",
        rng.below(30),
        1 + rng.below(12),
        1 + rng.below(28)
    )
}

#[test]
fn random_articles_and_jsonl_lines_never_panic_and_offsets_index_the_body() {
    let mut rng = Rng(20_261_128);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    // Expected body per source name.
    let mut bodies: HashMap<String, String> = HashMap::new();
    for i in 0..120 {
        let b = body(&mut rng);
        let name = format!("t{i:03}.txt");
        let text = match rng.below(4) {
            0 => format!("date {}\n{b}\n", date(&mut rng)),
            1 => format!("  date {} {b}  \n\n", date(&mut rng)),
            2 => format!("\n\t{b}\r\n"),
            _ => b.clone(),
        };
        bodies.insert(name.clone(), b);
        files.push((name, text.into_bytes()));
    }
    let mut jsonl = String::new();
    for line in 1..=120 {
        // JSONL text is kept exactly as given, surrounding whitespace included.
        let b = format!("{}{}{}", rng.pick(GAPS), body(&mut rng), rng.pick(GAPS));
        let row = serde_json::json!({"id": format!("j{line}"), "date": date(&mut rng), "text": b});
        jsonl.push_str(&row.to_string());
        jsonl.push('\n');
        bodies.insert(format!("j{line}"), b);
    }
    jsonl.push_str("{\"id\": \"broken\", \"text\": \n");
    jsonl.push_str("not json at all\n");
    files.push(("lines.jsonl".into(), jsonl.into_bytes()));
    // Bad inputs: named as errors, never a panic, never the others' rows.
    files.push(("nul.txt".into(), b"Kim spoke.\0 Then left.".to_vec()));
    files.push(("latin1.txt".into(), b"Caf\xe9 talks ended.".to_vec()));
    files.push(("baddate.txt".into(), b"date 2024-13-45 Kim spoke.".to_vec()));

    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let (run, _dir) = score(&refs, &["--model", "vader", "--target-model", "none", "."]);
    assert_ne!(run.code, 0, "bad inputs make the exit code non-zero");
    for bad in [
        "nul.txt",
        "latin1.txt",
        "baddate.txt",
        "lines.jsonl:121",
        "lines.jsonl:122",
    ] {
        assert!(run.stderr.contains(bad), "{bad} is named: {}", run.stderr);
    }
    let rows = run.rows();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in &rows {
        let key = match r["source"].as_str().unwrap_or_default() {
            s if s.contains("lines.jsonl") => r["article"].as_str().unwrap().to_string(),
            s => s.rsplit('/').next().unwrap().to_string(),
        };
        let body = bodies
            .get(&key)
            .unwrap_or_else(|| panic!("row from an unknown article: {r}"));
        let (start, end) = (
            r["start"].as_u64().unwrap() as usize,
            r["end"].as_u64().unwrap() as usize,
        );
        let slice: String = body.chars().skip(start).take(end - start).collect();
        assert_eq!(r["text"].as_str().unwrap(), slice, "{key}: {body:?}");
        let tone = r["tone"].as_f64().unwrap();
        assert!(tone.is_finite() && (-1.0..=1.0).contains(&tone), "{r}");
        for p in r["probs"].as_object().unwrap().values() {
            assert!(p.as_f64().unwrap().is_finite(), "{r}");
        }
        *seen.entry(key).or_default() += 1;
    }
    let without_rows: Vec<&String> = bodies.keys().filter(|k| !seen.contains_key(*k)).collect();
    assert!(
        without_rows.is_empty(),
        "every good article gets rows: {without_rows:?}"
    );
}
