//! `rhetor train` end to end on small labeled files written here: the folder it writes loads
//! and scores, training twice with the same seed gives the same weights, and bad data is named.

mod common;

use std::path::Path;

use common::*;

/// 120 short labeled sentences in the generic CSV format (label -2..2).
fn small_csv(dir: &Path) -> String {
    let pos = [
        "welcomed the deal",
        "praised the talks",
        "thanked its allies",
        "hailed the friendship",
    ];
    let neg = [
        "condemned the attack",
        "threatened war",
        "denounced the regime",
        "vowed revenge",
    ];
    let neu = [
        "met on Tuesday",
        "held a briefing",
        "released a schedule",
        "arrived in Seoul",
    ];
    let who = [
        "Seoul",
        "Tokyo",
        "The minister",
        "Washington",
        "Beijing",
        "The envoy",
        "Kyiv",
        "Moscow",
        "NATO",
        "The UN",
    ];
    let mut s = String::from("text,label\n");
    for w in who {
        for p in pos {
            s += &format!("{w} {p}.,2\n");
        }
        for p in neg {
            s += &format!("{w} {p}.,-2\n");
        }
        for p in neu {
            s += &format!("{w} {p}.,0\n");
        }
    }
    let path = dir.join("small.csv");
    std::fs::write(&path, s).unwrap();
    path.display().to_string()
}

/// `rhetor train METHOD` on `data` into `out`, with `extra` flags.
fn train(dir: &Path, method: &str, data: &str, out: &str, extra: &[&str]) -> Run {
    let base = root().join("models/all-minilm-l6-v2");
    let mut args = vec![
        "train",
        method,
        "--quiet",
        "--data",
        data,
        "--label-scale",
        "2",
        "--out",
        out,
        "--base",
        base.to_str().unwrap(),
        "--seed",
        "7",
    ];
    args.extend_from_slice(extra);
    // A cache of its own per run, so the second run really recomputes the embeddings.
    let cache = dir.join(format!("cache-{out}"));
    let run = rhetor_env(&args, None, dir, &[("RHETOR_CACHE", &cache)]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

fn sha(p: &Path) -> String {
    rhetor::model::manifest::sha256_file(p).unwrap()
}

#[test]
fn linear_training_is_deterministic_and_the_model_scores() {
    let t = tempfile::tempdir().unwrap();
    let data = small_csv(t.path());
    for out in ["m1", "m2"] {
        let run = train(t.path(), "linear", &data, out, &["--epochs", "50"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    assert_eq!(
        sha(&t.path().join("m1/head.safetensors")),
        sha(&t.path().join("m2/head.safetensors"))
    );
    assert!(
        !t.path().join("m1.partial").exists(),
        "no half-written folder is left"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(t.path().join("m1/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["head"]["kind"], "linear");
    assert!(manifest["validation"]["overall"]["rows"].as_u64().unwrap() > 0);
    assert!(manifest["training"]["command"]
        .as_str()
        .unwrap()
        .starts_with("rhetor train"));
    std::fs::write(
        t.path().join("a.txt"),
        "The minister praised the talks. Moscow threatened war.",
    )
    .unwrap();
    let m1 = t.path().join("m1");
    let run = rhetor(
        &["score", "--quiet", "--model", m1.to_str().unwrap(), "a.txt"],
        None,
        t.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = run.rows();
    assert!(rows[0]["tone"].as_f64().unwrap() > rows[1]["tone"].as_f64().unwrap());
}

#[test]
fn finetuning_is_deterministic_and_writes_a_small_overlay() {
    let t = tempfile::tempdir().unwrap();
    let data = small_csv(t.path());
    let args = [
        "--epochs",
        "1",
        "--top-layers",
        "1",
        "--batch-size",
        "16",
        "--max-length",
        "32",
    ];
    for out in ["f1", "f2"] {
        let run = train(t.path(), "finetune", &data, out, &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let (a, b) = (t.path().join("f1"), t.path().join("f2"));
    assert_eq!(
        sha(&a.join("overlay.safetensors")),
        sha(&b.join("overlay.safetensors"))
    );
    assert_eq!(
        sha(&a.join("head.safetensors")),
        sha(&b.join("head.safetensors"))
    );
    // Only the top layer is stored, in fp16: about 1.8M parameters × 2 bytes.
    let size = std::fs::metadata(a.join("overlay.safetensors"))
        .unwrap()
        .len();
    assert!(size < 4_000_000, "overlay is {size} bytes");
    std::fs::write(t.path().join("a.txt"), "Seoul welcomed the deal.").unwrap();
    let run = rhetor(
        &["score", "--quiet", "--model", a.to_str().unwrap(), "a.txt"],
        None,
        t.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn bad_training_data_is_named() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("bad.csv"),
        "text,label\nfine,1\nbroken,notanumber\n",
    )
    .unwrap();
    let run = train(t.path(), "linear", "bad.csv", "m", &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("bad.csv:3"), "{}", run.stderr);
    let run = train(t.path(), "linear", "missing.csv", "m", &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("missing.csv"), "{}", run.stderr);
    assert!(!t.path().join("m").exists());
}

#[test]
fn an_existing_out_folder_is_refused_and_force_replaces_only_the_model_files() {
    let t = tempfile::tempdir().unwrap();
    let data = small_csv(t.path());
    let out = t.path().join("m");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let args = ["--epochs", "20"];
    let run = train(t.path(), "linear", &data, "m", &args);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert!(!out.join("manifest.json").exists());
    let mut forced = args.to_vec();
    forced.push("--force");
    let run = train(t.path(), "linear", &data, "m", &forced);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(out.join("manifest.json").is_file());
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
    let debris: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(debris.is_empty(), "no staging folder is left behind");
}

#[test]
fn each_method_takes_only_its_own_flags() {
    let t = tempfile::tempdir().unwrap();
    let data = small_csv(t.path());
    let run = train(t.path(), "linear", &data, "m", &["--contrast-weight", "2"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--contrast-weight"), "{}", run.stderr);
    let help = rhetor(&["train", "target", "--help"], None, t.path());
    assert!(help.stdout.contains("--contrast-weight") && !help.stdout.contains("--label-scale"));
    assert!(!t.path().join("m").exists());
}
