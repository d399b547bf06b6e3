//! An installed binary works from any directory: `scripts/setup.sh --install DIR` fills a data
//! home, and a copy of the binary (what `cargo install` puts in `ROOT/bin`) finds its models,
//! the VADER lexicon and the bench suites there, not in the current directory.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{require_setup, root};

/// Runs `bin` in `cwd` with none of rhetor's own environment variables but `env`.
fn run(bin: &Path, args: &[&str], cwd: &Path, env: &[(&str, &Path)]) -> common::Run {
    let mut cmd = Command::new(bin);
    for var in ["RHETOR_HOME", "RHETOR_MODELS", "RHETOR_VADER"] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run the installed binary");
    common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Copies the built binary to `dir/rhetor`, as `cargo install --root` does.
fn install_binary(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let bin = dir.join("rhetor");
    std::fs::copy(env!("CARGO_BIN_EXE_rhetor"), &bin).unwrap();
    bin
}

/// Runs `scripts/setup.sh --install home` (set-up itself is already done: stamps only).
fn install_home(home: &Path) {
    let out = Command::new("bash")
        .arg(root().join("scripts/setup.sh"))
        .arg("--install")
        .arg(home)
        .output()
        .expect("run scripts/setup.sh");
    assert!(
        out.status.success(),
        "setup.sh --install failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The folder of each model `rhetor models --json` lists.
fn model_dirs(bin: &Path, cwd: &Path, env: &[(&str, &Path)]) -> Vec<PathBuf> {
    let r = run(bin, &["models", "--json"], cwd, env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&r.stdout).unwrap();
    rows.iter()
        .map(|m| PathBuf::from(m["dir"].as_str().unwrap()))
        .collect()
}

#[test]
fn installed_binary_scores_the_seed_article_from_any_directory_with_the_home_beside_it() {
    require_setup();
    let tmp = tempfile::tempdir().unwrap();
    let bin = install_binary(&tmp.path().join("bin"));
    let home = tmp.path().join("share/rhetor");
    install_home(&home);
    let cwd = tmp.path().join("elsewhere");
    std::fs::create_dir(&cwd).unwrap();

    let dirs = model_dirs(&bin, &cwd, &[]);
    assert!(dirs.len() >= 3, "{dirs:?}");
    let home = home.canonicalize().unwrap();
    for d in &dirs {
        let d = d.canonicalize().unwrap();
        assert!(
            d.starts_with(&home),
            "{} is not in the home {}",
            d.display(),
            home.display()
        );
    }

    let seed = common::seed();
    let r = run(
        &bin,
        &["score", seed.to_str().unwrap(), "--quiet"],
        &cwd,
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(rows.len() > 10, "{}", r.stdout);
    assert!(rows
        .iter()
        .all(|row| row["model"] == "rhetor-tone-minilm+int8" && row["tone"].is_number()));

    let r = run(
        &bin,
        &[
            "bench",
            "--model",
            "vader",
            "--suite",
            "world-rhetoric",
            "--quiet",
        ],
        &cwd,
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("world-rhetoric"), "{}", r.stdout);
}

#[test]
fn rhetor_home_comes_before_the_home_beside_the_binary() {
    require_setup();
    let tmp = tempfile::tempdir().unwrap();
    let bin = install_binary(&tmp.path().join("bin"));
    install_home(&tmp.path().join("share/rhetor"));
    let chosen = tmp.path().join("chosen");
    install_home(&chosen);

    let dirs = model_dirs(&bin, tmp.path(), &[("RHETOR_HOME", &chosen)]);
    let chosen = chosen.canonicalize().unwrap();
    assert!(!dirs.is_empty());
    for d in &dirs {
        let d = d.canonicalize().unwrap();
        assert!(
            d.starts_with(&chosen),
            "{} is not in $RHETOR_HOME",
            d.display()
        );
    }
}
