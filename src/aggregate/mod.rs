//! Aggregate: rhetoric per actor and period from scored, attributed rows. For each actor × period
//! as speaker ("rhetoric by"), as target ("rhetoric toward"), and per dyad speaker → target:
//! sentences, articles, mean tone, standard deviation, 95% confidence interval (Student t), and
//! the shares of negative and positive sentences, and the shares of the quad classes (verbal /
//! material cooperation / conflict, as GDELT users chart QuadClass counts); weighted per
//! sentence or per article (each article's mean counts once).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use ndarray::Array1;
use serde::Serialize;

use crate::model::{Label, Quad};
use crate::row::Row;

/// The length of the periods sentences are grouped into, by their article's date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Period {
    /// One calendar day (`2024-12-29`).
    Day,
    /// One ISO 8601 week, Monday to Sunday, labeled with its ISO year (`2024-W52`).
    Week,
    /// One calendar month (`2024-12`).
    Month,
    /// One calendar quarter, January–March being Q1 (`2024-Q4`).
    Quarter,
    /// One calendar year (`2024`).
    Year,
}

impl Period {
    /// The period a date falls in, as a sortable label: 2024-12-29, 2024-W52, 2024-12,
    /// 2024-Q4, 2024.
    pub fn key(self, d: NaiveDate) -> String {
        match self {
            Period::Day => d.format("%Y-%m-%d").to_string(),
            Period::Week => {
                let w = d.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
            Period::Month => d.format("%Y-%m").to_string(),
            Period::Quarter => format!("{}-Q{}", d.year(), (d.month() - 1) / 3 + 1),
            Period::Year => d.year().to_string(),
        }
    }
}

/// Which rhetoric a cell aggregates: an actor's own, the rhetoric aimed at it, or a pair's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum By {
    /// Rhetoric by an actor (the sentence's tone, when the actor speaks).
    Speaker,
    /// Rhetoric toward an actor (the tone toward it, when it is a target).
    Target,
    /// Rhetoric of one actor toward another.
    Dyad,
}

/// What counts once in a cell's statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Weight {
    /// Every sentence counts once, so an article with many sentences weighs more.
    Sentence,
    /// Every article counts once, by the mean of its sentences in the cell.
    Article,
}

/// One aggregate cell (numbers rounded to 4 decimals).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stat {
    /// Which aggregate the cell belongs to.
    pub by: By,
    /// The actor (speaker or target), or `speaker->target` for a dyad.
    pub actor: String,
    /// The speaking actor, for speaker and dyad cells; `None` for target cells.
    pub speaker: Option<String>,
    /// The targeted actor, for target and dyad cells; `None` for speaker cells.
    pub target: Option<String>,
    /// The period's label, as [`Period::key`] gives it (e.g. `2024-12`).
    pub period: String,
    /// How many sentences fall in the cell.
    pub sentences: usize,
    /// How many distinct articles those sentences come from.
    pub articles: usize,
    /// Mean tone of the units (sentences, or articles' means with `--weight article`), −1 … +1;
    /// for target and dyad cells the tone toward the target.
    pub mean_tone: f64,
    /// Standard deviation of the units' tones; `None` (null, an empty CSV cell) when the
    /// cell has a single unit (sentence, or article with `--weight article`).
    pub sd: Option<f64>,
    /// 95 % confidence interval of the mean (Student t); `None` for a single unit, where a
    /// zero-width interval would claim certainty the data cannot give.
    pub ci_low: Option<f64>,
    /// Upper bound of that interval; `None` for a single unit.
    pub ci_high: Option<f64>,
    /// Share of the cell's sentences labeled negative (toward the target, for target and dyad
    /// cells), 0 … 1; with `--weight article`, the mean of the articles' shares.
    pub share_negative: f64,
    /// Share of the cell's sentences labeled positive, 0 … 1, counted as `share_negative`.
    pub share_positive: f64,
    /// Shares of the quad classes among the cell's sentences that have one (GDELT-style
    /// QuadClass shares); absent when the rows carry no quad (e.g. VADER rows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quad: Option<QuadShares>,
    /// Mean, sd and 95 % CI of each user-defined axis (`rhetor score --axis`) over the same
    /// units as the tone; a target's or dyad's value is its sentence's (axes are per sentence).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub axes: BTreeMap<String, AxisStat>,
}

/// The statistics of one axis in a cell (rounded to 4 decimals).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AxisStat {
    /// Mean axis score of the units (−1 and +1 are the means of the low and high anchors;
    /// scores can lie beyond).
    pub mean: f64,
    /// `None` for a single unit, as for the tone.
    pub sd: Option<f64>,
    /// Lower bound of the 95 % confidence interval of the mean (Student t); `None` for a
    /// single unit.
    pub ci_low: Option<f64>,
    /// Upper bound of that interval; `None` for a single unit.
    pub ci_high: Option<f64>,
}

impl AxisStat {
    /// Mean, sample sd and 95 % Student t interval of `values`, rounded to 4 decimals.
    fn of(values: &[f64]) -> AxisStat {
        let v = Array1::from(values.to_vec());
        let n = v.len();
        let mean = v.mean().unwrap_or(0.0);
        let sd = (n > 1).then(|| v.std(1.0));
        let half = sd.map(|sd| t95(n - 1) * sd / (n as f64).sqrt());
        AxisStat {
            mean: r4(mean),
            sd: sd.map(r4),
            ci_low: half.map(|h| r4(mean - h)),
            ci_high: half.map(|h| r4(mean + h)),
        }
    }
}

/// Rounds to 4 decimals, half away from zero.
fn r4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// Shares of the five quad classes in a cell (they sum to 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QuadShares {
    /// Share of verbal cooperation (CAMEO roots 01–05), 0 … 1.
    pub verbal_cooperation: f64,
    /// Share of material cooperation (CAMEO roots 06–08), 0 … 1.
    pub material_cooperation: f64,
    /// Share of verbal conflict (CAMEO roots 09–13), 0 … 1.
    pub verbal_conflict: f64,
    /// Share of material conflict (CAMEO roots 14–20), 0 … 1.
    pub material_conflict: f64,
    /// Share of sentences that report no interaction between actors, 0 … 1 (the CSV's
    /// `share_no_event`).
    pub none: f64,
}

impl QuadShares {
    fn from_array(a: [f64; 5]) -> Self {
        QuadShares {
            verbal_cooperation: a[0],
            material_cooperation: a[1],
            verbal_conflict: a[2],
            material_conflict: a[3],
            none: a[4],
        }
    }

    /// The shares in [`Quad::ALL`] order.
    pub fn as_array(&self) -> [f64; 5] {
        [
            self.verbal_cooperation,
            self.material_cooperation,
            self.verbal_conflict,
            self.material_conflict,
            self.none,
        ]
    }

    /// The share of one class.
    pub fn get(&self, q: Quad) -> f64 {
        self.as_array()[q.index()]
    }
}

/// Two-sided 95% Student t critical values for 1..=30 degrees of freedom.
const T95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

fn t95(df: usize) -> f64 {
    match df {
        0 => f64::NAN,
        1..=30 => T95[df - 1],
        _ => 1.96 + 2.4 / df as f64,
    }
}

/// (by, actor, speaker, target, period)
type CellKey = (By, String, Option<String>, Option<String>, String);

/// One sentence's contribution to a cell.
struct Obs {
    article: String,
    tone: f64,
    label: Label,
    quad: Option<Quad>,
    axes: BTreeMap<String, f32>,
}

/// What one unit of weight (a sentence, or an article's mean) contributes.
struct Unit {
    tone: f64,
    negative: f64,
    positive: f64,
    /// Quad shares, when the unit has sentences with a quad.
    quad: Option<[f64; 5]>,
    /// Mean of each axis over the unit's sentences that have it.
    axes: BTreeMap<String, f64>,
}

impl Unit {
    /// The mean of a group of sentences (one sentence, or one article's).
    fn of(obs: &[&Obs]) -> Unit {
        let n = obs.len() as f64;
        let share = |l: Label| obs.iter().filter(|o| o.label == l).count() as f64 / n;
        let quads: Vec<Quad> = obs.iter().filter_map(|o| o.quad).collect();
        let quad = (!quads.is_empty()).then(|| {
            let mut a = [0f64; 5];
            for q in &quads {
                a[q.index()] += 1.0 / quads.len() as f64;
            }
            a
        });
        let mut axes: BTreeMap<String, (f64, usize)> = BTreeMap::new();
        for (a, v) in obs.iter().flat_map(|o| &o.axes) {
            let e = axes.entry(a.clone()).or_default();
            e.0 += *v as f64;
            e.1 += 1;
        }
        Unit {
            tone: obs.iter().map(|o| o.tone).sum::<f64>() / n,
            negative: share(Label::Negative),
            positive: share(Label::Positive),
            quad,
            axes: axes
                .into_iter()
                .map(|(a, (sum, k))| (a, sum / k as f64))
                .collect(),
        }
    }
}

/// Aggregates rows; rows without a date or without attribution are skipped (their number is
/// returned).
pub fn aggregate(
    rows: impl IntoIterator<Item = Row>,
    period: Period,
    weight: Weight,
    which: &[By],
) -> (Vec<Stat>, usize) {
    let mut cells: BTreeMap<CellKey, Vec<Obs>> = BTreeMap::new();
    let mut skipped = 0;
    for r in rows {
        let (Some(a), Some(at)) = (&r.article, &r.attribution) else {
            skipped += 1;
            continue;
        };
        let Some(date) = a.date else {
            skipped += 1;
            continue;
        };
        let p = period.key(date);
        let mut add = |key: (By, String, Option<String>, Option<String>), tone: f32, label| {
            if which.contains(&key.0) {
                cells
                    .entry((key.0, key.1, key.2, key.3, p.clone()))
                    .or_default()
                    .push(Obs {
                        article: a.article.clone(),
                        tone: tone as f64,
                        label,
                        quad: r.quad,
                        axes: r.axes.clone(),
                    });
            }
        };
        if let Some(s) = &at.speaker {
            let key = (By::Speaker, s.clone(), Some(s.clone()), None);
            add(key, r.tone, r.label);
        }
        for t in &at.targets {
            let key = (By::Target, t.actor.clone(), None, Some(t.actor.clone()));
            add(key, t.tone, t.label);
            if let Some(s) = &at.speaker {
                let dyad = format!("{s}->{}", t.actor);
                add(
                    (By::Dyad, dyad, Some(s.clone()), Some(t.actor.clone())),
                    t.tone,
                    t.label,
                );
            }
        }
    }
    let stats = cells
        .into_iter()
        .map(|(key, obs)| Stat::from_obs(key, &obs, weight))
        .collect();
    (stats, skipped)
}

impl Stat {
    /// The statistics of one cell: per sentence, or per article (each article's mean once).
    fn from_obs(key: CellKey, obs: &[Obs], weight: Weight) -> Stat {
        let (by, actor, speaker, target, period) = key;
        let mut articles: BTreeMap<&str, Vec<&Obs>> = BTreeMap::new();
        for o in obs {
            articles.entry(o.article.as_str()).or_default().push(o);
        }
        let units: Vec<Unit> = match weight {
            Weight::Sentence => obs.iter().map(|o| Unit::of(&[o])).collect(),
            Weight::Article => articles.values().map(|g| Unit::of(g)).collect(),
        };
        let tone = AxisStat::of(&units.iter().map(|u| u.tone).collect::<Vec<_>>());
        let n = units.len();
        let mut axis_values: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for (a, v) in units.iter().flat_map(|u| &u.axes) {
            axis_values.entry(a.as_str()).or_default().push(*v);
        }
        let avg = |f: &dyn Fn(&Unit) -> f64| r4(units.iter().map(f).sum::<f64>() / n as f64);
        let with_quad: Vec<[f64; 5]> = units.iter().filter_map(|u| u.quad).collect();
        let quad = (!with_quad.is_empty()).then(|| {
            let mut a = [0f64; 5];
            for (k, slot) in a.iter_mut().enumerate() {
                *slot = r4(with_quad.iter().map(|q| q[k]).sum::<f64>() / with_quad.len() as f64);
            }
            QuadShares::from_array(a)
        });
        Stat {
            by,
            actor,
            speaker,
            target,
            period,
            sentences: obs.len(),
            articles: articles.len(),
            mean_tone: tone.mean,
            sd: tone.sd,
            ci_low: tone.ci_low,
            ci_high: tone.ci_high,
            share_negative: avg(&|u| u.negative),
            share_positive: avg(&|u| u.positive),
            quad,
            axes: axis_values
                .into_iter()
                .map(|(a, v)| (a.to_string(), AxisStat::of(&v)))
                .collect(),
        }
    }
}

/// CSV with a header, numbers rounded to 4 decimals; ids quoted where they need it (an
/// actor id from a user's registry may hold a comma or a quote).
/// Axes add four columns each (`axis_NAME_mean`, `_sd`, `_ci_low`, `_ci_high`).
pub fn to_csv(stats: &[Stat]) -> String {
    let axes: std::collections::BTreeSet<&str> = stats
        .iter()
        .flat_map(|s| s.axes.keys().map(String::as_str))
        .collect();
    let mut header: Vec<String> = CSV_HEADER.iter().map(|h| h.to_string()).collect();
    for a in &axes {
        header.extend(["mean", "sd", "ci_low", "ci_high"].map(|k| format!("axis_{a}_{k}")));
    }
    let mut w = crate::report::csv_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = w.write_record(&header);
    for s in stats {
        let _ = w.write_record(csv_record(s, &axes));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

const CSV_HEADER: [&str; 18] = [
    "by",
    "actor",
    "speaker",
    "target",
    "period",
    "sentences",
    "articles",
    "mean_tone",
    "sd",
    "ci_low",
    "ci_high",
    "share_negative",
    "share_positive",
    "share_verbal_cooperation",
    "share_material_cooperation",
    "share_verbal_conflict",
    "share_material_conflict",
    "share_no_event",
];

/// One statistic as CSV fields, numbers with 4 decimals, empty where undefined.
fn csv_record(s: &Stat, axes: &std::collections::BTreeSet<&str>) -> Vec<String> {
    let r = |x: f64| format!("{:.4}", x);
    let maybe = |x: Option<f64>| x.map(r).unwrap_or_default();
    let by = serde_json::to_value(s.by)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    let mut rec = vec![
        by,
        s.actor.clone(),
        s.speaker.clone().unwrap_or_default(),
        s.target.clone().unwrap_or_default(),
        s.period.clone(),
        s.sentences.to_string(),
        s.articles.to_string(),
        r(s.mean_tone),
        maybe(s.sd),
        maybe(s.ci_low),
        maybe(s.ci_high),
        r(s.share_negative),
        r(s.share_positive),
    ];
    match &s.quad {
        Some(q) => rec.extend(q.as_array().map(r)),
        None => rec.extend([(); 5].map(|_| String::new())),
    }
    for a in axes {
        match s.axes.get(*a) {
            Some(x) => rec.extend([r(x.mean), maybe(x.sd), maybe(x.ci_low), maybe(x.ci_high)]),
            None => rec.extend([(); 4].map(|_| String::new())),
        }
    }
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_keys() {
        let d = NaiveDate::from_ymd_opt(2024, 12, 29).unwrap();
        assert_eq!(Period::Day.key(d), "2024-12-29");
        assert_eq!(Period::Week.key(d), "2024-W52");
        assert_eq!(Period::Month.key(d), "2024-12");
        assert_eq!(Period::Quarter.key(d), "2024-Q4");
        assert_eq!(Period::Year.key(d), "2024");
        assert_eq!(
            Period::Week.key(NaiveDate::from_ymd_opt(2024, 12, 30).unwrap()),
            "2025-W01"
        );
    }

    #[test]
    fn csv_quotes_an_actor_id_with_a_comma_or_quote() {
        let stat = Stat {
            by: By::Speaker,
            actor: "acme, \"inc\"".into(),
            speaker: Some("acme, \"inc\"".into()),
            target: None,
            period: "2024".into(),
            sentences: 1,
            articles: 1,
            mean_tone: 0.5,
            sd: None,
            ci_low: None,
            ci_high: None,
            share_negative: 0.0,
            share_positive: 1.0,
            quad: None,
            axes: BTreeMap::new(),
        };
        let csv = to_csv(&[stat]);
        let line = csv.lines().nth(1).unwrap();
        assert!(
            line.starts_with(
                "speaker,\"acme, \"\"inc\"\"\",\"acme, \"\"inc\"\"\",,2024,1,1,0.5000,,,,"
            ),
            "{line}"
        );
    }

    fn row(article: &str, speaker: &str, tone: f32, threat: f32) -> Row {
        let json = serde_json::json!({
            "article": article, "date": "2024-03-05", "source": "s", "index": 0,
            "start": 0, "end": 1, "text": "x", "tone": tone, "label": "neutral",
            "probs": {"negative": 0.3, "neutral": 0.4, "positive": 0.3},
            "model": "m", "truncated": false, "speaker": speaker, "targets": [],
            "mentions": [], "axes": {"threat": threat}
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn axes_are_aggregated_over_the_same_units_as_the_tone() {
        let rows = vec![
            row("a1", "x", 0.0, 0.2),
            row("a1", "x", 0.0, 0.6),
            row("a2", "x", 0.0, -0.4),
        ];
        let (per_sentence, _) = aggregate(
            rows.clone(),
            Period::Month,
            Weight::Sentence,
            &[By::Speaker],
        );
        let t = per_sentence[0].axes["threat"];
        assert_eq!(t.mean, 0.1333);
        assert_eq!(t.sd, Some(0.5033));
        let (per_article, _) = aggregate(rows, Period::Month, Weight::Article, &[By::Speaker]);
        let t = per_article[0].axes["threat"];
        assert_eq!(t.mean, 0.0, "mean of the article means 0.4 and -0.4");
        let csv = to_csv(&per_article);
        let mut lines = csv.lines();
        assert!(lines
            .next()
            .unwrap()
            .ends_with(",share_no_event,axis_threat_mean,axis_threat_sd,axis_threat_ci_low,axis_threat_ci_high"));
        assert!(lines
            .next()
            .unwrap()
            .ends_with(",,,,,0.0000,0.5657,-5.0824,5.0824"));
    }

    #[test]
    fn t_values() {
        assert_eq!(t95(1), 12.706);
        assert!((t95(1000) - 1.9624).abs() < 1e-3);
    }
}
