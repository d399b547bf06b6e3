//! `rhetor models`: lists installed models with their base, size and validation metrics.

use anyhow::Result;
use clap::Args;
use rhetor::model::manifest::Manifest;
use rhetor::model::registry::{list, search_dirs};

use super::EXIT_OK;

/// List installed models with their base encoder, size and validation metrics.
///
/// Example:
///   rhetor models
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ModelsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

pub fn run(args: ModelsArgs) -> Result<i32> {
    let models = list();
    if args.json {
        let rows: Vec<_> = models
            .iter()
            .map(|m| match &m.manifest {
                Ok(man) => serde_json::json!({
                    "name": man.name, "dir": m.dir, "base": man.base.name,
                    "base_installed": man.base_dir(&m.dir).join("model.safetensors").is_file(),
                    "head": man.head.kind, "bytes": dir_size(&m.dir),
                    "validation": man.validation,
                }),
                Err(e) => serde_json::json!({"dir": m.dir, "error": e.to_string()}),
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(EXIT_OK);
    }
    if models.is_empty() {
        let dirs: Vec<String> = search_dirs()
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        outln!("no models found in {}", dirs.join(", "))?;
        return Ok(EXIT_OK);
    }
    // Columns as wide as the longest name and base, so long names do not shift the rest.
    let width = |f: &dyn Fn(&Manifest) -> usize, min: usize| {
        models
            .iter()
            .filter_map(|m| m.manifest.as_ref().ok())
            .map(f)
            .max()
            .unwrap_or(0)
            .max(min)
    };
    let nw = width(&|m| m.name.chars().count(), 22);
    let bw = width(&|m| m.base.name.chars().count(), 18);
    outln!(
        "{:<nw$} {:<bw$} {:<9} {:<9} {:>8} {:>8} {:>8}  base",
        "name",
        "base",
        "head",
        "precision",
        "size",
        "r",
        "F1"
    )?;
    for m in &models {
        match &m.manifest {
            Ok(man) => {
                let o = &man.validation["overall"];
                let f = |v: &serde_json::Value| {
                    v.as_f64()
                        .map(|x| format!("{x:.3}"))
                        .unwrap_or_else(|| "-".into())
                };
                let installed = man.base_dir(&m.dir).join("model.safetensors").is_file();
                outln!(
                    "{:<nw$} {:<bw$} {:<9} {:<9} {:>7}K {:>8} {:>8}  {}",
                    man.name,
                    man.base.name,
                    format!("{:?}", man.head.kind).to_lowercase(),
                    format!("{:?}", man.precision).to_lowercase(),
                    dir_size(&m.dir) / 1024,
                    f(&o["pearson"]),
                    f(&o["macro_f1"]),
                    if installed {
                        "installed"
                    } else {
                        "MISSING: run scripts/setup.sh"
                    }
                )?;
            }
            Err(e) => outln!("{:<nw$} broken: {e}", m.dir.display())?,
        }
    }
    Ok(EXIT_OK)
}
