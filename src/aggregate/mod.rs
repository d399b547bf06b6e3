//! Aggregate: rhetoric per actor and period from scored, attributed rows. For each actor × period
//! as speaker ("rhetoric by"), as target ("rhetoric toward"), and per dyad speaker → target:
//! sentences, articles, mean tone, standard deviation, 95% confidence interval (Student t), and
//! the shares of negative and positive sentences; weighted per sentence or per article (each
//! article's mean counts once).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use ndarray::Array1;
use serde::Serialize;

use crate::model::Label;
use crate::report::Row;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Period {
    Day,
    Week,
    Month,
    Quarter,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum By {
    /// Rhetoric by an actor (the sentence's tone, when the actor speaks).
    Speaker,
    /// Rhetoric toward an actor (the tone toward it, when it is a target).
    Target,
    /// Rhetoric of one actor toward another.
    Dyad,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Weight {
    Sentence,
    Article,
}

/// One aggregate cell (numbers rounded to 4 decimals).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stat {
    pub by: By,
    /// The actor (speaker or target), or `speaker->target` for a dyad.
    pub actor: String,
    pub speaker: Option<String>,
    pub target: Option<String>,
    pub period: String,
    pub sentences: usize,
    pub articles: usize,
    pub mean_tone: f64,
    pub sd: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub share_negative: f64,
    pub share_positive: f64,
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

#[derive(Default)]
struct Cell {
    /// (article, tone, label) per sentence.
    obs: Vec<(String, f64, Label)>,
}

/// Aggregates rows; rows without a date or without attribution are skipped (their number is
/// returned).
pub fn aggregate(
    rows: impl IntoIterator<Item = Row>,
    period: Period,
    weight: Weight,
    which: &[By],
) -> (Vec<Stat>, usize) {
    let mut cells: BTreeMap<CellKey, Cell> = BTreeMap::new();
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
        let mut add = |by: By,
                       actor: String,
                       s: Option<String>,
                       t: Option<String>,
                       tone: f32,
                       label: Label| {
            if which.contains(&by) {
                cells
                    .entry((by, actor, s, t, p.clone()))
                    .or_default()
                    .obs
                    .push((a.article.clone(), tone as f64, label));
            }
        };
        if let Some(s) = &at.speaker {
            add(
                By::Speaker,
                s.clone(),
                Some(s.clone()),
                None,
                r.tone,
                r.label,
            );
        }
        for t in &at.targets {
            add(
                By::Target,
                t.actor.clone(),
                None,
                Some(t.actor.clone()),
                t.tone,
                t.label,
            );
            if let Some(s) = &at.speaker {
                add(
                    By::Dyad,
                    format!("{s}->{}", t.actor),
                    Some(s.clone()),
                    Some(t.actor.clone()),
                    t.tone,
                    t.label,
                );
            }
        }
    }
    let stats = cells
        .into_iter()
        .map(|((by, actor, speaker, target, period), cell)| {
            let mut articles: BTreeMap<&str, Vec<(f64, Label)>> = BTreeMap::new();
            for (art, tone, label) in &cell.obs {
                articles
                    .entry(art.as_str())
                    .or_default()
                    .push((*tone, *label));
            }
            let share = |xs: &[(f64, Label)], l: Label| {
                xs.iter().filter(|x| x.1 == l).count() as f64 / xs.len() as f64
            };
            let (values, neg, pos): (Vec<f64>, f64, f64) = match weight {
                Weight::Sentence => (
                    cell.obs.iter().map(|o| o.1).collect(),
                    cell.obs.iter().filter(|o| o.2 == Label::Negative).count() as f64
                        / cell.obs.len() as f64,
                    cell.obs.iter().filter(|o| o.2 == Label::Positive).count() as f64
                        / cell.obs.len() as f64,
                ),
                Weight::Article => {
                    let means: Vec<f64> = articles
                        .values()
                        .map(|xs| xs.iter().map(|x| x.0).sum::<f64>() / xs.len() as f64)
                        .collect();
                    let n = articles.len() as f64;
                    (
                        means,
                        articles
                            .values()
                            .map(|xs| share(xs, Label::Negative))
                            .sum::<f64>()
                            / n,
                        articles
                            .values()
                            .map(|xs| share(xs, Label::Positive))
                            .sum::<f64>()
                            / n,
                    )
                }
            };
            let v = Array1::from(values);
            let n = v.len();
            let mean = v.mean().unwrap_or(0.0);
            let sd = if n > 1 { v.std(1.0) } else { 0.0 };
            let half = if n > 1 {
                t95(n - 1) * sd / (n as f64).sqrt()
            } else {
                0.0
            };
            let r4 = |x: f64| (x * 1e4).round() / 1e4;
            Stat {
                by,
                actor,
                speaker,
                target,
                period,
                sentences: cell.obs.len(),
                articles: articles.len(),
                mean_tone: r4(mean),
                sd: r4(sd),
                ci_low: r4(mean - half),
                ci_high: r4(mean + half),
                share_negative: r4(neg),
                share_positive: r4(pos),
            }
        })
        .collect();
    (stats, skipped)
}

/// CSV with a header, numbers rounded to 4 decimals.
pub fn to_csv(stats: &[Stat]) -> String {
    let mut out = String::from(
        "by,actor,speaker,target,period,sentences,articles,mean_tone,sd,ci_low,ci_high,share_negative,share_positive\n",
    );
    let r = |x: f64| format!("{:.4}", x);
    for s in stats {
        out += &format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            serde_json::to_value(s.by)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            s.actor,
            s.speaker.clone().unwrap_or_default(),
            s.target.clone().unwrap_or_default(),
            s.period,
            s.sentences,
            s.articles,
            r(s.mean_tone),
            r(s.sd),
            r(s.ci_low),
            r(s.ci_high),
            r(s.share_negative),
            r(s.share_positive)
        );
    }
    out
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
    fn t_values() {
        assert_eq!(t95(1), 12.706);
        assert!((t95(1000) - 1.9624).abs() < 1e-3);
    }
}
