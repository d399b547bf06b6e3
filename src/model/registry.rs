//! Finds model folders: `--model` takes a path to a folder with `manifest.json`, or a name
//! looked up in `$RHETOR_MODELS`, `./models` and the `models/` folder of each data home
//! ([`crate::home`]).

use std::path::{Path, PathBuf};

use super::manifest::{Manifest, MANIFEST_FILE};
use crate::error::ModelError;

/// The model used when `--model` is not given.
pub const DEFAULT_MODEL: &str = "rhetor-tone-minilm";

/// The default target-dependent model (tone toward each mentioned actor).
pub const DEFAULT_TARGET_MODEL: &str = "rhetor-target-minilm";

/// Folders searched for models by name, in order, without duplicates.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("RHETOR_MODELS") {
        dirs.push(PathBuf::from(d));
    }
    dirs.push(PathBuf::from("models"));
    dirs.extend(crate::home::all("models"));
    crate::home::dedup(dirs)
}

/// Resolves `--model NAME|PATH` to a model folder.
pub fn resolve(name_or_path: &str) -> Result<PathBuf, ModelError> {
    let p = Path::new(name_or_path);
    if p.is_dir() && (p.join(MANIFEST_FILE).exists() || name_or_path.contains('/')) {
        return Ok(p.to_path_buf());
    }
    if name_or_path.contains('/') || name_or_path.contains(std::path::MAIN_SEPARATOR) {
        return Err(ModelError::NotFound {
            name: name_or_path.into(),
            searched: format!("{} (no such folder)", p.display()),
        });
    }
    let dirs = search_dirs();
    for d in &dirs {
        let cand = d.join(name_or_path);
        if cand.is_dir() {
            return Ok(cand);
        }
    }
    Err(ModelError::NotFound {
        name: name_or_path.into(),
        searched: dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// An installed model found by [`list`].
#[derive(Debug)]
pub struct Installed {
    /// The model folder.
    pub dir: PathBuf,
    /// Its manifest, or the error reading or checking it.
    pub manifest: Result<Manifest, ModelError>,
}

/// Every folder with a `manifest.json` in the search folders (broken ones included, with
/// their error).
pub fn list() -> Vec<Installed> {
    let mut out = Vec::new();
    let mut names = Vec::new();
    for d in search_dirs() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join(MANIFEST_FILE).is_file())
            .collect();
        dirs.sort();
        for dir in dirs {
            let name = dir.file_name().map(|n| n.to_os_string());
            if names.contains(&name) {
                continue;
            }
            names.push(name);
            out.push(Installed {
                manifest: Manifest::read(&dir),
                dir,
            });
        }
    }
    out
}
