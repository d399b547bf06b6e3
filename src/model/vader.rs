//! VADER 3.3.2 (Hutto & Gilbert, ICWSM 2014), ported rule for rule from vaderSentiment 3.3.2's
//! `vaderSentiment.py`: lexicon valences, boosters and dampeners, negation (including "n't",
//! "never so/this", "without doubt"), ALL-CAPS emphasis, "but", "least", "kind of", special
//! idioms, exclamation and question-mark emphasis and emoji descriptions. Quirks of the
//! reference are kept on purpose (e.g. `_but_check` rescales the first equal score), because
//! parity with Python VADER is the point. The lexicon files come from the PyPI wheel, installed
//! by `scripts/setup.sh` into `.deps/vader`.
//!
//! As a [`ToneModel`]: tone = compound; label = negative below -0.05, positive above 0.05
//! (VADER's documented thresholds); probabilities = VADER's neg/neu/pos proportions.

use std::path::{Path, PathBuf};

use super::{Label, Probs, Progress, Tone, ToneModel};
use crate::error::{Hint, ModelError};

const B_INCR: f64 = 0.293;
const B_DECR: f64 = -0.293;
const C_INCR: f64 = 0.733;
const N_SCALAR: f64 = -0.74;

const NEGATE: &[&str] = &[
    "aint",
    "arent",
    "cannot",
    "cant",
    "couldnt",
    "darent",
    "didnt",
    "doesnt",
    "ain't",
    "aren't",
    "can't",
    "couldn't",
    "daren't",
    "didn't",
    "doesn't",
    "dont",
    "hadnt",
    "hasnt",
    "havent",
    "isnt",
    "mightnt",
    "mustnt",
    "neither",
    "don't",
    "hadn't",
    "hasn't",
    "haven't",
    "isn't",
    "mightn't",
    "mustn't",
    "neednt",
    "needn't",
    "never",
    "none",
    "nope",
    "nor",
    "not",
    "nothing",
    "nowhere",
    "oughtnt",
    "shant",
    "shouldnt",
    "uhuh",
    "wasnt",
    "werent",
    "oughtn't",
    "shan't",
    "shouldn't",
    "uh-uh",
    "wasn't",
    "weren't",
    "without",
    "wont",
    "wouldnt",
    "won't",
    "wouldn't",
    "rarely",
    "seldom",
    "despite",
];

const BOOSTERS_UP: &[&str] = &[
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerable",
    "considerably",
    "decidedly",
    "deeply",
    "effing",
    "enormous",
    "enormously",
    "entirely",
    "especially",
    "exceptional",
    "exceptionally",
    "extreme",
    "extremely",
    "fabulously",
    "flipping",
    "flippin",
    "frackin",
    "fracking",
    "fricking",
    "frickin",
    "frigging",
    "friggin",
    "fully",
    "fuckin",
    "fucking",
    "fuggin",
    "fugging",
    "greatly",
    "hella",
    "highly",
    "hugely",
    "incredible",
    "incredibly",
    "intensely",
    "major",
    "majorly",
    "more",
    "most",
    "particularly",
    "purely",
    "quite",
    "really",
    "remarkably",
    "so",
    "substantially",
    "thoroughly",
    "total",
    "totally",
    "tremendous",
    "tremendously",
    "uber",
    "unbelievably",
    "unusually",
    "utter",
    "utterly",
    "very",
];
const BOOSTERS_DOWN: &[&str] = &[
    "almost",
    "barely",
    "hardly",
    "just enough",
    "kind of",
    "kinda",
    "kindof",
    "kind-of",
    "less",
    "little",
    "marginal",
    "marginally",
    "occasional",
    "occasionally",
    "partly",
    "scarce",
    "scarcely",
    "slight",
    "slightly",
    "somewhat",
    "sort of",
    "sorta",
    "sortof",
    "sort-of",
];

const SPECIAL_CASES: &[(&str, f64)] = &[
    ("the shit", 3.0),
    ("the bomb", 3.0),
    ("bad ass", 1.5),
    ("badass", 1.5),
    ("bus stop", 0.0),
    ("yeah right", -2.0),
    ("kiss of death", -1.5),
    ("to die for", 3.0),
    ("beating heart", 3.5),
];

/// Hash map for the lexicon's short word keys: rustc-hash's FxHash, 0.80x the lookup time of
/// the hand-written hasher it replaced (7,520 lexicon words, 4.4M lookups of movie-review
/// words, median of 15 alternating rounds).
type Map<K, V> = rustc_hash::FxHashMap<K, V>;

/// Python's `str.isupper()`: at least one cased character and no lower-case one.
fn py_isupper(s: &str) -> bool {
    let mut cased = false;
    for c in s.chars() {
        if c.is_lowercase() {
            return false;
        }
        if c.is_uppercase() {
            cased = true;
        }
    }
    cased
}

/// Python's `str.split()` whitespace: Unicode White_Space plus the ASCII separators 0x1c–0x1f.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn is_ascii_punct(c: char) -> bool {
    c.is_ascii_punctuation()
}

/// `token.strip(string.punctuation)`, kept only when more than two characters remain.
fn strip_punc_if_word(token: &str) -> &str {
    let stripped = token.trim_matches(is_ascii_punct);
    if stripped.chars().count() <= 2 {
        token
    } else {
        stripped
    }
}

/// The VADER analyzer with its lexicons.
pub struct Vader {
    lexicon: Map<String, f64>,
    emojis: Map<char, String>,
    boosters: Map<&'static str, f64>,
    /// Special-case idioms as word sequences (the reference joins words with spaces).
    special: Vec<(Vec<&'static str>, f64)>,
    /// Multi-word boosters ("kind of", "sort of", "just enough") as word sequences.
    booster_ngrams: Vec<(Vec<&'static str>, f64)>,
    name: String,
}

/// VADER's scores of one text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VaderScores {
    /// Proportion of the text rated negative, in [0, 1]; `neg + neu + pos` is 1, or all three
    /// are 0 for a text without words.
    pub neg: f64,
    /// Proportion of the text rated neutral, in [0, 1].
    pub neu: f64,
    /// Proportion of the text rated positive, in [0, 1].
    pub pos: f64,
    /// The sum of the word valences normalised to [-1, 1]: VADER's overall score, and the
    /// tone of the `vader` model.
    pub compound: f64,
}

/// Where the lexicon files are: `$RHETOR_VADER`, else `.deps/vader` in the data home
/// ([`crate::home`]) where setup installed them.
pub fn default_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("RHETOR_VADER") {
        return PathBuf::from(d);
    }
    crate::home::find(".deps/vader")
}

impl Vader {
    /// Loads `vader_lexicon.txt` and `emoji_utf8_lexicon.txt` from `dir`.
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        let read = |file: &str| {
            let p = dir.join(file);
            std::fs::read_to_string(&p).map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    ModelError::MissingFile {
                        dir: dir.to_path_buf(),
                        file: file.into(),
                        hint: Hint::InstallVader,
                    }
                } else {
                    ModelError::Corrupt {
                        path: p,
                        reason: e.to_string(),
                        hint: Hint::InstallVader,
                    }
                }
            })
        };
        let lex_text = read("vader_lexicon.txt")?;
        let emoji_text = read("emoji_utf8_lexicon.txt")?;
        Self::from_texts(&lex_text, &emoji_text).map_err(|reason| ModelError::Corrupt {
            path: dir.to_path_buf(),
            reason,
            hint: Hint::InstallVader,
        })
    }

    /// Builds the analyzer from the two lexicon texts (as `make_lex_dict`/`make_emoji_dict`).
    pub fn from_texts(lexicon: &str, emojis: &str) -> Result<Self, String> {
        let mut lex = Map::default();
        for (n, line) in lexicon.trim_end_matches('\n').split('\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let mut parts = line.trim().split('\t');
            let (Some(word), Some(measure)) = (parts.next(), parts.next()) else {
                return Err(format!(
                    "vader_lexicon.txt line {}: expected word<TAB>measure",
                    n + 1
                ));
            };
            let v: f64 = measure.trim().parse().map_err(|_| {
                format!("vader_lexicon.txt line {}: bad measure {measure:?}", n + 1)
            })?;
            lex.insert(word.to_string(), v);
        }
        let mut emo = Map::default();
        for line in emojis.trim_end_matches('\n').split('\n') {
            let mut parts = line.trim().split('\t');
            if let (Some(e), Some(desc)) = (parts.next(), parts.next()) {
                let mut cs = e.chars();
                // Only single code points can match: the reference looks up one char at a time.
                if let (Some(c), None) = (cs.next(), cs.next()) {
                    emo.insert(c, desc.to_string());
                }
            }
        }
        let mut boosters = Map::default();
        for w in BOOSTERS_UP {
            boosters.insert(*w, B_INCR);
        }
        for w in BOOSTERS_DOWN {
            boosters.insert(*w, B_DECR);
        }
        let words = |k: &'static str| k.split(' ').collect::<Vec<_>>();
        let special = SPECIAL_CASES.iter().map(|&(k, v)| (words(k), v)).collect();
        let booster_ngrams = boosters
            .iter()
            .filter(|(k, _)| k.contains(' '))
            .map(|(&k, &v)| (words(k), v))
            .collect();
        Ok(Vader {
            lexicon: lex,
            emojis: emo,
            boosters,
            special,
            booster_ngrams,
            name: "vader".into(),
        })
    }

    fn in_lex(&self, w: &str) -> bool {
        self.lexicon.contains_key(w)
    }

    /// `polarity_scores`: neg/neu/pos proportions and the compound score.
    pub fn polarity_scores(&self, text: &str) -> VaderScores {
        // Emoji to descriptions (no emoji in the lexicon is ASCII).
        let ascii = text.is_ascii();
        let mut no_emoji = String::new();
        let mut prev_space = true;
        for c in text.chars().take(if ascii { 0 } else { usize::MAX }) {
            if let Some(desc) = self.emojis.get(&c) {
                if !prev_space {
                    no_emoji.push(' ');
                }
                no_emoji.push_str(desc);
                prev_space = false;
            } else {
                no_emoji.push(c);
                prev_space = c == ' ';
            }
        }
        let text = if ascii { text } else { no_emoji.as_str() };
        let text = text.trim_matches(py_space);
        let words: Vec<&str> = text
            .split(py_space)
            .filter(|w| !w.is_empty())
            .map(strip_punc_if_word)
            .collect();
        let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
        let is_cap_diff = {
            let caps = words.iter().filter(|w| py_isupper(w)).count();
            let diff = words.len() - caps;
            0 < diff && diff < words.len()
        };

        let mut sentiments: Vec<f64> = Vec::with_capacity(words.len());
        for i in 0..words.len() {
            if self.boosters.contains_key(lower[i].as_str()) {
                sentiments.push(0.0);
                continue;
            }
            if i + 1 < words.len() && lower[i] == "kind" && lower[i + 1] == "of" {
                sentiments.push(0.0);
                continue;
            }
            sentiments.push(self.sentiment_valence(&words, &lower, is_cap_diff, i));
        }
        but_check(&lower, &mut sentiments);
        score_valence(&sentiments, text)
    }

    fn scalar_inc_dec(&self, word: &str, lower: &str, valence: f64, is_cap_diff: bool) -> f64 {
        let Some(&b) = self.boosters.get(lower) else {
            return 0.0;
        };
        let mut scalar = b;
        if valence < 0.0 {
            scalar *= -1.0;
        }
        if py_isupper(word) && is_cap_diff {
            if valence > 0.0 {
                scalar += C_INCR;
            } else {
                scalar -= C_INCR;
            }
        }
        scalar
    }

    fn sentiment_valence(
        &self,
        words: &[&str],
        lower: &[String],
        is_cap_diff: bool,
        i: usize,
    ) -> f64 {
        let item = words[i];
        let item_lower = lower[i].as_str();
        let Some(&lex_v) = self.lexicon.get(item_lower) else {
            return 0.0;
        };
        let n = words.len();
        let mut valence = lex_v;
        if item_lower == "no" && i != n - 1 && self.in_lex(&lower[i + 1]) {
            valence = 0.0;
        }
        if (i > 0 && lower[i - 1] == "no")
            || (i > 1 && lower[i - 2] == "no")
            || (i > 2 && lower[i - 3] == "no" && (lower[i - 1] == "or" || lower[i - 1] == "nor"))
        {
            valence = lex_v * N_SCALAR;
        }
        if py_isupper(item) && is_cap_diff {
            if valence > 0.0 {
                valence += C_INCR;
            } else {
                valence -= C_INCR;
            }
        }
        for start_i in 0..3 {
            if i > start_i && !self.in_lex(&lower[i - (start_i + 1)]) {
                let j = i - (start_i + 1);
                let mut s = self.scalar_inc_dec(words[j], &lower[j], valence, is_cap_diff);
                if start_i == 1 && s != 0.0 {
                    s *= 0.95;
                }
                if start_i == 2 && s != 0.0 {
                    s *= 0.9;
                }
                valence += s;
                valence = negation_check(valence, lower, start_i, i);
                if start_i == 2 {
                    valence = self.special_idioms_check(valence, lower, i);
                }
            }
        }
        least_check(valence, lower, i, |w| self.in_lex(w))
    }

    fn special_idioms_check(&self, mut valence: f64, lower: &[String], i: usize) -> f64 {
        let seq = |from: usize, to: usize| &lower[from..=to];
        let matches = |words: &[String], key: &[&str]| {
            words.len() == key.len() && words.iter().zip(key).all(|(w, k)| w == k)
        };
        let special = |words: &[String]| {
            self.special
                .iter()
                .find(|(k, _)| matches(words, k))
                .map(|&(_, v)| v)
        };
        // onezero, twoonezero, twoone, threetwoone, threetwo: the first match wins.
        for words in [
            seq(i - 1, i),
            seq(i - 2, i),
            seq(i - 2, i - 1),
            seq(i - 3, i - 1),
            seq(i - 3, i - 2),
        ] {
            if let Some(v) = special(words) {
                valence = v;
                break;
            }
        }
        if lower.len() - 1 > i {
            if let Some(v) = special(seq(i, i + 1)) {
                valence = v;
            }
        }
        if lower.len() - 1 > i + 1 {
            if let Some(v) = special(seq(i, i + 2)) {
                valence = v;
            }
        }
        // Booster/dampener n-grams: threetwoone, threetwo, twoone.
        for words in [seq(i - 3, i - 1), seq(i - 3, i - 2), seq(i - 2, i - 1)] {
            for (k, b) in &self.booster_ngrams {
                if matches(words, k) {
                    valence += b;
                }
            }
        }
        valence
    }
}

fn negated_word(w: &str) -> bool {
    NEGATE.contains(&w) || w.contains("n't")
}

fn negation_check(mut valence: f64, lower: &[String], start_i: usize, i: usize) -> f64 {
    match start_i {
        0 => {
            if negated_word(&lower[i - 1]) {
                valence *= N_SCALAR;
            }
        }
        1 => {
            if lower[i - 2] == "never" && (lower[i - 1] == "so" || lower[i - 1] == "this") {
                valence *= 1.25;
            } else if lower[i - 2] == "without" && lower[i - 1] == "doubt" {
            } else if negated_word(&lower[i - 2]) {
                valence *= N_SCALAR;
            }
        }
        _ => {
            if (lower[i - 3] == "never" && (lower[i - 2] == "so" || lower[i - 2] == "this"))
                || (lower[i - 1] == "so" || lower[i - 1] == "this")
            {
                valence *= 1.25;
            } else if lower[i - 3] == "without"
                && (lower[i - 2] == "doubt" || lower[i - 1] == "doubt")
            {
            } else if negated_word(&lower[i - 3]) {
                valence *= N_SCALAR;
            }
        }
    }
    valence
}

fn least_check(mut valence: f64, lower: &[String], i: usize, in_lex: impl Fn(&str) -> bool) -> f64 {
    if i > 1 && !in_lex(&lower[i - 1]) && lower[i - 1] == "least" {
        if lower[i - 2] != "at" && lower[i - 2] != "very" {
            valence *= N_SCALAR;
        }
    } else if i > 0 && !in_lex(&lower[i - 1]) && lower[i - 1] == "least" {
        valence *= N_SCALAR;
    }
    valence
}

/// `_but_check`, with the reference's quirk: each score rescales the *first* equal score.
fn but_check(lower: &[String], sentiments: &mut [f64]) {
    let Some(bi) = lower.iter().position(|w| w == "but") else {
        return;
    };
    for k in 0..sentiments.len() {
        let s = sentiments[k];
        let si = sentiments.iter().position(|&x| x == s).unwrap_or(k);
        if si < bi {
            sentiments[si] = s * 0.5;
        } else if si > bi {
            sentiments[si] = s * 1.5;
        }
    }
}

fn punctuation_emphasis(text: &str) -> f64 {
    let ep = text.matches('!').count().min(4) as f64 * 0.292;
    let qm_count = text.matches('?').count();
    let qm = if qm_count > 1 {
        if qm_count <= 3 {
            qm_count as f64 * 0.18
        } else {
            0.96
        }
    } else {
        0.0
    };
    ep + qm
}

fn normalize(score: f64) -> f64 {
    (score / (score * score + 15.0).sqrt()).clamp(-1.0, 1.0)
}

fn score_valence(sentiments: &[f64], text: &str) -> VaderScores {
    if sentiments.is_empty() {
        return VaderScores {
            neg: 0.0,
            neu: 0.0,
            pos: 0.0,
            compound: 0.0,
        };
    }
    let mut sum_s: f64 = sentiments.iter().sum();
    let amp = punctuation_emphasis(text);
    if sum_s > 0.0 {
        sum_s += amp;
    } else if sum_s < 0.0 {
        sum_s -= amp;
    }
    let compound = normalize(sum_s);
    let (mut pos_sum, mut neg_sum, mut neu_count) = (0.0f64, 0.0f64, 0usize);
    for &s in sentiments {
        if s > 0.0 {
            pos_sum += s + 1.0;
        }
        if s < 0.0 {
            neg_sum += s - 1.0;
        }
        if s == 0.0 {
            neu_count += 1;
        }
    }
    if pos_sum > neg_sum.abs() {
        pos_sum += amp;
    } else if pos_sum < neg_sum.abs() {
        neg_sum -= amp;
    }
    let total = pos_sum + neg_sum.abs() + neu_count as f64;
    VaderScores {
        neg: (neg_sum / total).abs(),
        neu: (neu_count as f64 / total).abs(),
        pos: (pos_sum / total).abs(),
        compound,
    }
}

impl ToneModel for Vader {
    fn name(&self) -> &str {
        &self.name
    }

    fn score(&self, texts: &[&str], progress: Progress<'_>) -> Result<Vec<Tone>, ModelError> {
        let mut out = Vec::with_capacity(texts.len());
        for (k, t) in texts.iter().enumerate() {
            let s = self.polarity_scores(t);
            let label = if s.compound >= 0.05 {
                Label::Positive
            } else if s.compound <= -0.05 {
                Label::Negative
            } else {
                Label::Neutral
            };
            out.push(Tone {
                tone: s.compound as f32,
                label,
                probs: Probs::from_array([s.neg as f32, s.neu as f32, s.pos as f32]),
                truncated: false,
                quad: None,
            });
            if k % 4096 == 4095 {
                progress(k + 1);
            }
        }
        progress(texts.len());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Vader {
        Vader::from_texts(
            "good\t1.9\t0.9\t[]\nbad\t-2.5\t0.5\t[]\nhorrible\t-2.5\t0.6\t[]\nno\t-1.2\t0.4\t[]\n",
            "💘\theart with arrow\n",
        )
        .unwrap()
    }

    #[test]
    fn python_string_semantics() {
        assert!(py_isupper("VERY"));
        assert!(py_isupper("A1"));
        assert!(!py_isupper(":)"));
        assert!(!py_isupper("Very"));
        assert_eq!(strip_punc_if_word("good!!!"), "good");
        assert_eq!(strip_punc_if_word(":)"), ":)");
        assert_eq!(strip_punc_if_word("'ok'"), "'ok'");
    }

    #[test]
    fn rules_on_a_tiny_lexicon() {
        let v = tiny();
        let good = v.polarity_scores("The book was good.").compound;
        assert!((good - normalize(1.9)).abs() < 1e-12);
        assert!(v.polarity_scores("The book was very good.").compound > good);
        assert!(v.polarity_scores("The book was not good.").compound < 0.0);
        assert!(v.polarity_scores("The book was good!").compound > good);
        assert_eq!(v.polarity_scores("").compound, 0.0);
    }
}
