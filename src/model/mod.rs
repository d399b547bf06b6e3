//! Model: the fourth pipeline stage. A [`ToneModel`] scores a batch of units and returns one
//! [`Tone`] per unit. The transformer (MiniLM encoder + a trained head, in [`transformer`]) and
//! test doubles implement it the same way. rust-bert and tch stay inside this module (and
//! `train`, which fits what this module loads).

mod attention;
pub mod axis;
pub mod bert;
pub mod device;
pub mod encoder;
mod epilogue;
pub mod head;
mod int8_cache;
pub mod manifest;
mod omp;
mod qlinear;
pub mod registry;
mod simd;
pub mod transformer;
pub mod vader;

use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// The three tone classes, in the order of the probability vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Hostile, negative tone (index 0 of the probability vectors).
    Negative,
    /// Neither: for a [`Tone`], |tone| is inside the model's neutral band (index 1).
    Neutral,
    /// Warm, positive tone (index 2).
    Positive,
}

impl Label {
    /// The three classes, in the order of the probability vectors ([`Probs::as_array`]).
    pub const ALL: [Label; 3] = [Label::Negative, Label::Neutral, Label::Positive];

    /// The name used in JSON, CSV and training data (`negative`, `neutral`, `positive`).
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Negative => "negative",
            Label::Neutral => "neutral",
            Label::Positive => "positive",
        }
    }

    /// Position in [`Label::ALL`] and in the probability vectors (0, 1 or 2).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The class at position `i` of [`Label::ALL`]; indices above 2 give [`Label::Positive`].
    pub fn from_index(i: usize) -> Label {
        Label::ALL[i.min(2)]
    }

    /// The class of a tone in [-1, 1] with a symmetric neutral band `(-band, band)`.
    pub fn from_tone(tone: f32, band: f32) -> Label {
        if tone <= -band {
            Label::Negative
        } else if tone >= band {
            Label::Positive
        } else {
            Label::Neutral
        }
    }
}

/// Class probabilities, serialised as `{"negative":…, "neutral":…, "positive":…}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Probs {
    /// Probability of [`Label::Negative`], in [0, 1].
    pub negative: f32,
    /// Probability of [`Label::Neutral`], in [0, 1].
    pub neutral: f32,
    /// Probability of [`Label::Positive`], in [0, 1].
    pub positive: f32,
}

impl Probs {
    /// From `[negative, neutral, positive]` (the [`Label::ALL`] order).
    pub fn from_array(p: [f32; 3]) -> Self {
        Probs {
            negative: p[0],
            neutral: p[1],
            positive: p[2],
        }
    }

    /// As `[negative, neutral, positive]` (the [`Label::ALL`] order).
    pub fn as_array(&self) -> [f32; 3] {
        [self.negative, self.neutral, self.positive]
    }

    /// The most probable class; ties go to the earlier class in [`Label::ALL`].
    pub fn argmax(&self) -> Label {
        let a = self.as_array();
        let mut best = 0;
        for i in 1..3 {
            if a[i] > a[best] {
                best = i;
            }
        }
        Label::from_index(best)
    }
}

/// The event-data dimension of a sentence: the CAMEO QuadClass (as used by GDELT and ICEWS) of
/// the event or speech act it reports, or `None` when it reports no interaction. See
/// data/rhetoric/GUIDE.md for the mapping of the 20 CAMEO root codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quad {
    /// CAMEO roots 01-05: statements, appeals, intent to cooperate, consultations, diplomacy.
    VerbalCooperation,
    /// CAMEO roots 06-08: material cooperation, aid, yielding.
    MaterialCooperation,
    /// CAMEO roots 09-13: investigations, demands, disapproval, rejection, threats.
    VerbalConflict,
    /// CAMEO roots 14-20: protests, force posture, reduced relations, coercion, assault, fighting.
    MaterialConflict,
    /// No interaction between actors (statistics, background).
    None,
}

impl Quad {
    /// The five classes, in the order of [`QuadScore::probs`].
    pub const ALL: [Quad; 5] = [
        Quad::VerbalCooperation,
        Quad::MaterialCooperation,
        Quad::VerbalConflict,
        Quad::MaterialConflict,
        Quad::None,
    ];

    /// The name used in JSON, CSV and the corpus (`verbal_cooperation`, …, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            Quad::VerbalCooperation => "verbal_cooperation",
            Quad::MaterialCooperation => "material_cooperation",
            Quad::VerbalConflict => "verbal_conflict",
            Quad::MaterialConflict => "material_conflict",
            Quad::None => "none",
        }
    }

    /// Parses a class name as written by [`Quad::as_str`].
    pub fn parse(name: &str) -> Option<Quad> {
        Quad::ALL.into_iter().find(|q| q.as_str() == name)
    }

    /// Position in [`Quad::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The quad class of a sentence and the five class probabilities (in [`Quad::ALL`] order).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuadScore {
    /// The most probable class of `probs`.
    pub label: Quad,
    /// Temperature-scaled class probabilities in [0, 1], summing to 1, in [`Quad::ALL`] order.
    pub probs: [f32; 5],
}

impl QuadScore {
    /// The arg-max class of `probs`.
    pub fn from_probs(probs: [f32; 5]) -> Self {
        let mut best = 0;
        for i in 1..5 {
            if probs[i] > probs[best] {
                best = i;
            }
        }
        QuadScore {
            label: Quad::ALL[best],
            probs,
        }
    }
}

/// The tone of one unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tone {
    /// -1 (hostile, negative) .. 1 (warm, positive).
    pub tone: f32,
    /// The class of `tone`: neutral exactly when |tone| is inside the model's neutral band, so
    /// the label never disagrees with the tone's sign.
    pub label: Label,
    /// The classifier's temperature-scaled class probabilities.
    pub probs: Probs,
    /// The unit had more tokens than the model's maximum length; the tail was not seen.
    pub truncated: bool,
    /// The quad class, for models that have a quad head.
    pub quad: Option<QuadScore>,
}

/// Loads a model by `--model` value: `vader` is the lexicon baseline; anything else is a
/// transformer model folder name or path.
pub fn load(
    name_or_path: &str,
    settings: transformer::Settings,
) -> Result<Box<dyn ToneModel>, ModelError> {
    if name_or_path == "vader" {
        return Ok(Box::new(vader::Vader::load(&vader::default_dir())?));
    }
    let dir = registry::resolve(name_or_path)?;
    Ok(Box::new(transformer::TransformerModel::load(
        &dir, settings,
    )?))
}

/// One target to score: a sentence and the character span (`from..to`) of the mention.
#[derive(Debug, Clone, Copy)]
pub struct TargetItem<'a> {
    /// The whole sentence.
    pub text: &'a str,
    /// Start of the mention in `text`, in characters (not bytes), inclusive.
    pub from: usize,
    /// End of the mention in `text`, in characters (not bytes), exclusive.
    pub to: usize,
}

/// Reports how many units of the current call have been scored so far.
pub type Progress<'a> = &'a dyn Fn(usize);

/// A model that scores the tone of sentences. Implementations batch internally; `score` returns
/// one [`Tone`] per text, in order. Models are `Send` so that several can load at once.
pub trait ToneModel: Send {
    /// The name written in every output row.
    fn name(&self) -> &str;
    /// The tone of each text, in order; `progress` is called with the number of texts of this
    /// call scored so far.
    fn score(&self, texts: &[&str], progress: Progress<'_>) -> Result<Vec<Tone>, ModelError>;
    /// The tone toward each target (a sentence and a mention's character span). Models that
    /// are not target-dependent give the sentence's tone.
    fn score_targets(
        &self,
        items: &[TargetItem<'_>],
        progress: Progress<'_>,
    ) -> Result<Vec<Tone>, ModelError> {
        let texts: Vec<&str> = items.iter().map(|i| i.text).collect();
        self.score(&texts, progress)
    }
    /// True when `score_targets` really depends on the mention.
    fn is_target_dependent(&self) -> bool {
        false
    }
    /// Model tokens the texts turn into (for tokens/s), when the model has a tokenizer.
    fn count_tokens(&self, _texts: &[&str]) -> Option<usize> {
        None
    }
}

/// Runs `here` on this thread and `there` on a second one at the same time, and returns both
/// results: the tone and target models load side by side (a one-sentence article spends most
/// of its time loading them). A panic in `there` is resumed here.
pub fn side_by_side<A, B: Send>(
    here: impl FnOnce() -> A,
    there: impl FnOnce() -> B + Send,
) -> (A, B) {
    std::thread::scope(|s| {
        let other = s.spawn(there);
        let a = here();
        let b = other
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (a, b)
    })
}

/// Runs `f` over the items in batches of at most `batch`, taken in order of `lens` (so a
/// batch holds sequences of similar length and carries little padding), and returns the
/// outputs in the items' own order. `f` gets the indices of one batch and returns one output
/// per index, in that order. The longest batch runs first: every later batch then fits in the
/// memory the allocator got back from an earlier one, where shortest-first made each batch a
/// little larger than any freed block, so the heap grew and every batch faulted in fresh pages
/// (on 1,000 news sentences in int8: 143,000 → 117,000 page faults, peak RSS 645 → 540 MB,
/// the same as for one sentence; outputs identical).
pub fn in_length_order<T, E>(
    lens: &[usize],
    batch: usize,
    mut f: impl FnMut(&[usize]) -> Result<Vec<T>, E>,
) -> Result<Vec<T>, E> {
    let order = by_length(lens);
    let mut out: Vec<Option<T>> = std::iter::repeat_with(|| None).take(lens.len()).collect();
    for chunk in order.chunks(batch.max(1)).rev() {
        for (&i, y) in chunk.iter().zip(f(chunk)?) {
            out[i] = Some(y);
        }
    }
    Ok(out.into_iter().flatten().collect())
}

/// [`in_length_order`] with the batches run by `workers` threads at once, each running
/// libtorch on one intra-op thread (with `workers` ≤ 1, in turn on this thread), and
/// `progress` called on this thread with the running count. One batch per core keeps both
/// cores busy through the parts of a forward pass that run on one thread (rhetor's int8
/// quantize and rescale passes, libtorch's dispatch), where one batch on two libtorch threads
/// left the second core spinning in OpenMP. A sentence's result does not depend on which
/// batch or thread scores it (the batches are the same as [`in_length_order`]'s). The first
/// error stops the workers after their current batch.
pub fn in_length_order_parallel<T: Send, E: Send>(
    lens: &[usize],
    batch: usize,
    workers: usize,
    f: impl Fn(&[usize]) -> Result<Vec<T>, E> + Sync,
    progress: Progress<'_>,
) -> Result<Vec<T>, E> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut done = 0;
    let workers = workers.min(lens.len().div_ceil(batch.max(1)));
    if workers <= 1 {
        return in_length_order(lens, batch, |chunk| {
            let ys = f(chunk)?;
            done += chunk.len();
            progress(done);
            Ok(ys)
        });
    }
    let order = by_length(lens);
    let chunks: Vec<&[usize]> = order.chunks(batch.max(1)).rev().collect();
    let mut out: Vec<Option<T>> = std::iter::repeat_with(|| None).take(lens.len()).collect();
    let (f, next) = (&f, AtomicUsize::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let mut failure = None;
    std::thread::scope(|s| {
        for _ in 0..workers {
            let (tx, next, chunks) = (tx.clone(), &next, &chunks);
            s.spawn(move || {
                tch::set_num_threads(1);
                while let Some(chunk) = chunks.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if tx.send((*chunk, f(chunk))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (chunk, result) in rx {
            match result {
                Ok(ys) => {
                    for (&i, y) in chunk.iter().zip(ys) {
                        out[i] = Some(y);
                    }
                    done += chunk.len();
                    progress(done);
                }
                Err(e) => {
                    next.store(chunks.len(), Ordering::Relaxed);
                    failure.get_or_insert(e);
                }
            }
        }
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(out.into_iter().flatten().collect()),
    }
}

/// The indices of `lens`, shortest first (stable).
fn by_length(lens: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..lens.len()).collect();
    order.sort_by_key(|&i| lens[i]);
    order
}

/// Sets libtorch's intra-op threads (0 = the CPUs this process may use, as
/// `std::thread::available_parallelism` reports them: CPU affinity and cgroup quota count)
/// and one inter-op thread, so several processes on one machine do not oversubscribe it.
pub fn set_threads(threads: usize) {
    let n = if threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        threads
    };
    tch::set_num_threads(n as i32);
    tch::set_num_interop_threads(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_batches_return_the_same_order_report_progress_and_stop_on_an_error() {
        let lens: Vec<usize> = (0..50).map(|i| (i * 7) % 13).collect();
        let seen = std::sync::Mutex::new(Vec::new());
        let progress = |n: usize| seen.lock().unwrap().push(n);
        for workers in [1, 2, 3] {
            seen.lock().unwrap().clear();
            let out = in_length_order_parallel(
                &lens,
                4,
                workers,
                |b| Ok::<_, ()>(b.iter().map(|&i| i * 10).collect()),
                &progress,
            );
            assert_eq!(out.unwrap(), (0..50).map(|i| i * 10).collect::<Vec<_>>());
            let seen = seen.lock().unwrap();
            assert_eq!(seen.last(), Some(&50), "{workers} workers");
            assert!(seen.windows(2).all(|w| w[0] < w[1]));
        }
        let failed = in_length_order_parallel(
            &lens,
            4,
            2,
            |b| {
                if b.contains(&7) {
                    Err(7)
                } else {
                    Ok(b.to_vec())
                }
            },
            &|_| {},
        );
        assert_eq!(failed, Err(7));
    }

    #[test]
    fn in_length_order_batches_by_length_longest_first_and_restores_order() {
        let lens = [5, 1, 3, 1, 4];
        let mut seen = Vec::new();
        let out = in_length_order(&lens, 2, |b| {
            seen.push(b.to_vec());
            Ok::<_, ()>(b.iter().map(|&i| i * 10).collect())
        })
        .unwrap();
        assert_eq!(seen, [vec![0], vec![2, 4], vec![1, 3]]);
        assert_eq!(out, [0, 10, 20, 30, 40]);
    }

    #[test]
    fn labels_serialise_lowercase_and_follow_the_probability_order() {
        assert_eq!(
            serde_json::to_string(&Label::Negative).unwrap(),
            "\"negative\""
        );
        let p = Probs::from_array([0.1, 0.2, 0.7]);
        assert_eq!(p.argmax(), Label::Positive);
        assert_eq!(Probs::from_array([0.5, 0.3, 0.2]).argmax(), Label::Negative);
        assert_eq!(Label::from_tone(-0.3, 0.2), Label::Negative);
        assert_eq!(Label::from_tone(0.1, 0.2), Label::Neutral);
    }
}
