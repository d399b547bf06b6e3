//! Golden outputs on the bundled example corpus: refactoring must not change what rhetor
//! writes for the same model. The fixtures were written by
//!
//! ```sh
//! rhetor score examples/articles/ --precision fp32 --format jsonl --quiet > tests/fixtures/golden/examples.jsonl
//! rhetor aggregate tests/fixtures/golden/examples.jsonl --by speaker,target,dyad --format csv \
//!     -o tests/fixtures/golden/examples_aggregate.csv
//! ```
//!
//! with the committed models; regenerate them (and say why in the commit) only when a model or
//! the output format changes on purpose. Scores are compared field by field: strings, labels,
//! offsets and actors exactly, numbers (printed with 4 decimals) within 2e-4, because
//! libtorch's kernels differ in the last bits between CPUs. Aggregation has no libtorch in it:
//! its CSV must be byte-identical.

mod common;

use common::{rhetor, root};
use serde_json::Value;

fn golden(name: &str) -> String {
    std::fs::read_to_string(root().join("tests/fixtures/golden").join(name)).unwrap()
}

/// Compares two JSON values: numbers within `tol`, everything else exactly.
fn same(a: &Value, b: &Value, tol: f64, path: &str) -> Result<(), String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() <= tol {
                Ok(())
            } else {
                Err(format!("{path}: {x} != {y}"))
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .try_for_each(|(i, (x, y))| same(x, y, tol, &format!("{path}[{i}]"))),
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() => {
            x.iter().try_for_each(|(k, v)| {
                let w = y.get(k).ok_or_else(|| format!("{path}.{k}: missing"))?;
                same(v, w, tol, &format!("{path}.{k}"))
            })
        }
        _ if a == b => Ok(()),
        _ => Err(format!("{path}: {a} != {b}")),
    }
}

#[test]
fn scoring_the_example_corpus_gives_the_golden_rows() {
    let run = rhetor(
        &[
            "score",
            "examples/articles/",
            "--precision",
            "fp32",
            "--format",
            "jsonl",
            "--quiet",
        ],
        None,
        &root(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let want: Vec<Value> = golden("examples.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got = run.rows();
    assert_eq!(got.len(), want.len(), "row count");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        if let Err(e) = same(g, w, 2e-4, &format!("row {i}")) {
            panic!("scores differ from tests/fixtures/golden/examples.jsonl: {e}");
        }
    }
}

#[test]
fn aggregating_the_golden_rows_is_byte_identical() {
    let run = rhetor(
        &[
            "aggregate",
            "tests/fixtures/golden/examples.jsonl",
            "--by",
            "speaker,target,dyad",
            "--format",
            "csv",
        ],
        None,
        &root(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, golden("examples_aggregate.csv"));
}
