//! A broken or mismatched model folder gets a clear error naming the file, exit code 2.

mod common;

use std::path::Path;

use common::*;

/// Copies the default model into a temporary folder, pointing its base at the installed one.
fn model_copy(tmp: &Path) -> std::path::PathBuf {
    let src = root().join("models/rhetor-tone-minilm");
    let dst = tmp.join("m");
    std::fs::create_dir_all(&dst).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dst.join(p.file_name().unwrap())).unwrap();
    }
    let base = root().join("models/all-minilm-l6-v2");
    edit_manifest(&dst, |m| {
        m["base"]["path"] = base.display().to_string().into()
    });
    dst
}

/// Rewrites the manifest of the model folder `dir` with `f`.
fn edit_manifest(dir: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    f(&mut m);
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
}

#[test]
fn a_model_runs_at_its_manifest_precision_unless_precision_is_given() {
    let t = tempfile::tempdir().unwrap();
    let dir = model_copy(t.path());
    for (own, other, flag) in [
        ("int8", "rhetor-tone-minilm+int8", "fp32"),
        ("fp32", "rhetor-tone-minilm", "int8"),
    ] {
        edit_manifest(&dir, |m| m["precision"] = own.into());
        let run = score_with(&dir, t.path());
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.rows()[0]["model"], other, "manifest says {own}");
        let asked = rhetor(
            &[
                "score",
                "--quiet",
                "--precision",
                flag,
                "--model",
                dir.to_str().unwrap(),
                "a.txt",
            ],
            None,
            t.path(),
        );
        assert_eq!(asked.code, 0, "{}", asked.stderr);
        let name = asked.rows()[0]["model"].as_str().unwrap().to_string();
        assert_eq!(
            name.ends_with("+int8"),
            flag == "int8",
            "--precision {flag}: {name}"
        );
    }
}

fn score_with(model: &Path, tmp: &Path) -> Run {
    std::fs::write(tmp.join("a.txt"), "Hello.").unwrap();
    rhetor(
        &[
            "score",
            "--quiet",
            "--model",
            model.to_str().unwrap(),
            "a.txt",
        ],
        None,
        tmp,
    )
}

#[test]
fn copied_model_folder_works() {
    let t = tempfile::tempdir().unwrap();
    let m = model_copy(t.path());
    let run = score_with(&m, t.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn missing_head_file_is_named() {
    let t = tempfile::tempdir().unwrap();
    let m = model_copy(t.path());
    std::fs::remove_file(m.join("head.safetensors")).unwrap();
    let run = score_with(&m, t.path());
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("head.safetensors"), "{}", run.stderr);
}

#[test]
fn corrupt_head_file_is_named() {
    let t = tempfile::tempdir().unwrap();
    let m = model_copy(t.path());
    std::fs::write(m.join("head.safetensors"), b"garbage").unwrap();
    let run = score_with(&m, t.path());
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("head.safetensors"), "{}", run.stderr);
}

#[test]
fn corrupt_manifest_is_named() {
    let t = tempfile::tempdir().unwrap();
    let m = model_copy(t.path());
    std::fs::write(m.join("manifest.json"), b"{\"name\": 3").unwrap();
    let run = score_with(&m, t.path());
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("manifest.json"), "{}", run.stderr);
}

#[test]
fn missing_manifest_is_named() {
    let t = tempfile::tempdir().unwrap();
    let m = model_copy(t.path());
    std::fs::remove_file(m.join("manifest.json")).unwrap();
    let run = score_with(&m, t.path());
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("manifest.json"), "{}", run.stderr);
}

#[test]
fn missing_base_encoder_says_to_run_setup() {
    let t = tempfile::tempdir().unwrap();
    let m = model_copy(t.path());
    edit_manifest(&m, |v| v["base"]["path"] = "not-installed".into());
    let run = score_with(&m, t.path());
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("scripts/setup.sh"), "{}", run.stderr);
}

#[test]
fn mismatched_base_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let m = model_copy(t.path());
    edit_manifest(&m, |v| v["base"]["sha256"] = "0".repeat(64).into());
    let run = score_with(&m, t.path());
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("mismatch") && run.stderr.contains("model.safetensors"),
        "{}",
        run.stderr
    );
}

#[test]
fn unknown_model_name_lists_where_it_looked() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("a.txt"), "Hello.").unwrap();
    let run = rhetor(
        &["score", "--model", "no-such-model", "a.txt"],
        None,
        t.path(),
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no-such-model") && run.stderr.contains("rhetor models"),
        "{}",
        run.stderr
    );
}

#[test]
fn models_command_lists_the_default_model_with_metrics_and_precision() {
    let run = rhetor(&["models"], None, &root());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("rhetor-tone-minilm"), "{}", run.stdout);
    assert!(run.stdout.contains("installed"), "{}", run.stdout);
    let line = |name: &str| {
        run.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} listed: {}", run.stdout))
            .to_string()
    };
    assert!(line("name").contains(" precision "), "{}", run.stdout);
    assert!(
        line("rhetor-tone-minilm").contains(" int8 "),
        "{}",
        run.stdout
    );
    assert!(
        line("rhetor-tone-minilm-linear").contains(" fp32 "),
        "{}",
        run.stdout
    );
}
