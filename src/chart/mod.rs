//! Charts of rhetoric per actor over time: a terminal chart that reads in 80 columns, an SVG
//! with confidence bands, and a self-contained HTML report (the SVG, a dyad table, and for
//! each point the evidence sentences with the strongest tone).

use std::collections::BTreeMap;

use crate::aggregate::{aggregate, By, Period, Stat, Weight};
use crate::row::{Phrase, Row};

mod html;
mod svg;
mod terminal;

/// One actor's line: `(period index, stat)` points.
pub struct Series {
    /// The actor's id.
    pub actor: String,
    /// The actor's cells in period order, each with its index in [`Chart::periods`]; periods
    /// where the plotted measure has no value are left out.
    pub points: Vec<(usize, Stat)>,
}

/// One evidence sentence behind a chart point.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceLine {
    /// The plotted quantity of this sentence (its tone, the tone toward the target, or its
    /// axis score).
    pub value: f32,
    /// The sentence.
    pub text: String,
    /// The id of the sentence's article.
    pub article: String,
    /// The article's date, `YYYY-MM-DD`.
    pub date: String,
    /// The phrases that moved the sentence's tone (rows scored with `--explain`).
    pub phrases: Vec<Phrase>,
}

/// Evidence sentences of one point, strongest first.
pub type Evidence = Vec<EvidenceLine>;

/// The value a chart plots per actor and period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Metric {
    /// Mean tone with its 95% confidence band (−1 hostile … +1 warm).
    Tone,
    /// Share of sentences that report cooperation (verbal or material quad classes).
    Cooperation,
    /// Share of sentences that report conflict (verbal or material quad classes).
    Conflict,
    /// Share of verbal cooperation (CAMEO 01–05).
    VerbalCooperation,
    /// Share of material cooperation (CAMEO 06–08).
    MaterialCooperation,
    /// Share of verbal conflict (CAMEO 09–13).
    VerbalConflict,
    /// Share of material conflict (CAMEO 14–20).
    MaterialConflict,
}

impl Metric {
    /// The plotted value of a cell; `None` for a quad share when the rows carry no quad.
    pub fn value(self, st: &Stat) -> Option<f64> {
        use crate::model::Quad as Q;
        let q = |classes: &[Q]| st.quad.map(|s| classes.iter().map(|&c| s.get(c)).sum());
        match self {
            Metric::Tone => Some(st.mean_tone),
            Metric::Cooperation => q(&[Q::VerbalCooperation, Q::MaterialCooperation]),
            Metric::Conflict => q(&[Q::VerbalConflict, Q::MaterialConflict]),
            Metric::VerbalCooperation => q(&[Q::VerbalCooperation]),
            Metric::MaterialCooperation => q(&[Q::MaterialCooperation]),
            Metric::VerbalConflict => q(&[Q::VerbalConflict]),
            Metric::MaterialConflict => q(&[Q::MaterialConflict]),
        }
    }

    /// A value on the chart's vertical axis, −1 (bottom) … +1 (top): tone as it is, a share
    /// 0 … 1 stretched over the whole height.
    fn axis(self, v: f64) -> f64 {
        match self {
            Metric::Tone => v,
            _ => 2.0 * v - 1.0,
        }
    }

    /// What the axis shows, for titles.
    fn describe(self) -> &'static str {
        match self {
            Metric::Tone => "mean tone",
            Metric::Cooperation => "share of cooperation (verbal + material)",
            Metric::Conflict => "share of conflict (verbal + material)",
            Metric::VerbalCooperation => "share of verbal cooperation",
            Metric::MaterialCooperation => "share of material cooperation",
            Metric::VerbalConflict => "share of verbal conflict",
            Metric::MaterialConflict => "share of material conflict",
        }
    }

    /// Labels of the top, middle and bottom of the axis.
    fn ticks(self) -> [&'static str; 3] {
        match self {
            Metric::Tone => ["+1.0", " 0.0", "-1.0"],
            _ => ["100%", " 50%", "  0%"],
        }
    }
}

/// What a chart plots: a [`Metric`], or the mean of a user-defined axis (`rhetor score
/// --axis`) with its confidence band.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Measure {
    /// A built-in metric: the tone or a quad share.
    Metric(Metric),
    /// The mean of the axis with this name, as the rows' `axes` name it.
    Axis(String),
}

impl Measure {
    /// The plotted value of a cell; `None` when the rows carry no such quad or axis.
    pub fn value(&self, st: &Stat) -> Option<f64> {
        match self {
            Measure::Metric(m) => m.value(st),
            Measure::Axis(a) => st.axes.get(a).map(|x| x.mean),
        }
    }

    /// A mean with a confidence interval (tone or axis), not a share.
    fn is_mean(&self) -> bool {
        matches!(self, Measure::Metric(Metric::Tone) | Measure::Axis(_))
    }

    /// The cell's 95 % interval, for means (`None` for a single unit).
    fn ci(&self, st: &Stat) -> Option<(f64, f64)> {
        match self {
            Measure::Metric(Metric::Tone) => st.ci_low.zip(st.ci_high),
            Measure::Axis(a) => st.axes.get(a).and_then(|x| x.ci_low.zip(x.ci_high)),
            Measure::Metric(_) => None,
        }
    }

    /// A value on the vertical axis, −1 (bottom) … +1 (top).
    fn axis(&self, v: f64) -> f64 {
        match self {
            Measure::Metric(m) => m.axis(v),
            Measure::Axis(_) => v,
        }
    }

    fn describe(&self) -> String {
        match self {
            Measure::Metric(m) => m.describe().to_string(),
            Measure::Axis(a) => format!("mean {a} axis"),
        }
    }

    /// What the vertical axis runs from and to.
    fn scale(&self) -> String {
        match self {
            Measure::Metric(Metric::Tone) => "-1 hostile .. +1 warm".into(),
            Measure::Metric(_) => "0% .. 100%".into(),
            Measure::Axis(a) => format!("{a}: -1 low pole .. +1 high pole"),
        }
    }

    fn ticks(&self) -> [&'static str; 3] {
        match self {
            Measure::Metric(m) => m.ticks(),
            Measure::Axis(_) => Metric::Tone.ticks(),
        }
    }
}

/// What a chart shows.
pub struct Chart {
    /// Whose rhetoric each series shows: the actor's as speaker, or that toward it as target.
    pub by: By,
    /// The plotted value.
    pub measure: Measure,
    /// The x axis: every period label from the first to the last dated sentence, in order.
    pub periods: Vec<String>,
    /// One line per charted actor (at most eight), in legend order.
    pub series: Vec<Series>,
    /// Dyad totals over all periods: (speaker, target, sentences, mean tone).
    pub dyads: Vec<(String, String, usize, f64)>,
    /// Evidence per (actor, period): up to three sentences, strongest plotted value first.
    pub evidence: BTreeMap<(String, String), Evidence>,
    /// Actors asked for by id that no row names (`by` side), each with up to three known ids
    /// spelled closest to it.
    pub unknown: Vec<(String, Vec<String>)>,
}

const SYMBOLS: [char; 8] = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'];
const COLORS: [&str; 8] = [
    "#c0392b", "#2471a3", "#1e8449", "#b7950b", "#7d3c98", "#ca6f1e", "#148f77", "#566573",
];

impl Chart {
    /// Builds the chart of the `top` actors (by sentences) or of `actors` when given.
    pub fn build(
        rows: &[Row],
        period: Period,
        by: By,
        measure: Measure,
        top: usize,
        actors: &[String],
    ) -> Chart {
        let (stats, _) = aggregate(
            rows.iter().cloned(),
            period,
            Weight::Sentence,
            &[by, By::Dyad],
        );
        let mut totals: BTreeMap<String, usize> = BTreeMap::new();
        for s in stats.iter().filter(|s| s.by == by) {
            *totals.entry(s.actor.clone()).or_default() += s.sentences;
        }
        let unknown = actors
            .iter()
            .filter(|a| !totals.contains_key(*a))
            .map(|a| (a.clone(), closest(a, totals.keys())))
            .collect();
        let chosen: Vec<String> = if actors.is_empty() {
            let mut t: Vec<(String, usize)> = totals.into_iter().collect();
            t.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            t.into_iter()
                .take(top.clamp(1, SYMBOLS.len()))
                .map(|x| x.0)
                .collect()
        } else {
            actors.iter().take(SYMBOLS.len()).cloned().collect()
        };
        let periods = all_periods(rows, period);
        let series = chosen
            .iter()
            .map(|a| Series {
                actor: a.clone(),
                points: stats
                    .iter()
                    .filter(|s| s.by == by && &s.actor == a && measure.value(s).is_some())
                    .filter_map(|s| {
                        periods
                            .iter()
                            .position(|p| *p == s.period)
                            .map(|i| (i, s.clone()))
                    })
                    .collect(),
            })
            .collect();
        let dyads = dyad_totals(&stats);
        let evidence = evidence(rows, period, by, &measure, &chosen);
        Chart {
            by,
            measure,
            periods,
            series,
            dyads,
            evidence,
            unknown,
        }
    }

    fn what(&self) -> &'static str {
        match self.by {
            By::Speaker => "rhetoric by",
            By::Target => "rhetoric toward",
            By::Dyad => "rhetoric between",
        }
    }

    /// A cell's plotted value on the −1 … +1 axis.
    fn y(&self, st: &Stat) -> f64 {
        self.measure.axis(self.measure.value(st).unwrap_or(0.0))
    }

    /// A plotted value as text: a signed mean or a percentage.
    fn format(&self, v: f64) -> String {
        if self.measure.is_mean() {
            format!("{v:+.2}")
        } else {
            format!("{:.0}%", v * 100.0)
        }
    }
}

/// Up to three of `known` spelled closest to `id` (normalised Levenshtein similarity ≥ 0.5,
/// or containing it), most similar first.
fn closest<'a>(id: &str, known: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut scored: Vec<(f64, &String)> = known
        .map(|k| (strsim::normalized_levenshtein(id, k), k))
        .filter(|(sim, k)| *sim >= 0.5 || k.contains(id) || id.contains(k.as_str()))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.into_iter().take(3).map(|(_, k)| k.clone()).collect()
}

/// Every period from the first to the last dated sentence, so that the x axis is time.
fn all_periods(rows: &[Row], period: Period) -> Vec<String> {
    let dates: Vec<chrono::NaiveDate> = rows
        .iter()
        .filter_map(|r| r.article.as_ref().and_then(|a| a.date))
        .collect();
    let mut periods: Vec<String> = Vec::new();
    if let (Some(&lo), Some(&hi)) = (dates.iter().min(), dates.iter().max()) {
        let mut d = lo;
        while d <= hi {
            let k = period.key(d);
            if periods.last() != Some(&k) {
                periods.push(k);
            }
            d = d.succ_opt().unwrap_or(hi + chrono::Days::new(1));
        }
    }
    periods
}

/// Dyad totals over all periods: (speaker, target, sentences, mean tone), most sentences first.
fn dyad_totals(stats: &[Stat]) -> Vec<(String, String, usize, f64)> {
    let mut dy: BTreeMap<(String, String), (usize, f64)> = BTreeMap::new();
    for s in stats.iter().filter(|s| s.by == By::Dyad) {
        if let (Some(sp), Some(tg)) = (&s.speaker, &s.target) {
            let e = dy.entry((sp.clone(), tg.clone())).or_default();
            e.0 += s.sentences;
            e.1 += s.mean_tone * s.sentences as f64;
        }
    }
    let mut dyads: Vec<(String, String, usize, f64)> = dy
        .into_iter()
        .map(|((s, t), (n, sum))| (s, t, n, sum / n as f64))
        .collect();
    dyads.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    dyads
}

/// The three sentences with the strongest plotted value behind each (chosen actor, period):
/// by |tone| (the tone toward the target for `--by target`), or by |axis score|.
fn evidence(
    rows: &[Row],
    period: Period,
    by: By,
    measure: &Measure,
    chosen: &[String],
) -> BTreeMap<(String, String), Evidence> {
    let mut evidence: BTreeMap<(String, String), Evidence> = BTreeMap::new();
    for r in rows {
        let (Some(a), Some(at)) = (&r.article, &r.attribution) else {
            continue;
        };
        let Some(d) = a.date else { continue };
        let p = period.key(d);
        let mut add = |actor: &str, tone: f32| {
            let value = match measure {
                Measure::Axis(name) => r.axes.get(name).copied(),
                Measure::Metric(_) => Some(tone),
            };
            if let (Some(value), true) = (value, chosen.iter().any(|c| c == actor)) {
                evidence
                    .entry((actor.to_string(), p.clone()))
                    .or_default()
                    .push(EvidenceLine {
                        value,
                        text: r.text.clone(),
                        article: a.article.clone(),
                        date: d.to_string(),
                        phrases: r.explanation.clone().unwrap_or_default(),
                    });
            }
        };
        match by {
            By::Speaker => {
                if let Some(s) = &at.speaker {
                    add(s, r.tone);
                }
            }
            _ => {
                for t in &at.targets {
                    add(&t.actor, t.tone);
                }
            }
        }
    }
    for v in evidence.values_mut() {
        v.sort_by(|a, b| b.value.abs().total_cmp(&a.value.abs()));
        v.truncate(3);
    }
    evidence
}

/// "95% CI −0.40..+0.10", or a mark that a single unit has none.
fn ci_text(low: Option<f64>, high: Option<f64>) -> String {
    match (low, high) {
        (Some(lo), Some(hi)) => format!("95% CI {lo:+.2}..{hi:+.2}"),
        _ => "single unit: no CI".to_string(),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Escapes text for XML/HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::{closest, esc};

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
    }

    #[test]
    fn closest_ids_are_near_misspellings_or_contain_the_query() {
        let known: Vec<String> = ["united-states", "united-kingdom", "kim-jong-un", "japan"]
            .map(String::from)
            .to_vec();
        assert_eq!(closest("united-state", known.iter())[0], "united-states");
        assert_eq!(closest("kim", known.iter()), vec!["kim-jong-un"]);
        assert!(closest("zzzz", known.iter()).is_empty());
    }
}
