//! rhetor scores the tone of every sentence of dated news articles with a local transformer.
//!
//! The pipeline, one module per stage, in order:
//! 1. [`ingest`]: text files, directories, JSONL, stdin or raw lines → [`ingest::Article`]s;
//! 2. [`segment`]: articles → sentences with character offsets ([`segment::Span`]);
//! 3. [`tokenize`]: sentences → WordPiece token ids;
//! 4. [`model`]: token ids → [`model::Tone`] per sentence (the [`model::ToneModel`] trait);
//! 5. [`report`]: scored rows → JSONL, CSV or a table.
//!
//! [`explain`] says which phrases moved a tone (occlusion) and [`model::axis`] scores
//! user-defined rhetoric axes; both add fields to the rows.
//!
//! [`Pipeline`] is the front door: load the models once, then score text, articles or
//! sentences into the rows `rhetor score` writes. [`score`] drives stages 1–4 across
//! articles in chunks; [`train`] fits the tone heads that
//! [`model`] loads; [`bench`](mod@bench) runs models over labeled suites.

#![warn(missing_docs)]

pub mod aggregate;
pub mod attribute;
pub mod bench;
pub mod chart;
pub mod data;
pub mod error;
pub mod explain;
pub mod home;
pub mod ingest;
pub mod metrics;
pub mod model;
pub mod pipeline;
pub mod report;
pub mod row;
pub mod score;
pub mod segment;
pub mod tokenize;
pub mod train;

pub use error::{DataError, InputError, ModelError, TrainError};
pub use ingest::Article;
pub use model::{Label, Quad, Tone, ToneModel};
pub use pipeline::{Pipeline, PipelineBuilder, PipelineError};
pub use report::Row;
