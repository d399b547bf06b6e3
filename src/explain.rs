//! Explain: which words and phrases moved a sentence's tone, by occlusion.
//!
//! Each word (or, in a long sentence, each run of words) is deleted in turn and the sentence
//! scored again; a word's effect is the tone of the whole sentence minus the tone without it
//! (positive: the word pulled the tone towards warm; negative: towards hostile). The strongest
//! words are merged with strong neighbours of the same sign into phrases, whose effect is
//! measured by deleting the whole phrase. Occlusion works with any [`ToneModel`] (the
//! transformer and VADER alike) and measures exactly what the user asks ("what if this phrase
//! were not there?"), which gradient methods only approximate; [`faithfulness`] checks it
//! against deleting random phrases of the same length.
//!
//! Cost: a sentence of n words takes about n + 2 extra forward passes (batched across the
//! chunk), so `--explain` is roughly 20–30× slower than plain scoring on news sentences.

use std::cell::Cell;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::ModelError;
use crate::model::{Tone, ToneModel};
use crate::row::{round4, Phrase};

/// Longest sentence, in occlusion units, explained word by word; longer sentences are cut
/// into this many runs of adjacent words.
pub const MAX_UNITS: usize = 48;

/// Effects smaller than this are not reported (the scores are printed to 4 decimals and a
/// smaller change is noise).
pub const MIN_EFFECT: f32 = 0.01;

/// Explains sentence tones by occlusion; keeps count of the time it spends.
#[derive(Debug)]
pub struct Explainer {
    /// Phrases reported per sentence.
    pub top: usize,
    spent: Cell<Duration>,
    sentences: Cell<usize>,
}

impl Explainer {
    /// An explainer reporting up to `top` phrases per sentence.
    pub fn new(top: usize) -> Self {
        Explainer {
            top: top.max(1),
            spent: Cell::new(Duration::ZERO),
            sentences: Cell::new(0),
        }
    }

    /// Sentences explained so far and the time spent on them.
    pub fn cost(&self) -> (usize, Duration) {
        (self.sentences.get(), self.spent.get())
    }

    /// The phrases that moved each text's tone most (strongest first), given the texts' tones
    /// from the same `model`.
    pub fn explain(
        &self,
        model: &dyn ToneModel,
        texts: &[&str],
        tones: &[Tone],
    ) -> Result<Vec<Vec<Phrase>>, ModelError> {
        let began = Instant::now();
        let out = explain(model, texts, tones, self.top);
        self.spent.set(self.spent.get() + began.elapsed());
        self.sentences.set(self.sentences.get() + texts.len());
        out
    }
}

/// A contiguous run of words: byte range and character range in the sentence.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Span {
    bytes: (usize, usize),
    chars: (usize, usize),
}

impl Span {
    fn join(self, other: Span) -> Span {
        Span {
            bytes: (self.bytes.0, other.bytes.1),
            chars: (self.chars.0, other.chars.1),
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// The words of `text` (runs of letters and digits, with inner apostrophes, hyphens and
/// periods as in "don't", "anti-US", "U.S"), cut into at most `max` runs of adjacent words.
fn units(text: &str, max: usize) -> Vec<Span> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_word_char(chars[i].1) {
            i += 1;
            continue;
        }
        let from = i;
        while i < chars.len()
            && (is_word_char(chars[i].1)
                || (matches!(chars[i].1, '\'' | '’' | '-' | '.')
                    && chars.get(i + 1).is_some_and(|c| is_word_char(c.1))))
        {
            i += 1;
        }
        let end_byte = chars.get(i).map_or(text.len(), |c| c.0);
        words.push(Span {
            bytes: (chars[from].0, end_byte),
            chars: (from, i),
        });
    }
    let per = words.len().div_ceil(max.max(1)).max(1);
    words
        .chunks(per)
        .map(|run| run[0].join(run[run.len() - 1]))
        .collect()
}

/// `text` with the byte range `span` deleted, and the space before it when a space or a
/// closing mark follows.
fn without(text: &str, span: (usize, usize)) -> String {
    let (head, tail) = (&text[..span.0], &text[span.1..]);
    let closes = tail
        .chars()
        .next()
        .is_none_or(|c| c == ' ' || matches!(c, ',' | '.' | ';' | ':' | '!' | '?' | ')'));
    if head.is_empty() {
        tail.trim_start().to_string()
    } else if head.ends_with(' ') && closes {
        format!("{}{}", &head[..head.len() - 1], tail)
    } else {
        format!("{head}{tail}")
    }
}

/// Tones of `text` without each span, scored in one call for all texts.
fn occlude(
    model: &dyn ToneModel,
    variants: &[(usize, String)],
    full: &[Tone],
) -> Result<Vec<f32>, ModelError> {
    let refs: Vec<&str> = variants.iter().map(|(_, t)| t.as_str()).collect();
    let tones = model.score(&refs, &|_| {})?;
    Ok(variants
        .iter()
        .zip(tones)
        .map(|((k, _), t)| full[*k].tone - t.tone)
        .collect())
}

/// See [`Explainer::explain`].
pub fn explain(
    model: &dyn ToneModel,
    texts: &[&str],
    tones: &[Tone],
    top: usize,
) -> Result<Vec<Vec<Phrase>>, ModelError> {
    let spans: Vec<Vec<Span>> = texts.iter().map(|t| units(t, MAX_UNITS)).collect();
    let mut variants = Vec::new();
    for (k, (text, sp)) in texts.iter().zip(&spans).enumerate() {
        variants.extend(sp.iter().map(|s| (k, without(text, s.bytes))));
    }
    let mut effects = occlude(model, &variants, tones)?.into_iter();
    let candidates: Vec<Vec<(Span, f32)>> = spans
        .iter()
        .map(|sp| {
            let eff: Vec<f32> = effects.by_ref().take(sp.len()).collect();
            phrases_from_words(sp, &eff, top)
        })
        .collect();
    // Merged phrases: measure their own effect by deleting them whole.
    let mut merged = Vec::new();
    for (k, cands) in candidates.iter().enumerate() {
        for (j, (s, _)) in cands.iter().enumerate() {
            if !spans[k].contains(s) {
                merged.push((k, j, without(texts[k], s.bytes)));
            }
        }
    }
    let variants: Vec<(usize, String)> = merged.iter().map(|(k, _, t)| (*k, t.clone())).collect();
    let merged_effects = occlude(model, &variants, tones)?;
    let mut candidates = candidates;
    for ((k, j, _), e) in merged.iter().zip(merged_effects) {
        candidates[*k][*j].1 = e;
    }
    Ok(candidates
        .into_iter()
        .zip(texts)
        .map(|(mut c, text)| {
            c.retain(|(_, e)| e.abs() >= MIN_EFFECT);
            c.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
            c.truncate(top);
            c.into_iter().map(|(s, e)| phrase(text, s, e)).collect()
        })
        .collect())
}

/// The `2 × top` strongest words, with neighbours of the same sign merged into one phrase;
/// in reading order. A merged phrase's effect is filled in by the caller.
fn phrases_from_words(spans: &[Span], effects: &[f32], top: usize) -> Vec<(Span, f32)> {
    let mut order: Vec<usize> = (0..spans.len()).collect();
    order.sort_by(|&a, &b| effects[b].abs().total_cmp(&effects[a].abs()));
    let mut chosen: Vec<usize> = order
        .into_iter()
        .take(2 * top)
        .filter(|&i| effects[i].abs() >= MIN_EFFECT)
        .collect();
    chosen.sort_unstable();
    let mut out: Vec<(Span, f32, usize)> = Vec::new();
    for i in chosen {
        match out.last_mut() {
            Some((s, e, last)) if *last + 1 == i && e.signum() == effects[i].signum() => {
                *s = s.join(spans[i]);
                *last = i;
            }
            _ => out.push((spans[i], effects[i], i)),
        }
    }
    out.into_iter().map(|(s, e, _)| (s, e)).collect()
}

fn phrase(text: &str, s: Span, effect: f32) -> Phrase {
    Phrase {
        text: text[s.bytes.0..s.bytes.1].to_string(),
        start: s.chars.0,
        end: s.chars.1,
        effect: round4(effect),
    }
}

/// How well explanations pass the deletion test: deleting the top phrase of a sentence should
/// move its tone more than deleting a random run of as many words.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Faithfulness {
    /// Sentences with a top phrase and room for a different random phrase.
    pub sentences: usize,
    /// Share of those where the top phrase moved the tone more (a tie counts half).
    pub top_wins: f64,
    /// Mean |tone change| when the top phrase is deleted.
    pub mean_top: f64,
    /// Mean |tone change| when the random phrase is deleted.
    pub mean_random: f64,
}

/// Runs the deletion test on `texts` (random phrases drawn with `seed`).
pub fn faithfulness(
    model: &dyn ToneModel,
    texts: &[&str],
    seed: u64,
) -> Result<Faithfulness, ModelError> {
    let tones = model.score(texts, &|_| {})?;
    let explained = explain(model, texts, &tones, 1)?;
    let mut rng = SplitMix(seed);
    let mut tops = Vec::new();
    let mut variants = Vec::new();
    for (k, (text, ex)) in texts.iter().zip(&explained).enumerate() {
        let Some(top) = ex.first() else { continue };
        let words = units(text, usize::MAX);
        let len = words
            .iter()
            .filter(|w| w.chars.0 >= top.start && w.chars.1 <= top.end)
            .count()
            .max(1);
        let starts: Vec<usize> = (0..=words.len().saturating_sub(len))
            .filter(|&i| words[i].chars.0 != top.start)
            .collect();
        if words.len() < len || starts.is_empty() {
            continue;
        }
        let i = starts[(rng.next() % starts.len() as u64) as usize];
        let span = words[i].join(words[i + len - 1]);
        variants.push((k, without(text, span.bytes)));
        tops.push(top.effect.abs() as f64);
    }
    let randoms: Vec<f64> = occlude(model, &variants, &tones)?
        .into_iter()
        .map(|e| e.abs() as f64)
        .collect();
    let n = tops.len();
    let wins: f64 = tops
        .iter()
        .zip(&randoms)
        .map(|(t, r)| match t.total_cmp(r) {
            std::cmp::Ordering::Greater => 1.0,
            std::cmp::Ordering::Equal => 0.5,
            std::cmp::Ordering::Less => 0.0,
        })
        .sum();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    Ok(Faithfulness {
        sentences: n,
        top_wins: wins / n.max(1) as f64,
        mean_top: mean(&tops),
        mean_random: mean(&randoms),
    })
}

/// SplitMix64: a small seeded generator for reproducible random phrases.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Label, Probs, Progress};

    /// Tone −0.5 per "threatened", +0.3 per "praised", clamped; everything else is neutral.
    struct Lexicon;

    impl ToneModel for Lexicon {
        fn name(&self) -> &str {
            "lexicon"
        }

        fn score(&self, texts: &[&str], _: Progress<'_>) -> Result<Vec<Tone>, ModelError> {
            Ok(texts
                .iter()
                .map(|t| {
                    let tone = (t.matches("threatened").count() as f32 * -0.5
                        + t.matches("praised").count() as f32 * 0.3)
                        .clamp(-1.0, 1.0);
                    Tone {
                        tone,
                        label: Label::from_tone(tone, 0.1),
                        probs: Probs::from_array([0.3, 0.4, 0.3]),
                        truncated: false,
                        quad: None,
                    }
                })
                .collect())
        }
    }

    #[test]
    fn words_keep_inner_apostrophes_and_hyphens_and_report_char_offsets() {
        let text = "Égypte's anti-US \"stance\" — don't.";
        let w: Vec<&str> = units(text, MAX_UNITS)
            .iter()
            .map(|s| &text[s.bytes.0..s.bytes.1])
            .collect();
        assert_eq!(w, ["Égypte's", "anti-US", "stance", "don't"]);
        assert_eq!(units(text, MAX_UNITS)[1].chars, (9, 16));
    }

    #[test]
    fn long_sentences_are_cut_into_at_most_max_runs() {
        let text = (0..100)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let u = units(&text, 48);
        assert!(u.len() <= 48 && u.len() >= 34, "{}", u.len());
        assert_eq!(u[0].bytes.0, 0);
        assert_eq!(u.last().unwrap().bytes.1, text.len());
    }

    #[test]
    fn deleting_a_word_leaves_one_space() {
        assert_eq!(without("a bb c", (2, 4)), "a c");
        assert_eq!(without("a bb", (2, 4)), "a");
        assert_eq!(without("bb c", (0, 2)), "c");
        assert_eq!(without("a bb, c", (2, 4)), "a, c");
    }

    #[test]
    fn the_word_that_carries_the_tone_is_the_explanation_with_its_sign() {
        let texts = ["Ministers threatened the envoy but praised the talks."];
        let tones = Lexicon.score(&texts, &|_| {}).unwrap();
        let ex = explain(&Lexicon, &texts, &tones, 3).unwrap();
        let got: Vec<(&str, f32)> = ex[0].iter().map(|p| (p.text.as_str(), p.effect)).collect();
        assert_eq!(got, [("threatened", -0.5), ("praised", 0.3)]);
        assert_eq!(ex[0][0].start, 10);
        assert_eq!(ex[0][0].end, 20);
    }

    #[test]
    fn a_neutral_sentence_has_no_explanation() {
        let texts = ["The ministers met on Tuesday."];
        let tones = Lexicon.score(&texts, &|_| {}).unwrap();
        assert!(explain(&Lexicon, &texts, &tones, 3).unwrap()[0].is_empty());
    }

    #[test]
    fn top_phrases_beat_random_phrases_on_the_deletion_test() {
        let texts = [
            "Officials threatened the neighbours over the dam on the river.",
            "The president praised the mediators for their patient work in the capital.",
            "Rebels threatened to cut the road to the port again next week.",
        ];
        let f = faithfulness(&Lexicon, &texts, 7).unwrap();
        assert_eq!(f.sentences, 3);
        assert_eq!(f.top_wins, 1.0);
        assert!(f.mean_top > 0.3 && f.mean_random == 0.0, "{f:?}");
    }
}
