//! Scoring driver: segments articles, batches their sentences across articles (so that a
//! directory of short articles still fills batches) and attaches each tone to its sentence.

use crate::attribute::registry::Registry;
use crate::attribute::{attribute_article, Attribution};
use crate::error::ModelError;
use crate::ingest::{Article, Layout};
use crate::model::{TargetItem, Tone, ToneModel};
use crate::report::{ArticleFields, QuadProbs, Row, RowAttribution, TargetTone};
use crate::segment::{segment_article, Span};

/// How many sentences are scored per call to the model; bounds memory on large inputs while
/// leaving the model enough units to sort by length.
pub const CHUNK_UNITS: usize = 4096;

/// One unit to score: its article, its span, and (for prose) who speaks and is spoken of.
pub type Unit = (usize, Span, Option<Attribution>);

/// Segments (and, with a registry, attributes) every article; units in reading order.
pub fn units(articles: &[Article], actors: Option<&Registry>) -> Vec<Unit> {
    let mut out = Vec::new();
    for (i, a) in articles.iter().enumerate() {
        let spans = segment_article(a);
        let attrs = match (a.layout, actors) {
            (Layout::Prose, Some(reg)) => attribute_article(reg, &a.text, &spans)
                .into_iter()
                .map(Some)
                .collect(),
            _ => vec![None; spans.len()],
        };
        out.extend(spans.into_iter().zip(attrs).map(|(s, at)| (i, s, at)));
    }
    out
}

/// Builds the output row of one scored unit.
pub fn row(
    article: &Article,
    span: &Span,
    attribution: Option<&Attribution>,
    tone: &Tone,
    model: &str,
) -> Row {
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
        quad: tone.quad.map(|q| q.label),
        quad_probs: tone.quad.map(|q| QuadProbs::from_array(q.probs)),
        model: model.to_string(),
        truncated: tone.truncated,
        attribution: attribution.map(|at| RowAttribution {
            speaker: at.speaker.clone(),
            targets: at
                .targets
                .iter()
                .map(|t| TargetTone {
                    actor: t.clone(),
                    tone: tone.tone,
                    label: tone.label,
                    source: "sentence".into(),
                })
                .collect(),
            mentions: at.mentions.clone(),
        }),
    }
}

/// Scores all units of `articles` with `model`, calling `emit` for each row in reading order
/// and `progress` with `(units scored so far, total units)`.
pub fn score_articles(
    articles: &[Article],
    model: &dyn ToneModel,
    actors: Option<&Registry>,
    target_model: Option<&dyn ToneModel>,
    progress: &dyn Fn(usize, usize),
    emit: &mut dyn FnMut(Row) -> std::io::Result<()>,
) -> Result<usize, ScoreError> {
    let all = units(articles, actors);
    let total = all.len();
    progress(0, total);
    let mut done = 0usize;
    for chunk in all.chunks(CHUNK_UNITS) {
        let texts: Vec<&str> = chunk.iter().map(|(_, s, _)| s.text.as_str()).collect();
        let base = done;
        let tones = model
            .score(&texts, &|k| progress(base + k, total))
            .map_err(ScoreError::Model)?;
        // Tone toward each target: one (sentence, first mention) pair per target.
        let mut items = Vec::new();
        let mut owners = Vec::new();
        if let Some(tm) = target_model {
            for (k, (_, span, at)) in chunk.iter().enumerate() {
                let Some(at) = at else { continue };
                for (t, actor) in at.targets.iter().enumerate() {
                    if let Some(m) = at.mentions.iter().find(|m| &m.actor == actor) {
                        items.push(TargetItem {
                            text: span.text.as_str(),
                            from: m.start,
                            to: m.end,
                        });
                        owners.push((k, t));
                    }
                }
            }
            let scored = tm
                .score_targets(&items, &|_| {})
                .map_err(ScoreError::Model)?;
            let mut per: Vec<Vec<Option<Tone>>> = chunk
                .iter()
                .map(|(_, _, at)| vec![None; at.as_ref().map_or(0, |a| a.targets.len())])
                .collect();
            for ((k, t), tone) in owners.into_iter().zip(scored) {
                per[k][t] = Some(tone);
            }
            for ((ai, span, at), (tone, tt)) in chunk.iter().zip(tones.iter().zip(per)) {
                let mut r = row(&articles[*ai], span, at.as_ref(), tone, model.name());
                if let Some(ra) = &mut r.attribution {
                    for (t, tt) in ra.targets.iter_mut().zip(tt) {
                        if let Some(tt) = tt {
                            t.tone = tt.tone;
                            t.label = tt.label;
                            t.source = tm.name().to_string();
                        }
                    }
                }
                emit(r).map_err(ScoreError::Output)?;
            }
            done += chunk.len();
            continue;
        }
        for ((ai, span, at), tone) in chunk.iter().zip(&tones) {
            emit(row(&articles[*ai], span, at.as_ref(), tone, model.name()))
                .map_err(ScoreError::Output)?;
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
