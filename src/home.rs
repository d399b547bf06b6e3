//! The data home: where rhetor finds its models, the VADER lexicon and the bench suites at
//! run time, so that a binary copied anywhere (`cargo install --path .`) works from any
//! directory.
//!
//! A data home is a folder laid out like the source checkout: `models/`, `.deps/vader/`,
//! `benches/suites.toml` (with `benches/suites/`) and `data/`. `scripts/setup.sh --install DIR`
//! fills one. Homes are searched in this order, first match wins per file:
//! 1. `$RHETOR_HOME`;
//! 2. next to the executable: `<bin>/../share/rhetor` (the layout of `cargo install --root R`);
//! 3. the checkout the binary was built from, if it still exists;
//! 4. the platform data folder (`$XDG_DATA_HOME/rhetor`, usually `~/.local/share/rhetor`).

use std::path::{Path, PathBuf};

/// Environment variable naming a data home searched before all others.
pub const HOME_ENV: &str = "RHETOR_HOME";

/// The data homes, in search order, without duplicates. Homes that do not exist are kept so
/// that error messages can say where rhetor looked.
pub fn roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(d) = std::env::var_os(HOME_ENV).filter(|d| !d.is_empty()) {
        roots.push(PathBuf::from(d));
    }
    let exe = std::env::current_exe().and_then(|e| e.canonicalize());
    if let Some(prefix) = exe
        .as_deref()
        .ok()
        .and_then(Path::parent)
        .and_then(Path::parent)
    {
        roots.push(prefix.join("share/rhetor"));
    }
    roots.push(checkout());
    if let Some(d) = dirs::data_dir() {
        roots.push(d.join("rhetor"));
    }
    dedup(roots)
}

/// The source checkout the binary was compiled from (it may since have moved or gone).
pub fn checkout() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `rel` inside the first home that has it, or inside the first home when none has it (so a
/// later "not found" error names the most specific place).
pub fn find(rel: impl AsRef<Path>) -> PathBuf {
    let rel = rel.as_ref();
    let roots = roots();
    roots
        .iter()
        .map(|r| r.join(rel))
        .find(|p| p.exists())
        .unwrap_or_else(|| roots[0].join(rel))
}

/// `rel` inside every home, in search order (for folders whose contents are merged, such as
/// `models/`).
pub fn all(rel: impl AsRef<Path>) -> Vec<PathBuf> {
    roots().into_iter().map(|r| r.join(rel.as_ref())).collect()
}

/// Environment variable naming rhetor's cache folder.
pub const CACHE_ENV: &str = "RHETOR_CACHE";

/// rhetor's cache folder, for what can be rebuilt at any time (`scripts/setup.sh`'s wheels,
/// training's embeddings, int8 encoders): `$RHETOR_CACHE`, else `$XDG_CACHE_HOME/rhetor`,
/// else `~/.cache/rhetor`, else `target/rhetor-cache`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os(CACHE_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("rhetor");
    }
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/rhetor"))
        .unwrap_or_else(|| PathBuf::from("target/rhetor-cache"))
}

/// Removes later entries that name the same folder as an earlier one.
pub(crate) fn dedup(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut seen = Vec::new();
    paths
        .into_iter()
        .filter(|d| {
            let key = d.canonicalize().unwrap_or_else(|_| d.clone());
            let new = !seen.contains(&key);
            if new {
                seen.push(key);
            }
            new
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keeps_first_of_equal_folders() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().to_path_buf();
        let b = d.path().join("x/..");
        std::fs::create_dir(d.path().join("x")).unwrap();
        let c = d.path().join("missing");
        assert_eq!(dedup(vec![a.clone(), b, c.clone(), c.clone()]), vec![a, c]);
    }

    #[test]
    fn checkout_is_a_home_with_models() {
        assert!(roots().contains(&checkout()) || std::env::var_os(HOME_ENV).is_some());
        assert!(checkout().join("models").is_dir());
    }
}
