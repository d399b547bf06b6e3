//! Scoring driver: segments articles, batches their sentences across articles (so that a
//! directory of short articles still fills batches) and attaches each tone to its sentence.

use crate::attribute::registry::Registry;
use crate::attribute::{attribute_article, Attribution};
use crate::explain::Explainer;
use crate::ingest::{Article, Layout};
use crate::model::axis::Axes;
use crate::model::{TargetItem, Tone, ToneModel};
use crate::report::{ArticleFields, QuadProbs, Row, RowAttribution, TargetTone};
use crate::segment::{segment_article, Span};

pub use crate::error::ScoreError;

/// How many sentences are scored per call to the model; bounds memory on large inputs while
/// leaving the model enough units to sort by length.
pub const CHUNK_UNITS: usize = 4096;

/// One unit to score: its article, its span, and (for prose) who speaks and is spoken of.
pub type Unit = (usize, Span, Option<Attribution>);

/// Segments (and, with a registry, attributes) one article; its units in reading order,
/// each tagged with `index`, the article's position among those being scored.
pub fn units_of(index: usize, article: &Article, actors: Option<&Registry>) -> Vec<Unit> {
    let spans = segment_article(article);
    let attrs = match (article.layout, actors) {
        (Layout::Prose, Some(reg)) => attribute_article(reg, &article.text, &spans)
            .into_iter()
            .map(Some)
            .collect(),
        _ => vec![None; spans.len()],
    };
    spans
        .into_iter()
        .zip(attrs)
        .map(|(s, at)| (index, s, at))
        .collect()
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
        axes: Default::default(),
        explanation: None,
    }
}

/// The models and actors a run scores with.
#[derive(Clone, Copy)]
pub struct Models<'a> {
    /// The sentence tone model.
    pub tone: &'a dyn ToneModel,
    /// Registry of actors for attribution (`None`: no speakers or targets).
    pub actors: Option<&'a Registry>,
    /// Target-dependent model for the tone toward each target (`None`: the sentence's tone).
    pub target: Option<&'a dyn ToneModel>,
    /// Explain each sentence's tone by occlusion (`None`: no explanations).
    pub explain: Option<&'a Explainer>,
    /// User-defined rhetoric axes to score each sentence on (`None`: none).
    pub axes: Option<&'a Axes>,
}

impl<'a> Models<'a> {
    /// A tone model alone: no attribution, target model, explanations or axes.
    pub fn tone(tone: &'a dyn ToneModel) -> Self {
        Models {
            tone,
            actors: None,
            target: None,
            explain: None,
            axes: None,
        }
    }
}

/// Scores articles as they arrive: their sentences are gathered into chunks of
/// [`CHUNK_UNITS`] (across articles, so that short articles still fill batches), and each
/// chunk's rows are emitted in reading order as soon as it is scored. Memory holds one chunk
/// and the articles it refers to, whatever the size of the input; a long article is split
/// across chunks.
pub struct Scorer<'a> {
    models: Models<'a>,
    progress: &'a dyn Fn(usize),
    chunk: usize,
    /// Articles that pending units refer to (the first may be partly scored already).
    articles: Vec<Article>,
    pending: Vec<Unit>,
    scored: usize,
}

impl<'a> Scorer<'a> {
    /// A scorer calling `progress` with the number of units scored so far.
    pub fn new(models: Models<'a>, progress: &'a dyn Fn(usize)) -> Self {
        Scorer {
            models,
            progress,
            chunk: CHUNK_UNITS,
            articles: Vec::new(),
            pending: Vec::new(),
            scored: 0,
        }
    }

    /// Scores at most `units` sentences per chunk (default [`CHUNK_UNITS`]; at least 1).
    /// Smaller chunks use less memory and write rows sooner; the rows are the same.
    pub fn with_chunk(mut self, units: usize) -> Self {
        self.chunk = units.max(1);
        self
    }

    /// Units scored so far.
    pub fn scored(&self) -> usize {
        self.scored
    }

    /// Units seen so far (scored or waiting for a full chunk).
    pub fn seen(&self) -> usize {
        self.scored + self.pending.len()
    }

    /// Adds one article; scores every full chunk, passing its rows to `emit`.
    pub fn push(&mut self, article: Article, emit: &mut Emit<'_>) -> Result<(), ScoreError> {
        let index = self.articles.len();
        self.pending
            .extend(units_of(index, &article, self.models.actors));
        self.articles.push(article);
        while self.pending.len() >= self.chunk {
            self.score_front(self.chunk, emit)?;
        }
        Ok(())
    }

    /// Scores what is left; returns the number of units scored in all.
    pub fn finish(mut self, emit: &mut Emit<'_>) -> Result<usize, ScoreError> {
        if !self.pending.is_empty() {
            self.score_front(self.pending.len(), emit)?;
        }
        Ok(self.scored)
    }

    /// Scores and emits the first `n` pending units, then drops the articles no pending unit
    /// refers to.
    fn score_front(&mut self, n: usize, emit: &mut Emit<'_>) -> Result<(), ScoreError> {
        let rest = self.pending.split_off(n);
        let chunk = std::mem::replace(&mut self.pending, rest);
        let base = self.scored;
        let progress = self.progress;
        score_chunk(
            self.models,
            &self.articles,
            &chunk,
            &|k| progress(base + k),
            emit,
        )?;
        self.scored += chunk.len();
        let keep_from = self.pending.first().map_or(self.articles.len(), |u| u.0);
        self.articles.drain(..keep_from);
        for unit in &mut self.pending {
            unit.0 -= keep_from;
        }
        Ok(())
    }
}

/// Where scored rows go; an error stops scoring (e.g. a closed pipe).
pub type Emit<'e> = dyn FnMut(Row) -> std::io::Result<()> + 'e;

/// Scores all `articles` (see [`Scorer`]), calling `emit` for each row in reading order and
/// `progress` with the number of units scored so far; returns the number of units.
pub fn score_articles(
    articles: &[Article],
    models: Models<'_>,
    progress: &dyn Fn(usize),
    emit: &mut Emit<'_>,
) -> Result<usize, ScoreError> {
    let mut scorer = Scorer::new(models, progress);
    for a in articles {
        scorer.push(a.clone(), emit)?;
    }
    scorer.finish(emit)
}

/// Scores one chunk of units: sentence tones, then (with a target model) the tone toward
/// each target, one (sentence, first mention) pair per target.
fn score_chunk(
    models: Models<'_>,
    articles: &[Article],
    chunk: &[Unit],
    progress: &dyn Fn(usize),
    emit: &mut Emit<'_>,
) -> Result<(), ScoreError> {
    let texts: Vec<&str> = chunk.iter().map(|(_, s, _)| s.text.as_str()).collect();
    let tones = models
        .tone
        .score(&texts, progress)
        .map_err(ScoreError::Model)?;
    let targets = match models.target {
        Some(tm) => Some((tm.name(), target_tones(tm, chunk)?)),
        None => None,
    };
    let mut extras = Extras::of(models, &texts, &tones)?;
    for (k, ((ai, span, at), tone)) in chunk.iter().zip(&tones).enumerate() {
        let mut r = row(&articles[*ai], span, at.as_ref(), tone, models.tone.name());
        extras.fill(k, &mut r);
        if let (Some((name, per)), Some(ra)) = (&targets, &mut r.attribution) {
            for (t, tt) in ra.targets.iter_mut().zip(&per[k]) {
                if let Some(tt) = tt {
                    t.tone = tt.tone;
                    t.label = tt.label;
                    t.source = name.to_string();
                }
            }
        }
        emit(r).map_err(ScoreError::Output)?;
    }
    Ok(())
}

/// Adds explanations and axis scores (when `models` asks for them) to rows scored from `texts`
/// with `tones`, one row per text.
pub fn add_extras(
    models: Models<'_>,
    texts: &[&str],
    tones: &[Tone],
    rows: &mut [Row],
) -> Result<(), ScoreError> {
    let mut extras = Extras::of(models, texts, tones)?;
    for (k, r) in rows.iter_mut().enumerate() {
        extras.fill(k, r);
    }
    Ok(())
}

/// What `--explain` and `--axis` add to the rows of one chunk.
struct Extras<'a> {
    explanations: Option<Vec<Vec<crate::row::Phrase>>>,
    axes: Option<(Vec<&'a str>, Vec<Vec<f32>>)>,
}

impl<'a> Extras<'a> {
    fn of(models: Models<'a>, texts: &[&str], tones: &[Tone]) -> Result<Self, ScoreError> {
        let explanations = match models.explain {
            Some(x) => Some(
                x.explain(models.tone, texts, tones)
                    .map_err(ScoreError::Model)?,
            ),
            None => None,
        };
        let axes = match models.axes {
            Some(ax) => Some((
                ax.names(),
                ax.score(texts, &|_| {}).map_err(ScoreError::Model)?,
            )),
            None => None,
        };
        Ok(Extras { explanations, axes })
    }

    /// Moves unit `k`'s explanation and axis scores into its row.
    fn fill(&mut self, k: usize, r: &mut Row) {
        if let Some(ex) = &mut self.explanations {
            r.explanation = Some(std::mem::take(&mut ex[k]));
        }
        if let Some((names, scores)) = &self.axes {
            r.axes = names
                .iter()
                .zip(&scores[k])
                .map(|(n, v)| (n.to_string(), crate::row::round4(*v)))
                .collect();
        }
    }
}

/// The target model's tone toward each target of each unit (`None` where a target has no
/// mention in the sentence).
fn target_tones(tm: &dyn ToneModel, chunk: &[Unit]) -> Result<Vec<Vec<Option<Tone>>>, ScoreError> {
    let mut items = Vec::new();
    let mut owners = Vec::new();
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
    Ok(per)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ModelError;
    use crate::model::{Label, Probs, Progress};

    /// A model without libtorch: the tone follows the text's length, so every sentence of a
    /// chunk gets its own score and a row mixed up with another's would show.
    struct Fake;

    impl ToneModel for Fake {
        fn name(&self) -> &str {
            "fake"
        }

        fn score(&self, texts: &[&str], progress: Progress<'_>) -> Result<Vec<Tone>, ModelError> {
            progress(texts.len());
            Ok(texts
                .iter()
                .map(|t| {
                    let tone = (t.chars().count() % 17) as f32 / 8.0 - 1.0;
                    Tone {
                        tone,
                        label: Label::from_tone(tone, 0.1),
                        probs: Probs::from_array([0.2, 0.6, 0.2]),
                        truncated: false,
                        quad: None,
                    }
                })
                .collect())
        }
    }

    fn article(id: &str, sentences: usize) -> Article {
        let text = (0..sentences)
            .map(|k| format!("Sentence {k} of {id}{}.", "!".repeat(k)))
            .collect::<Vec<_>>()
            .join(" ");
        Article {
            id: id.into(),
            source: format!("{id}.txt"),
            date: None,
            title: None,
            text,
            layout: Layout::Prose,
        }
    }

    fn rows(articles: &[Article], chunk: usize) -> Vec<Row> {
        let models = Models::tone(&Fake);
        let mut scorer = Scorer::new(models, &|_| {}).with_chunk(chunk);
        let mut out = Vec::new();
        let mut emit = |r: Row| {
            out.push(r);
            Ok(())
        };
        for a in articles {
            scorer.push(a.clone(), &mut emit).unwrap();
        }
        let n = scorer.finish(&mut emit).unwrap();
        assert_eq!(n, out.len());
        out
    }

    #[test]
    fn rows_do_not_depend_on_how_articles_fall_into_chunks() {
        let articles: Vec<Article> = [3, 1, 5, 2, 4]
            .iter()
            .enumerate()
            .map(|(i, &n)| article(&format!("a{i}"), n))
            .collect();
        let whole = rows(&articles, 1000);
        assert_eq!(whole.len(), 15);
        for chunk in [1, 2, 3, 4, 7] {
            assert_eq!(rows(&articles, chunk), whole, "chunk {chunk}");
        }
    }

    #[test]
    fn rows_of_a_full_chunk_are_emitted_before_the_input_ends() {
        let models = Models::tone(&Fake);
        let mut scorer = Scorer::new(models, &|_| {}).with_chunk(4);
        let mut emitted = 0;
        let mut emit = |_: Row| {
            emitted += 1;
            Ok(())
        };
        scorer.push(article("a", 3), &mut emit).unwrap();
        scorer.push(article("b", 3), &mut emit).unwrap();
        assert_eq!(scorer.scored(), 4);
        assert_eq!(scorer.seen(), 6);
        assert_eq!(scorer.finish(&mut emit).unwrap(), 6);
        assert_eq!(emitted, 6);
    }
}
