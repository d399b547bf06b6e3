//! Segment: the second pipeline stage. Cuts an article's body into sentences that keep their
//! character offsets (Unicode scalar values, end exclusive) into the original text.
//!
//! Rules, in order: a blank line always ends a sentence (paragraph break); `!`, `?`, `…` and
//! `.` end one when followed by optional closing quotes/brackets, whitespace and a sentence
//! starter (an upper-case letter, a digit, or an opening quote/bracket before one). A `.` does
//! not end a sentence after a title (Mr., Gen., St.), an initial (J.), a month or `No.` before a
//! number (Dec. 29), and ends one after an acronym or company suffix (U.S., a.m., Inc.) only
//! when the next word usually starts sentences (U.S. The …). Decimals (3.5) and `U.S.-led`
//! never split because no whitespace follows the point.

use crate::ingest::{Article, Layout};

/// A unit to score, with character offsets into its article's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// Position of the unit among its text's units, from 0.
    pub index: usize,
    /// Character offset (Unicode scalar values) in the text where the unit starts.
    pub start: usize,
    /// Character offset in the text just past the unit's end.
    pub end: usize,
    /// The unit: the text's characters `start..end`.
    pub text: String,
}

/// Cuts text into units; the lexicon of abbreviations lives in the implementation.
pub trait Segmenter {
    /// The units of `text` in reading order, with offsets into `text`.
    fn segment(&self, text: &str) -> Vec<Span>;
}

/// Rule-based sentence segmenter for English news prose.
#[derive(Debug, Default, Clone, Copy)]
pub struct NewsSegmenter;

/// One unit per line (`--input lines`): never re-segmented; `\r` is stripped.
#[derive(Debug, Default, Clone, Copy)]
pub struct LineSegmenter;

/// Segments an article according to its layout.
pub fn segment_article(article: &Article) -> Vec<Span> {
    match article.layout {
        Layout::Prose => NewsSegmenter.segment(&article.text),
        Layout::Lines => LineSegmenter.segment(&article.text),
    }
}

impl Segmenter for LineSegmenter {
    fn segment(&self, text: &str) -> Vec<Span> {
        let mut out = Vec::new();
        let mut start = 0usize;
        let mut rest = text;
        while !rest.is_empty() {
            let (line, next, nl) = match rest.find('\n') {
                Some(p) => (&rest[..p], &rest[p + 1..], true),
                None => (rest, "", false),
            };
            let line = line.strip_suffix('\r').unwrap_or(line);
            let n = line.chars().count();
            out.push(Span {
                index: out.len(),
                start,
                end: start + n,
                text: line.to_string(),
            });
            let consumed = rest.len() - next.len();
            start += rest[..consumed].chars().count();
            rest = next;
            if !nl {
                break;
            }
        }
        out
    }
}

const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "dr", "gen", "sen", "rep", "reps", "sens", "gov", "lt", "col", "sgt",
    "capt", "cpt", "adm", "maj", "cmdr", "cmdt", "prof", "st", "rev", "hon", "pres", "amb", "fr",
    "mt", "ft", "messrs", "mmes", "brig", "gens", "supt", "insp", "det", "cpl", "pvt", "vs", "v",
    "cf", "approx", "dept", "est", "fig", "figs", "vol", "pp",
];
const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
];
const BEFORE_NUMBER: &[&str] = &["no", "nos", "art", "sec", "ch", "para", "p", "op"];
/// Abbreviations that also end sentences: split after them only before a usual starter.
const SUFFIXES: &[&str] = &[
    "inc", "corp", "ltd", "co", "jr", "sr", "etc", "bros", "llc", "plc", "al",
];
const STARTERS: &[&str] = &[
    "The",
    "A",
    "An",
    "He",
    "She",
    "It",
    "They",
    "We",
    "I",
    "You",
    "This",
    "That",
    "These",
    "Those",
    "But",
    "And",
    "Or",
    "So",
    "Yet",
    "In",
    "On",
    "At",
    "As",
    "For",
    "If",
    "When",
    "While",
    "After",
    "Before",
    "Since",
    "Meanwhile",
    "However",
    "His",
    "Her",
    "Its",
    "Their",
    "Our",
    "My",
    "There",
    "Then",
    "Now",
    "Still",
    "Also",
    "Officials",
    "Analysts",
    "Experts",
    "Some",
    "Many",
    "Most",
    "Both",
    "Such",
    "Last",
    "Earlier",
    "Later",
    "According",
    "Despite",
    "During",
    "Under",
    "What",
    "Who",
    "Why",
    "How",
    "Where",
    "No",
    "Not",
    "One",
    "Two",
];

const TERMINALS: &[char] = &['.', '!', '?', '…', '‼', '⁇', '⁈', '⁉'];
const CLOSERS: &[char] = &['"', '\'', '”', '’', '»', ')', ']', '}', '›'];
const OPENERS: &[char] = &['"', '\'', '“', '‘', '«', '(', '[', '‹', '¿', '¡'];

impl Segmenter for NewsSegmenter {
    fn segment(&self, text: &str) -> Vec<Span> {
        let chars: Vec<char> = text.chars().collect();
        let n = chars.len();
        let mut bounds: Vec<(usize, usize)> = Vec::new();
        let mut start = skip_ws(&chars, 0);
        let mut i = start;
        while i < n {
            let c = chars[i];
            if c == '\n' {
                if let Some(next) = paragraph_break(&chars, i) {
                    bounds.push((start, i));
                    start = next;
                    i = next;
                    continue;
                }
            } else if TERMINALS.contains(&c) {
                let mut j = i + 1;
                while j < n && TERMINALS.contains(&chars[j]) {
                    j += 1;
                }
                let run_end = j;
                while j < n && CLOSERS.contains(&chars[j]) {
                    j += 1;
                }
                if j < n && chars[j].is_whitespace() {
                    let k = skip_ws(&chars, j);
                    if k < n && self.is_boundary(&chars, start, i, run_end, j, k) {
                        bounds.push((start, j));
                        start = k;
                        i = k;
                        continue;
                    }
                }
                i = j.max(i + 1);
                continue;
            }
            i += 1;
        }
        if start < n {
            bounds.push((start, n));
        }
        let mut out = Vec::with_capacity(bounds.len());
        for (s, e) in bounds {
            let e = trim_back(&chars, s, e);
            if e > s {
                out.push(Span {
                    index: out.len(),
                    start: s,
                    end: e,
                    text: chars[s..e].iter().collect(),
                });
            }
        }
        out
    }
}

impl NewsSegmenter {
    /// Decides whether the terminal run `chars[i..run_end]` (closers up to `j`) followed by the
    /// word at `k` ends a sentence.
    fn is_boundary(
        &self,
        chars: &[char],
        start: usize,
        i: usize,
        run_end: usize,
        j: usize,
        k: usize,
    ) -> bool {
        let next_word = word_at(chars, k);
        let starter = is_starter(chars, k);
        if !starter {
            return false;
        }
        // `!`, `?`, an ellipsis, or a point closed by a quote/bracket: a sentence end.
        if chars[i] != '.' || run_end - i > 1 || j > run_end {
            return true;
        }
        let word = word_before(chars, start, i);
        if word.is_empty() {
            return true;
        }
        let lower = word.to_lowercase();
        let next_is_number = chars[k].is_ascii_digit();
        if TITLES.contains(&lower.as_str()) {
            return false;
        }
        if (MONTHS.contains(&lower.as_str()) || BEFORE_NUMBER.contains(&lower.as_str()))
            && next_is_number
        {
            return false;
        }
        // An initial: a single upper-case letter (J. R. R. Tolkien, Kim Jong-un's aide K. Lee).
        let mut wc = word.chars();
        if let (Some(first), None) = (wc.next(), wc.next()) {
            if first.is_uppercase() {
                return false;
            }
        }
        // Acronyms with inner points (U.S., a.m., D.C.) and company suffixes end a sentence
        // only before a word that usually starts one.
        if word.contains('.') || SUFFIXES.contains(&lower.as_str()) {
            return STARTERS.contains(&next_word.as_str());
        }
        true
    }
}

fn skip_ws(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    i
}

fn trim_back(chars: &[char], start: usize, mut end: usize) -> usize {
    while end > start && chars[end - 1].is_whitespace() {
        end -= 1;
    }
    end
}

/// If a blank line starts at the newline `i`, returns where the next paragraph starts.
fn paragraph_break(chars: &[char], i: usize) -> Option<usize> {
    let mut k = i + 1;
    while k < chars.len() && chars[k] != '\n' && chars[k].is_whitespace() {
        k += 1;
    }
    if k < chars.len() && chars[k] == '\n' {
        Some(skip_ws(chars, k))
    } else {
        None
    }
}

/// The word ending right before the point at `i` (letters, digits, inner points and hyphens),
/// without leading quotes or brackets.
fn word_before(chars: &[char], start: usize, i: usize) -> String {
    let mut s = i;
    while s > start && !chars[s - 1].is_whitespace() && !OPENERS.contains(&chars[s - 1]) {
        s -= 1;
    }
    chars[s..i].iter().collect()
}

/// The alphanumeric word starting at `k`, after any opening quotes or brackets.
fn word_at(chars: &[char], mut k: usize) -> String {
    while k < chars.len() && OPENERS.contains(&chars[k]) {
        k += 1;
    }
    chars[k..]
        .iter()
        .take_while(|c| c.is_alphanumeric())
        .collect()
}

fn is_starter(chars: &[char], k: usize) -> bool {
    let mut k = k;
    while k < chars.len() && (OPENERS.contains(&chars[k]) || chars[k] == '—' || chars[k] == '-') {
        k += 1;
    }
    k < chars.len() && (chars[k].is_uppercase() || chars[k].is_numeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentences(text: &str) -> Vec<String> {
        NewsSegmenter
            .segment(text)
            .into_iter()
            .map(|s| s.text)
            .collect()
    }

    /// (text, expected sentences)
    const CASES: &[(&str, &[&str])] = &[
        ("One. Two.", &["One.", "Two."]),
        (
            "The U.S. President spoke on Dec. 29 in Washington. He left.",
            &[
                "The U.S. President spoke on Dec. 29 in Washington.",
                "He left.",
            ],
        ),
        (
            "Sanctions hit the U.S. The move angered Seoul.",
            &["Sanctions hit the U.S.", "The move angered Seoul."],
        ),
        (
            "Mr. Kim met Gen. Lee at St. Petersburg. They talked.",
            &["Mr. Kim met Gen. Lee at St. Petersburg.", "They talked."],
        ),
        (
            "John F. Kennedy spoke. J. R. R. Tolkien wrote.",
            &["John F. Kennedy spoke.", "J. R. R. Tolkien wrote."],
        ),
        (
            "Growth slowed to 3.5 percent. Prices rose 1.2%.",
            &["Growth slowed to 3.5 percent.", "Prices rose 1.2%."],
        ),
        (
            "He said they \"fell in love.\" But talks collapsed.",
            &["He said they \"fell in love.\"", "But talks collapsed."],
        ),
        (
            "He said they “fell in love.” But talks collapsed.",
            &["He said they “fell in love.”", "But talks collapsed."],
        ),
        (
            "\"Are you sure?\" he asked. \"Yes!\" She nodded.",
            &["\"Are you sure?\" he asked.", "\"Yes!\"", "She nodded."],
        ),
        (
            "The bloc (formerly the E.U.) said no. (He declined to comment.) Then he left.",
            &[
                "The bloc (formerly the E.U.) said no.",
                "(He declined to comment.)",
                "Then he left.",
            ],
        ),
        (
            "Talks ended at 3 p.m. on Friday. The U.S.-led drills began Jan. 5.",
            &[
                "Talks ended at 3 p.m. on Friday.",
                "The U.S.-led drills began Jan. 5.",
            ],
        ),
        (
            "A headline without a point\n\nThe body starts here. It ends here.",
            &[
                "A headline without a point",
                "The body starts here.",
                "It ends here.",
            ],
        ),
        (
            "A line that wraps\nin the middle. Next one.",
            &["A line that wraps\nin the middle.", "Next one."],
        ),
        (
            "He paused... and went on. Wait... What?",
            &["He paused... and went on.", "Wait...", "What?"],
        ),
        (
            "Acme Inc. said profits rose. Acme Inc. The firm said so.",
            &[
                "Acme Inc. said profits rose.",
                "Acme Inc.",
                "The firm said so.",
            ],
        ),
        (
            "Ranked No. 1 again. In 2019, talks failed.",
            &["Ranked No. 1 again.", "In 2019, talks failed."],
        ),
        (
            "  leading and trailing space.  ",
            &["leading and trailing space."],
        ),
        ("", &[]),
        ("No terminal punctuation", &["No terminal punctuation"]),
        (
            "Seoul said so. 2024 was tense.",
            &["Seoul said so.", "2024 was tense."],
        ),
        (
            "Kim called it \"a bloc for aggression.\" According to KCNA, he added more.",
            &[
                "Kim called it \"a bloc for aggression.\"",
                "According to KCNA, he added more.",
            ],
        ),
    ];

    #[test]
    fn table_of_hard_cases() {
        for (text, want) in CASES {
            assert_eq!(sentences(text), *want, "segmenting {text:?}");
        }
    }

    #[test]
    fn offsets_are_char_offsets_into_the_text() {
        let text = "Café déjà vu. Über “quotes” here. Done.";
        let chars: Vec<char> = text.chars().collect();
        let spans = NewsSegmenter.segment(text);
        assert_eq!(spans.len(), 3);
        for (i, s) in spans.iter().enumerate() {
            assert_eq!(s.index, i);
            assert_eq!(chars[s.start..s.end].iter().collect::<String>(), s.text);
        }
        assert!(spans.windows(2).all(|w| w[0].end <= w[1].start));
    }

    #[test]
    fn lines_are_never_resegmented_and_keep_empty_lines() {
        let spans = LineSegmenter.segment("One. Two.\r\n\nthré\n");
        let texts: Vec<_> = spans.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["One. Two.", "", "thré"]);
        assert_eq!((spans[2].start, spans[2].end), (12, 16));
        assert_eq!(LineSegmenter.segment("a\nb").len(), 2);
    }
}
