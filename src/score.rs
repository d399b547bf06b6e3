//! Scoring driver: segments articles, batches their sentences across articles (so that a
//! directory of short articles still fills batches) and attaches each tone to its sentence.

use crate::error::ModelError;
use crate::ingest::{Article, Layout};
use crate::model::{Tone, ToneModel};
use crate::report::{ArticleFields, Row};
use crate::segment::{segment_article, Span};

/// How many sentences are scored per call to the model; bounds memory on large inputs while
/// leaving the model enough units to sort by length.
pub const CHUNK_UNITS: usize = 4096;

/// Segments every article and returns `(article index, span)` pairs in reading order.
pub fn units(articles: &[Article]) -> Vec<(usize, Span)> {
    articles
        .iter()
        .enumerate()
        .flat_map(|(i, a)| segment_article(a).into_iter().map(move |s| (i, s)))
        .collect()
}

/// Builds the output row of one scored unit.
pub fn row(article: &Article, span: &Span, tone: &Tone, model: &str) -> Row {
    let fields = match article.layout {
        Layout::Prose => Some(ArticleFields {
            article: article.id.clone(),
            date: article.date,
            title: article.title.clone(),
        }),
        Layout::Lines => None,
    };
    Row {
        article: fields,
        source: article.source.clone(),
        index: span.index,
        start: span.start,
        end: span.end,
        text: span.text.clone(),
        tone: tone.tone,
        label: tone.label,
        probs: tone.probs,
        model: model.to_string(),
        truncated: tone.truncated,
    }
}

/// Scores all units of `articles` with `model`, calling `emit` for each row in reading order
/// and `progress` with `(units scored so far, total units)`.
pub fn score_articles(
    articles: &[Article],
    model: &dyn ToneModel,
    progress: &dyn Fn(usize, usize),
    emit: &mut dyn FnMut(Row) -> std::io::Result<()>,
) -> Result<usize, ScoreError> {
    let all = units(articles);
    let total = all.len();
    progress(0, total);
    let mut done = 0usize;
    for chunk in all.chunks(CHUNK_UNITS) {
        let texts: Vec<&str> = chunk.iter().map(|(_, s)| s.text.as_str()).collect();
        let base = done;
        let tones = model
            .score(&texts, &|k| progress(base + k, total))
            .map_err(ScoreError::Model)?;
        for ((ai, span), tone) in chunk.iter().zip(&tones) {
            emit(row(&articles[*ai], span, tone, model.name())).map_err(ScoreError::Output)?;
        }
        done += chunk.len();
    }
    Ok(done)
}

#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error(transparent)]
    Model(ModelError),
    #[error("cannot write output: {0}")]
    Output(std::io::Error),
}
