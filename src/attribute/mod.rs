//! Attribute: who speaks and who is spoken of in each sentence. Finds actor mentions (aliases,
//! possessives, titles, demonyms, metonyms; ambiguous short names only in texts that name the
//! actor in full), the speaker from reporting verbs, quotes and "according to"/"per" (news
//! agencies are sources, not speakers), light coreference for "he"/"she" subjects, and the
//! targets (actors mentioned that are not the speaker).

pub mod registry;

use serde::{Deserialize, Serialize};

use crate::segment::Span;
use registry::{Kind, Registry};

/// One actor mention, with character offsets relative to its sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mention {
    /// Registry id of the actor mentioned (e.g. `kim-jong-un`).
    pub actor: String,
    /// Character (not byte) offset in the sentence where the mention starts.
    pub start: usize,
    /// Character offset in the sentence just past the mention's end.
    pub end: usize,
    /// The mention as written: an alias, title, demonym or metonym, or the "He"/"She" that
    /// refers back to a person.
    pub text: String,
}

/// Speaker, targets and mentions of one sentence.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Attribution {
    /// Registry id of the actor who speaks, if a reporting verb, quote or "according to"
    /// resolves to one; never a news agency.
    pub speaker: Option<String>,
    /// Registry ids of the actors spoken of: every actor mentioned except the speaker and news
    /// agencies, once each, in order of first mention.
    pub targets: Vec<String>,
    /// Every actor mention in reading order; a sentence opening with "He"/"She" starts with
    /// the most recent person.
    pub mentions: Vec<Mention>,
}

const REPORTING: &[&str] = &[
    "said",
    "says",
    "say",
    "told",
    "tells",
    "added",
    "adds",
    "called",
    "calls",
    "promised",
    "promises",
    "warned",
    "warns",
    "vowed",
    "vows",
    "accused",
    "accuses",
    "urged",
    "urges",
    "stressed",
    "declared",
    "declares",
    "announced",
    "announces",
    "denounced",
    "denounces",
    "praised",
    "praises",
    "threatened",
    "threatens",
    "insisted",
    "claimed",
    "claims",
    "argued",
    "noted",
    "wrote",
    "writes",
    "tweeted",
    "posted",
    "asked",
    "replied",
    "described",
    "describes",
    "stated",
    "pledged",
    "pledges",
    "condemned",
    "condemns",
    "welcomed",
    "welcomes",
    "thanked",
    "thanks",
    "criticized",
    "criticised",
    "criticizes",
    "rejected",
    "rejects",
    "blamed",
    "blames",
    "hailed",
    "hails",
    "reported",
    "reports",
    "branded",
    "slammed",
    "lashed",
    "dismissed",
    "ridiculed",
    "mocked",
    "boasted",
    "complained",
];

#[derive(Debug, Clone)]
struct Found {
    /// Byte offsets in the article.
    start: usize,
    end: usize,
    actor: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whole-word, case-sensitive occurrences of `pat` in `text` (a following possessive is fine:
/// the apostrophe ends the word).
fn occurrences(text: &str, pat: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    if pat.is_empty() {
        return out;
    }
    let mut from = 0;
    while let Some(p) = text[from..].find(pat) {
        let s = from + p;
        let e = s + pat.len();
        let before = text[..s].chars().next_back();
        let after = text[e..].chars().next();
        let pat_ends_in_word = pat.chars().next_back().is_some_and(is_word_char);
        let ok_before = before.is_none_or(|c| !is_word_char(c));
        let ok_after = !pat_ends_in_word || after.is_none_or(|c| !is_word_char(c));
        if ok_before && ok_after {
            out.push((s, e));
        }
        from = s + pat.chars().next().map(char::len_utf8).unwrap_or(1);
    }
    out
}

/// Finds actor mentions in a whole article (byte offsets), longest match first, no overlaps.
fn find_mentions(reg: &Registry, text: &str) -> Vec<Found> {
    let mut cands: Vec<Found> = Vec::new();
    let mut named = vec![false; reg.actors.len()];
    for (i, a) in reg.actors.iter().enumerate() {
        for pat in a
            .aliases
            .iter()
            .chain(&a.titles)
            .chain(&a.demonyms)
            .chain(&a.metonyms)
        {
            let occ = occurrences(text, pat);
            if !occ.is_empty() && (a.aliases.contains(pat) || a.titles.contains(pat)) {
                named[i] = true;
            }
            cands.extend(occ.into_iter().map(|(start, end)| Found {
                start,
                end,
                actor: i,
            }));
        }
    }
    for (i, a) in reg.actors.iter().enumerate() {
        if named[i] {
            for pat in &a.short {
                cands.extend(
                    occurrences(text, pat)
                        .into_iter()
                        .map(|(start, end)| Found {
                            start,
                            end,
                            actor: i,
                        }),
                );
            }
        }
    }
    cands.sort_by(|x, y| {
        x.start
            .cmp(&y.start)
            .then((y.end - y.start).cmp(&(x.end - x.start)))
    });
    let mut out: Vec<Found> = Vec::new();
    for c in cands {
        if out.last().is_none_or(|l| c.start >= l.end) {
            out.push(c);
        }
    }
    out
}

/// A word of a sentence with its char offsets (relative to the sentence).
struct Word {
    start: usize,
    end: usize,
    lower: String,
}

fn words(s: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    let mut n = 0;
    for (i, c) in s.chars().enumerate() {
        n = i + 1;
        if c.is_alphanumeric() || c == '\'' || c == '’' || c == '-' {
            match &mut cur {
                Some((_, w)) => w.extend(c.to_lowercase()),
                None => cur = Some((i, c.to_lowercase().collect())),
            }
        } else if let Some((st, w)) = cur.take() {
            out.push(Word {
                start: st,
                end: i,
                lower: w,
            });
        }
    }
    if let Some((st, w)) = cur.take() {
        out.push(Word {
            start: st,
            end: n,
            lower: w,
        });
    }
    out
}

/// Attributes every sentence of one article. `spans` are the article's sentences in order.
pub fn attribute_article(reg: &Registry, text: &str, spans: &[Span]) -> Vec<Attribution> {
    let found = find_mentions(reg, text);
    let char_at = char_offsets(text);
    let mut last_person: Option<usize> = None;
    let mut out = Vec::with_capacity(spans.len());
    for span in spans {
        let sentence = Sentence::new(reg, span, &found, &char_at);
        let speaker = sentence.speaker(last_person);
        let mentions = sentence.mentions(last_person);
        let targets = sentence.targets(speaker);
        // The most recent person subject, for the next "he"/"she".
        let person = |a: usize| reg.actors[a].kind == Kind::Person;
        if let Some(s) = speaker.filter(|&s| person(s)) {
            last_person = Some(s);
        } else if let Some(m) = sentence.ms.iter().find(|m| person(m.2)) {
            last_person = Some(m.2);
        }
        out.push(Attribution {
            speaker: speaker.map(|s| reg.actors[s].id.clone()),
            targets,
            mentions,
        });
    }
    out
}

/// The character offset of every byte offset of `text` (and of its end).
fn char_offsets(text: &str) -> Vec<usize> {
    let mut char_at = vec![0usize; text.len() + 1];
    let mut ci = 0;
    for (b, ch) in text.char_indices() {
        for k in 0..ch.len_utf8() {
            char_at[b + k] = ci;
        }
        ci += 1;
    }
    char_at[text.len()] = ci;
    char_at
}

/// One sentence with its mentions (sentence-relative character spans and actor indices) and
/// words: the steps of attribution are its methods.
struct Sentence<'a> {
    reg: &'a Registry,
    span: &'a Span,
    ms: Vec<(usize, usize, usize)>,
    ws: Vec<Word>,
}

impl<'a> Sentence<'a> {
    fn new(reg: &'a Registry, span: &'a Span, found: &[Found], char_at: &[usize]) -> Self {
        let ms = found
            .iter()
            .map(|f| (char_at[f.start], char_at[f.end], f.actor))
            .filter(|&(s, e, _)| s >= span.start && e <= span.end)
            .map(|(s, e, a)| (s - span.start, e - span.start, a))
            .collect();
        Sentence {
            reg,
            span,
            ms,
            ws: words(&span.text),
        }
    }

    fn is_agency(&self, a: usize) -> bool {
        self.reg.actors[a].kind == Kind::Agency
    }

    /// The mention ending last before `pos`, at most `max_gap` words and no quote or
    /// semicolon away.
    fn mention_ending_before(&self, pos: usize, max_gap: usize) -> Option<(usize, usize, usize)> {
        self.ms
            .iter()
            .filter(|m| m.1 <= pos)
            .max_by_key(|m| m.1)
            .filter(|m| {
                let gap = self.ws.iter().filter(|w| w.start >= m.1 && w.end <= pos);
                gap.count() <= max_gap
            })
            .filter(|m| {
                !self
                    .span
                    .text
                    .chars()
                    .skip(m.1)
                    .take(pos - m.1)
                    .any(|c| c == '"' || c == '“' || c == '”' || c == ';')
            })
            .copied()
    }

    /// The first non-agency mention at or after `pos`.
    fn first_after(&self, pos: usize) -> Option<(usize, usize, usize)> {
        self.ms
            .iter()
            .find(|m| m.0 >= pos && !self.is_agency(m.2))
            .copied()
    }

    /// Who speaks: the first reporting verb (or "according to"/"per") whose subject resolves.
    fn speaker(&self, last_person: Option<usize>) -> Option<usize> {
        for (wi, w) in self.ws.iter().enumerate() {
            let lw = w.lower.as_str();
            if lw == "according" && self.ws.get(wi + 1).is_some_and(|n| n.lower == "to")
                || lw == "per"
            {
                let source = self.ms.iter().find(|m| m.0 >= w.end && m.0 <= w.end + 24);
                if let Some(m) = source.filter(|m| !self.is_agency(m.2)) {
                    return Some(m.2);
                }
                continue;
            }
            if !REPORTING.contains(&lw) {
                continue;
            }
            if let Some(a) = self.subject_of(wi, last_person) {
                return Some(a);
            }
        }
        None
    }

    /// The subject of the reporting verb at word `wi`, if one resolves.
    fn subject_of(&self, wi: usize, last_person: Option<usize>) -> Option<usize> {
        let w = &self.ws[wi];
        // Pronoun subject: "he said", "she added", "he still praised Kim" (up to two words
        // between, no mention in between).
        let pronoun = self.ws[wi.saturating_sub(3)..wi]
            .iter()
            .rev()
            .find(|p| p.lower == "he" || p.lower == "she");
        if let (Some(p), Some(person)) = (pronoun, last_person) {
            if !self.ms.iter().any(|m| m.0 >= p.end && m.1 <= w.start) {
                return Some(person);
            }
        }
        if let Some(m) = self.mention_ending_before(w.start, 3) {
            if !self.is_agency(m.2) {
                return Some(m.2);
            }
            // "The agency said Kim set out …": the reported subject speaks.
            return self.first_after(w.end).map(|r| r.2);
        }
        // Inverted: `…," said Kim.` (only after a quote or comma: in "praised Kim", Kim is the
        // object).
        let before = self.span.text.chars().take(w.start).collect::<String>();
        let inverted = before.trim_end().ends_with([',', '"', '”', '\'', '’']);
        match self
            .ms
            .iter()
            .find(|m| inverted && m.0 >= w.end && m.0 <= w.end + 1)
        {
            Some(m) if !self.is_agency(m.2) => Some(m.2),
            _ => None,
        }
    }

    /// The sentence's mentions; a sentence whose subject is "He"/"She" also mentions the
    /// most recent person (light coreference).
    fn mentions(&self, last_person: Option<usize>) -> Vec<Mention> {
        let text = |s: usize, e: usize| self.span.text.chars().skip(s).take(e - s).collect();
        let mut mentions: Vec<Mention> = self
            .ms
            .iter()
            .map(|&(s, e, a)| Mention {
                actor: self.reg.actors[a].id.clone(),
                start: s,
                end: e,
                text: text(s, e),
            })
            .collect();
        let first = self.ws.first();
        let pronoun_subject = first.is_some_and(|w| w.lower == "he" || w.lower == "she");
        if let (true, Some(p), Some(w)) = (pronoun_subject, last_person, first) {
            let coreferent = Mention {
                actor: self.reg.actors[p].id.clone(),
                start: w.start,
                end: w.end,
                text: text(w.start, w.end),
            };
            mentions.insert(0, coreferent);
        }
        mentions
    }

    /// The actors spoken of: every mentioned actor but the speaker and news agencies, once.
    fn targets(&self, speaker: Option<usize>) -> Vec<String> {
        let mut targets: Vec<String> = Vec::new();
        for &(_, _, a) in &self.ms {
            let id = &self.reg.actors[a].id;
            if Some(a) != speaker && !self.is_agency(a) && !targets.contains(id) {
                targets.push(id.clone());
            }
        }
        targets
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::{NewsSegmenter, Segmenter};

    fn run(text: &str) -> Vec<Attribution> {
        let spans = NewsSegmenter.segment(text);
        attribute_article(&Registry::bundled(), text, &spans)
    }

    fn ids(m: &[Mention]) -> Vec<&str> {
        m.iter().map(|m| m.actor.as_str()).collect()
    }

    #[test]
    fn possessives_demonyms_and_metonyms() {
        let a = run("Kim Jong Un's envoy met North Korean and American officials in Seoul.");
        assert_eq!(
            ids(&a[0].mentions),
            ["kim-jong-un", "north-korea", "united-states", "south-korea"]
        );
        assert_eq!(a[0].mentions[0].text, "Kim Jong Un");
        assert_eq!((a[0].mentions[0].start, a[0].mentions[0].end), (0, 11));
        let a = run("Pyongyang and Washington traded barbs; the Kremlin stayed silent.");
        assert_eq!(
            ids(&a[0].mentions),
            ["north-korea", "united-states", "russia"]
        );
    }

    #[test]
    fn titles_and_compounds() {
        let a =
            run("The North Korean leader met President-elect Trump. US-South Korea drills began.");
        assert_eq!(ids(&a[0].mentions), ["kim-jong-un", "donald-trump"]);
        assert_eq!(ids(&a[1].mentions), ["united-states", "south-korea"]);
    }

    #[test]
    fn a_bare_kim_needs_the_full_name_in_the_text() {
        let a = run("Kim said the talks failed.");
        assert!(a[0].mentions.is_empty(), "{:?}", a[0]);
        let a = run("Kim Jong Un arrived. Later Kim said the talks failed.");
        assert_eq!(a[1].speaker.as_deref(), Some("kim-jong-un"));
    }

    #[test]
    fn speakers_from_reporting_verbs_quotes_and_sources() {
        let a = run("Kim Jong Un arrived. Kim called the US \"a gangster state.\"");
        assert_eq!(a[1].speaker.as_deref(), Some("kim-jong-un"));
        assert_eq!(a[1].targets, ["united-states"]);
        let a = run("\"We will win,\" said Putin.");
        assert_eq!(a[0].speaker.as_deref(), Some("vladimir-putin"));
        let a = run("Talks will resume, according to the White House.");
        assert_eq!(a[0].speaker.as_deref(), Some("united-states"));
        let a = run("Talks will resume with Japan, per the AP.");
        assert_eq!(a[0].speaker, None, "an agency is a source, not a speaker");
        assert_eq!(a[0].targets, ["japan"]);
    }

    #[test]
    fn agency_reports_give_the_reported_subject() {
        let a = run("Kim Jong Un spoke. KCNA said Kim ordered more drills against Japan.");
        assert_eq!(a[1].speaker.as_deref(), Some("kim-jong-un"));
        assert_eq!(a[1].targets, ["japan"]);
    }

    #[test]
    fn a_pronoun_subject_speaks_even_with_an_adverb_before_the_verb() {
        let a = run("Trump met Kim Jong Un in Hanoi. He still praised Kim.");
        assert_eq!(a[1].speaker.as_deref(), Some("donald-trump"));
        assert_eq!(a[1].targets, vec!["kim-jong-un".to_string()]);
    }

    #[test]
    fn the_object_of_a_reporting_verb_is_not_its_speaker() {
        let a = run("Trump praised Kim Jong Un. Officials praised Kim Jong Un again.");
        assert_eq!(a[0].speaker.as_deref(), Some("donald-trump"));
        assert_eq!(a[1].speaker, None);
    }

    #[test]
    fn he_and_she_take_the_most_recent_person() {
        let a = run("Trump met Kim Jong Un. He said the meeting went well. According to KCNA, he added more.");
        assert_eq!(a[1].speaker.as_deref(), Some("donald-trump"));
        assert_eq!(a[2].speaker.as_deref(), Some("donald-trump"));
    }
}
