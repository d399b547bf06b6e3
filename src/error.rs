//! Typed errors of the rhetor library. Every variant names the input, file or model it is about
//! and, where there is one, what the user can do about it.

use std::path::PathBuf;

/// Errors about one input (an article file, a JSONL line, stdin). One bad input never stops the
/// others from being scored.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The input exists but could not be read (permissions, a device or read error).
    #[error("{source_name}: cannot read: {error}")]
    Io {
        /// The input: a path or `-` for stdin.
        source_name: String,
        /// The I/O error that stopped the read.
        #[source]
        error: std::io::Error,
    },
    /// The path does not exist.
    #[error("{source_name}: not found (check the path)")]
    NotFound {
        /// The path as given.
        source_name: String,
    },
    /// The input is not UTF-8 (a leading byte-order mark is allowed and skipped).
    #[error("{source_name}: invalid UTF-8 at byte {offset}; convert the file to UTF-8 (e.g. `iconv -t UTF-8`)")]
    InvalidUtf8 {
        /// The input: a path, `path:line` for a JSONL line, or `-` for stdin.
        source_name: String,
        /// Byte offset of the first invalid byte, in the file (after any byte-order mark) or
        /// in the JSONL line.
        offset: usize,
    },
    /// The input holds a NUL byte, so it is taken for a binary file and skipped.
    #[error("{source_name}: looks like a binary file (NUL byte at {offset}); give rhetor plain-text articles or JSONL")]
    Binary {
        /// The input: a path, `path:line` for a JSONL line, or `-` for stdin.
        source_name: String,
        /// Byte offset of the first NUL byte, in the file or in the JSONL line.
        offset: usize,
    },
    /// Nothing to score: an article with no text (after any date header), a JSONL article
    /// with a blank `text`, or a directory with no files.
    #[error("{source_name}: the article is empty (no text to score)")]
    Empty {
        /// The input: a path, `path:line` for a JSONL line, `-` for stdin, or a directory
        /// followed by `(directory with no files)`.
        source_name: String,
    },
    /// A date (a text article's `date` header or a JSONL `date`) that is not a valid
    /// `YYYY-MM-DD` day.
    #[error("{source_name}: bad date {value:?}: {reason}; write dates as YYYY-MM-DD")]
    BadDate {
        /// The input: a path, `path:line` for a JSONL line, or `-` for stdin.
        source_name: String,
        /// The date as written.
        value: String,
        /// Why it is not a date (the date parser's message).
        reason: String,
    },
    /// A JSONL line that is not an article (or, with `--input targets`, a target) object, or a
    /// target whose span or mention does not fit its text.
    #[error("{source_name}: malformed JSONL: {reason}")]
    Json {
        /// The bad line, as `path:line`.
        source_name: String,
        /// What is wrong with the line and what it should hold.
        reason: String,
    },
}

impl InputError {
    /// The input (path, `path:line` or `-`) this error is about.
    pub fn source_name(&self) -> &str {
        match self {
            InputError::Io { source_name, .. }
            | InputError::NotFound { source_name }
            | InputError::InvalidUtf8 { source_name, .. }
            | InputError::Binary { source_name, .. }
            | InputError::Empty { source_name }
            | InputError::BadDate { source_name, .. }
            | InputError::Json { source_name, .. } => source_name,
        }
    }
}

/// What to do about a setup or data error: one wording for each remedy, shared by every
/// error that needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    /// The base encoder is missing or damaged.
    InstallBase,
    /// A model needs a base encoder that is not installed: (model, base, package), boxed so
    /// that every error stays small.
    BaseFor(Box<(String, String, String)>),
    /// The VADER lexicon is missing or damaged.
    InstallVader,
    /// A committed model file is missing or damaged.
    RestoreModel,
    /// A model folder's manifest is missing.
    NeedsManifest,
    /// A model's files disagree with its manifest.
    Retrain,
    /// A file could not be read for a reason of its own (permissions, a device).
    CheckFile,
    /// Labeled data that is not where it was looked for.
    SharedData,
    /// A suite manifest that could not be read.
    SuiteManifest,
}

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hint::InstallBase => {
                write!(f, "run `scripts/setup.sh` to (re)install the base encoder")
            }
            Hint::BaseFor(needed) => {
                let (model, base, package) = needed.as_ref();
                write!(
                f,
                "model {model} needs the base encoder {base} ({package}); run `scripts/setup.sh`"
                )
            }
            Hint::InstallVader => write!(
                f,
                "run `scripts/setup.sh` to (re)install the VADER 3.3.2 lexicon"
            ),
            Hint::RestoreModel => write!(
                f,
                "restore it from git (`git checkout -- models/`) or retrain the model"
            ),
            Hint::NeedsManifest => write!(
                f,
                "a model folder needs manifest.json; see models/README.md"
            ),
            Hint::Retrain => write!(f, "retrain the model"),
            Hint::CheckFile => write!(f, "check the file and its permissions"),
            Hint::SharedData => write!(
                f,
                "check the path (the project's labeled data lives in ../shared/data, see its README)"
            ),
            Hint::SuiteManifest => write!(f, "give a suite manifest (TOML with [[suite]] tables)"),
        }
    }
}

/// Errors about a model folder or the runtime behind it. These are setup errors (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// No model folder has this name in the models folders, or the path given is not a folder.
    #[error("model {name:?} not found; looked in: {searched}. Run `rhetor models` to list installed models, or `scripts/setup.sh` to install the base encoder")]
    NotFound {
        /// The `--model` value as given: a model name or a path.
        name: String,
        /// The folders searched, comma-separated, or the path followed by `(no such folder)`.
        searched: String,
    },
    /// A file the model needs is absent from its folder.
    #[error("model folder {dir}: missing file {file}; {hint}")]
    MissingFile {
        /// The folder that should hold the file: a model, the base encoder or the VADER lexicon.
        dir: PathBuf,
        /// The missing file's name within `dir`.
        file: String,
        /// What to do about it.
        hint: Hint,
    },
    /// A model file is present but cannot be used: unreadable, not parseable, or not matching
    /// its manifest (e.g. a sha256 that differs).
    #[error("model file {path}: {reason}; {hint}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
        /// What to do about it.
        hint: Hint,
    },
    /// The installed base encoder's weights are not the ones the model's head was trained on.
    #[error("model {name}: base encoder mismatch: {path} has sha256 {found}, the model was trained on {expected}; run `scripts/setup.sh` to reinstall the base")]
    BaseMismatch {
        /// The model's name, from its manifest.
        name: String,
        /// The base encoder's weights file (`model.safetensors`).
        path: PathBuf,
        /// The weights' sha256 (hex) recorded in the model's manifest.
        expected: String,
        /// The sha256 (hex) of the installed weights.
        found: String,
    },
    /// The device asked for (`--device`) cannot be used with the linked libtorch.
    #[error("device {device} is not available: {reason}; run with --device cpu (a GPU needs a libtorch built for it, see README)")]
    DeviceUnavailable {
        /// The device's name (`cuda:0`, `mps`).
        device: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The libtorch runtime failed (loading weights or running the network); its error is the
    /// source.
    #[error("the torch runtime failed")]
    Torch(#[from] tch::TchError),
    /// A model or its input is inconsistent (a layer the encoder does not have, an axis whose
    /// two poles embed to the same point, an input of the wrong shape); holds the whole message.
    #[error("{0}")]
    Invalid(String),
}

impl ModelError {
    /// [`ModelError::MissingFile`] for `path`: its folder and its name.
    pub fn missing(path: &std::path::Path, hint: Hint) -> ModelError {
        ModelError::MissingFile {
            dir: (path.parent())
                .unwrap_or(std::path::Path::new("."))
                .to_path_buf(),
            file: (path.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            hint,
        }
    }
}

/// Errors while reading labeled data for training or benchmarks.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A data file or suite manifest could not be read.
    #[error("{path}: cannot read: {error}; {hint}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error that stopped the read.
        #[source]
        error: std::io::Error,
        /// What to do about it.
        hint: Hint,
    },
    /// A line of a data file, or a suite manifest, could not be parsed.
    #[error("{path}:{line}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The line number, from 1; 0 when the whole file is at fault (a suite manifest).
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Errors of `rhetor train`.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The labeled data could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The base encoder or a model could not be loaded.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A file or folder could not be read or written: the model being written, its staging
    /// folder, or the base encoder's weights being hashed.
    #[error("{path}: {error}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        error: std::io::Error,
    },
    /// Training cannot go on (e.g. no training examples, or none with a numeric rating for the
    /// tone regression); holds the whole message.
    #[error("{0}")]
    Invalid(String),
}

// Raised by `model/axis.rs`.
/// A problem with an axis file.
#[derive(Debug, thiserror::Error)]
pub enum AxisError {
    /// The file could not be read.
    #[error("cannot read axis file {path}: {source}")]
    Read {
        /// The axis file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or has missing, mistyped or unknown fields.
    #[error("axis file {path} is not valid: {source}\n  see data/axes/README.md for the format")]
    Parse {
        /// The axis file.
        path: PathBuf,
        /// The TOML error, with its position.
        #[source]
        source: toml::de::Error,
    },
    /// The file parses but breaks a rule: a name that is not column-safe or repeats another
    /// axis's, or fewer than two non-empty anchors for a pole.
    #[error("axis file {path}: {reason}")]
    Invalid {
        /// The axis file.
        path: PathBuf,
        /// Which rule it breaks.
        reason: String,
    },
    /// The file's sentence encoder could not be loaded or could not embed the anchors, or the
    /// two poles' anchors embed to the same point.
    #[error("axis file {path}: cannot embed with encoder {encoder}: {source}")]
    Encoder {
        /// The axis file.
        path: PathBuf,
        /// The encoder as the file names it (or the default).
        encoder: String,
        /// The model error.
        #[source]
        source: Box<ModelError>,
    },
}

// Raised by `pipeline.rs`.
/// Why a pipeline could not be built or could not score.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The tone or target model could not be loaded.
    #[error("cannot load model {name}: {source}")]
    Model {
        /// The model as set on the builder (or the default): a name, a folder or `vader`.
        name: String,
        /// Why it could not be loaded.
        #[source]
        source: ModelError,
    },
    /// The actor registry file given to `PipelineBuilder::actors` could not be read or parsed.
    #[error(transparent)]
    Actors(#[from] RegistryError),
    /// The text given to `Pipeline::score_text` is not an article (e.g. empty, or a bad date).
    #[error(transparent)]
    Input(#[from] InputError),
    /// A model failed while scoring.
    #[error(transparent)]
    Score(#[from] ScoreError),
    /// An axis file given to `PipelineBuilder::axis` could not be read, parsed or embedded.
    #[error(transparent)]
    Axis(#[from] AxisError),
}

// Raised by `attribute/registry.rs`.
/// Why an actor registry file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The file could not be read.
    #[error("{path}: cannot read the actor registry: {error}")]
    Io {
        /// The registry file, as given.
        path: String,
        /// The read error.
        #[source]
        error: std::io::Error,
    },
    /// The file is not valid TOML of `[[actor]]` tables, or an actor lacks an id or an alias.
    #[error(
        "{path}: invalid actor registry: {reason}; see the format in src/attribute/actors.toml"
    )]
    Parse {
        /// The registry file, as given (`actors.toml (bundled)` for the bundled one).
        path: String,
        /// What is wrong: the TOML error or the actor missing an id or alias.
        reason: String,
    },
}

// Raised by `score.rs`.
/// Why scoring stopped.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    /// A model (tone, target, explanation or axis) failed on a chunk of sentences.
    #[error(transparent)]
    Model(ModelError),
    /// The row sink (`Emit`) failed, e.g. a closed pipe or a full disk; no more rows are
    /// scored.
    #[error("cannot write output")]
    Output(#[source] std::io::Error),
}

// Raised by `bench/mod.rs`.
/// Why a model could not be benched on a suite.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The suite's file could not be read, or a row of it could not be parsed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The model failed to score the suite's sentences.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A suite without a single labeled row: its metrics would be meaningless.
    #[error("{0}: the suite has no labeled rows; check the file and its format")]
    Empty(std::path::PathBuf),
}
