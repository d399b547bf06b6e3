//! The library's front door: one [`Pipeline`] that holds the loaded models and actors and
//! scores text, articles or sentences into the same [`Row`]s `rhetor score` writes.
//!
//! ```no_run
//! use rhetor::Pipeline;
//!
//! let pipeline = Pipeline::builder().build()?; // the default tone and target models
//! let rows = pipeline.score_text(
//!     "date 2024-12-29 Kim called the US a hostile state. Trump praised Kim.",
//! )?;
//! for row in &rows {
//!     println!("{:+.2} {:?} {}", row.tone, row.quad, row.text);
//! }
//! # Ok::<(), rhetor::PipelineError>(())
//! ```

use std::path::PathBuf;

use crate::attribute::registry::Registry;
use crate::explain::Explainer;
use crate::ingest::{parse_text_article, Article, Layout};
use crate::model::axis::Axes;
use crate::model::registry::{DEFAULT_MODEL, DEFAULT_TARGET_MODEL};
use crate::model::transformer::Settings;
use crate::model::{self, ToneModel};
use crate::report::Row;
use crate::score::{add_extras, row, score_articles, Models, ScoreError};
use crate::segment::Span;

pub use crate::error::PipelineError;

/// Chooses the models and actors of a [`Pipeline`].
#[derive(Debug, Clone)]
pub struct PipelineBuilder {
    model: String,
    target_model: Option<String>,
    actors: Option<PathBuf>,
    settings: Settings,
    explain: Option<usize>,
    axes: Vec<PathBuf>,
}

impl PipelineBuilder {
    /// The sentence tone model: a name in the models folder, a model folder, or `vader`
    /// (default `rhetor-tone-minilm`).
    pub fn model(mut self, name_or_path: &str) -> Self {
        self.model = name_or_path.to_string();
        self
    }

    /// The target-dependent model for the tone toward each target, or `None` for the
    /// sentence's tone (default `rhetor-target-minilm`).
    pub fn target_model(mut self, name_or_path: Option<&str>) -> Self {
        self.target_model = name_or_path.map(str::to_string);
        self
    }

    /// An actor registry (TOML) added to the bundled one; same ids override.
    pub fn actors(mut self, path: impl Into<PathBuf>) -> Self {
        self.actors = Some(path.into());
        self
    }

    /// Units per forward pass (default 32).
    pub fn batch_size(mut self, units: usize) -> Self {
        self.settings.batch_size = units.max(1);
        self
    }

    /// Where the transformers run (default the CPU; see [`crate::model::device`]). `build`
    /// fails with [`ModelError::DeviceUnavailable`](crate::error::ModelError::DeviceUnavailable)
    /// when the linked libtorch cannot use it.
    pub fn device(mut self, device: crate::model::device::Device) -> Self {
        self.settings.device = device;
        self
    }

    /// Explain every row's tone with up to `top` phrases (`rhetor score --explain`).
    pub fn explain(mut self, top: usize) -> Self {
        self.explain = Some(top);
        self
    }

    /// Score every row on the rhetoric axis in this file (`rhetor score --axis`); repeatable.
    pub fn axis(mut self, path: impl Into<PathBuf>) -> Self {
        self.axes.push(path.into());
        self
    }

    /// Loads the models and the actors.
    pub fn build(self) -> Result<Pipeline, PipelineError> {
        let load = |name: &str| {
            model::load(name, self.settings.clone()).map_err(|source| PipelineError::Model {
                name: name.to_string(),
                source,
            })
        };
        let (tone, target) = model::side_by_side(
            || load(&self.model),
            || self.target_model.as_deref().map(load).transpose(),
        );
        let (tone, target) = (tone?, target?);
        let actors = match &self.actors {
            Some(p) => Registry::with_file(p)?,
            None => Registry::bundled(),
        };
        let axes = match self.axes.is_empty() {
            true => None,
            false => Some(Axes::load(
                &self.axes,
                self.settings.batch_size,
                self.settings.device,
            )?),
        };
        Ok(Pipeline {
            tone,
            target,
            actors,
            explain: self.explain.map(Explainer::new),
            axes,
        })
    }
}

/// Loaded models and actors; scores text into rows (see the [module docs](self)).
pub struct Pipeline {
    tone: Box<dyn ToneModel>,
    target: Option<Box<dyn ToneModel>>,
    actors: Registry,
    explain: Option<Explainer>,
    axes: Option<Axes>,
}

impl Pipeline {
    /// A builder with the defaults of `rhetor score`.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder {
            model: DEFAULT_MODEL.to_string(),
            target_model: Some(DEFAULT_TARGET_MODEL.to_string()),
            actors: None,
            settings: Settings::default(),
            explain: None,
            axes: Vec::new(),
        }
    }

    fn models(&self) -> Models<'_> {
        Models {
            tone: self.tone.as_ref(),
            actors: Some(&self.actors),
            target: self.target.as_deref(),
            explain: self.explain.as_ref(),
            axes: self.axes.as_ref(),
        }
    }

    /// Scores one article given as text, as `rhetor score` reads a text file: the first line
    /// may begin `date YYYY-MM-DD`. The article's id is `text`.
    pub fn score_text(&self, text: &str) -> Result<Vec<Row>, PipelineError> {
        let article = parse_text_article("text", text)?;
        self.score_article(&article)
    }

    /// Scores every sentence of one article, with speakers and targets.
    pub fn score_article(&self, article: &Article) -> Result<Vec<Row>, PipelineError> {
        let mut rows = Vec::new();
        score_articles(
            std::slice::from_ref(article),
            self.models(),
            &|_| {},
            &mut |r| {
                rows.push(r);
                Ok(())
            },
        )?;
        Ok(rows)
    }

    /// Scores sentences as given, one row each in order, never re-segmented (as `--input
    /// lines`); each row's offsets span its whole sentence.
    pub fn score_sentences(&self, sentences: &[&str]) -> Result<Vec<Row>, PipelineError> {
        let source = Article {
            id: "sentences".into(),
            source: "sentences".into(),
            date: None,
            title: None,
            text: String::new(),
            layout: Layout::Lines,
        };
        let tones = self
            .tone
            .score(sentences, &|_| {})
            .map_err(|e| PipelineError::Score(ScoreError::Model(e)))?;
        let mut rows: Vec<Row> = sentences
            .iter()
            .zip(&tones)
            .enumerate()
            .map(|(index, (text, tone))| {
                let span = Span {
                    index,
                    start: 0,
                    end: text.chars().count(),
                    text: text.to_string(),
                };
                row(&source, &span, None, tone, self.tone.name())
            })
            .collect();
        add_extras(self.models(), sentences, &tones, &mut rows)?;
        Ok(rows)
    }
}
