//! Flag groups shared by subcommands (`#[command(flatten)]`), each with the step that
//! resolves it into what the library needs: parse (clap) → resolve (these methods) → run.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use rhetor::attribute::registry::Registry;
use rhetor::model::device::{self, Device};
use rhetor::model::registry::{DEFAULT_MODEL, DEFAULT_TARGET_MODEL};
use rhetor::model::transformer::{Precision, Settings};
use rhetor::model::ToneModel;
use rhetor::score::Models;

use super::set_threads;

/// How the transformer runs: `score`, `chart` and `bench`.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Runtime")]
pub struct RuntimeFlags {
    /// Sentences per forward pass (sentences are sorted by length and padded per batch).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub batch_size: u64,
    /// CPU threads for the transformer [default: the CPUs available to the process: affinity
    /// and cgroup quota].
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Where the transformer runs: cpu, cuda, cuda:N or mps (a GPU needs a libtorch built for
    /// it; the one `scripts/setup.sh` installs is CPU-only).
    #[arg(long, default_value = "cpu", value_parser = device::parse)]
    pub device: Device,
}

impl RuntimeFlags {
    /// `--batch-size` as a count.
    pub fn batch(&self) -> usize {
        self.batch_size as usize
    }

    /// Sets libtorch's threads from `--threads`.
    pub fn apply(&self) {
        set_threads(self.threads);
    }
}

/// Which models score and with which actors: `score` and `chart`.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Models")]
pub struct ModelFlags {
    /// Model name (in the models folder), path to a model folder, or `vader` (the VADER 3.3.2
    /// lexicon baseline). [default: rhetor-tone-minilm; with `--input targets`, the target
    /// model]
    #[arg(long)]
    pub model: Option<String>,
    /// Target-dependent model for the tone toward each target (`none`: the sentence's tone).
    /// [default: rhetor-target-minilm; with `--model vader`, none]
    #[arg(long)]
    pub target_model: Option<String>,
    /// Actor registry (TOML) added to the bundled one; same ids override.
    #[arg(long)]
    pub actors: Option<PathBuf>,
    /// Arithmetic of the transformer's linear layers: int8 (quantized at load) or fp32 (as
    /// trained). Rows name the model `NAME+int8` in int8. [default: the model's own, from its
    /// manifest]
    #[arg(long, value_enum)]
    pub precision: Option<Precision>,
    #[command(flatten)]
    pub runtime: RuntimeFlags,
}

/// The models [`ModelFlags`] name, loaded.
pub struct Loaded {
    /// The actor registry (bundled plus `--actors`).
    pub registry: Registry,
    /// The sentence tone model.
    pub tone: Box<dyn ToneModel>,
    /// The target-dependent model, if any.
    pub target: Option<Box<dyn ToneModel>>,
}

impl Loaded {
    /// The models for the scorer, without explanations or axes.
    pub fn models(&self) -> Models<'_> {
        Models {
            tone: self.tone.as_ref(),
            actors: Some(&self.registry),
            target: self.target.as_deref(),
            explain: None,
            axes: None,
        }
    }
}

impl ModelFlags {
    /// The sentence tone model's name: `--model`, or the default model.
    pub fn model(&self) -> &str {
        self.model.as_deref().unwrap_or(DEFAULT_MODEL)
    }

    /// Model settings from these flags (`max_length`: `None` is the model's own).
    pub fn settings(&self, max_length: Option<usize>) -> Settings {
        Settings {
            batch_size: self.runtime.batch(),
            max_length,
            precision: self.precision,
            device: self.runtime.device,
        }
    }

    /// Sets the threads, reads the actor registry and loads the tone model, and the target
    /// model when `targets` (rows of `--input lines` have no targets: loading it there would
    /// only cost start-up time and memory).
    pub fn load(&self, max_length: Option<usize>, targets: bool) -> Result<Loaded> {
        let registry = match &self.actors {
            Some(p) => Registry::with_file(p)?,
            None => Registry::bundled(),
        };
        self.runtime.apply();
        if !targets {
            if let Some(name) = self.target_model.as_deref().filter(|&n| n != "none") {
                eprintln!("rhetor: note: --input lines rows have no targets; --target-model {name} is not used");
            }
        }
        let (tone, target) = rhetor::model::side_by_side(
            || rhetor::model::load(self.model(), self.settings(max_length)),
            || match targets {
                true => self.load_target_model(),
                false => Ok(None),
            },
        );
        let tone = tone.with_context(|| format!("cannot load model {}", self.model()))?;
        let target = target?;
        Ok(Loaded {
            registry,
            tone,
            target,
        })
    }

    /// Loads `--target-model`: `none` disables it; the default model may be absent (targets then
    /// get the sentence's tone, with a note); any other name must load. Unless one is asked for, a
    /// lexicon run (`--model vader`) uses none: the lexicon's sentence tone goes to the targets,
    /// rather than a transformer costing ten times the lexicon's time.
    fn load_target_model(&self) -> Result<Option<Box<dyn ToneModel>>> {
        let name = match self.target_model.as_deref() {
            Some(name) => name,
            None if self.model() == "vader" => {
                eprintln!("rhetor: note: --model vader: targets get VADER's sentence tone (give --target-model to score them with a target model)");
                return Ok(None);
            }
            None => DEFAULT_TARGET_MODEL,
        };
        if name == "none" {
            return Ok(None);
        }
        match rhetor::model::load(name, self.settings(None)) {
            Ok(m) => Ok(Some(m)),
            Err(rhetor::ModelError::NotFound { .. }) if name == DEFAULT_TARGET_MODEL => {
                eprintln!(
                    "rhetor: note: target model {name} not installed; targets get the sentence's tone"
                );
                Ok(None)
            }
            Err(e) => {
                Err(anyhow::Error::new(e).context(format!("cannot load target model {name}")))
            }
        }
    }
}
