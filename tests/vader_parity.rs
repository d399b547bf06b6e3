//! `--model vader` matches Python vaderSentiment 3.3.2 within 1e-4 on every fixture sentence
//! (written for the project) and on every line of the VADER ICWSM 2014 data in ../shared.

mod common;

use rhetor::model::vader::{default_dir, Vader};

fn vader() -> Vader {
    Vader::load(&default_dir()).unwrap_or_else(|e| panic!("{e} (run scripts/setup.sh)"))
}

#[test]
fn compound_and_proportions_match_python_on_the_rule_fixture() {
    let v = vader();
    let fixture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("tests/fixtures/vader_parity.json")).unwrap(),
    )
    .unwrap();
    let rows = fixture["rows"].as_array().unwrap();
    assert!(rows.len() >= 500);
    let mut bad = Vec::new();
    for r in rows {
        let text = r["text"].as_str().unwrap();
        let s = v.polarity_scores(text);
        let want = |k: &str| r[k].as_f64().unwrap();
        let ok = (s.compound - want("compound")).abs() <= 1e-4
            && (s.neg - want("neg")).abs() <= 1e-3
            && (s.neu - want("neu")).abs() <= 1e-3
            && (s.pos - want("pos")).abs() <= 1e-3;
        if !ok {
            bad.push(format!("{text:?}: rust {s:?}, python {r}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} differ:\n{}",
        bad.len(),
        rows.len(),
        bad.join("\n")
    );
}

#[test]
fn compound_matches_python_on_every_icwsm2014_line() {
    let v = vader();
    let fixture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            common::root().join("tests/fixtures/vader_icwsm2014_compound.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    let mut bad = Vec::new();
    for (name, scores) in fixture["files"].as_object().unwrap() {
        let path = common::shared(&format!("data/vader_icwsm2014/{name}"));
        // Python reads in universal-newline mode.
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("\r\n", "\n")
            .replace('\r', "\n");
        let lines: Vec<&str> = text.split('\n').collect();
        let scores = scores.as_array().unwrap();
        assert_eq!(lines.len(), scores.len(), "{name}: line count");
        for (n, (line, want)) in lines.iter().zip(scores).enumerate() {
            let Some(want) = want.as_f64() else { continue };
            let body = line.splitn(3, '\t').nth(2).unwrap_or("").trim();
            let got = v.polarity_scores(body).compound;
            checked += 1;
            if (got - want).abs() > 1e-4 {
                bad.push(format!("{name}:{}: rust {got} python {want}", n + 1));
            }
        }
    }
    assert!(checked > 18_000, "checked {checked}");
    assert!(
        bad.is_empty(),
        "{} of {checked} differ:\n{}",
        bad.len(),
        bad[..bad.len().min(30)].join("\n")
    );
}
