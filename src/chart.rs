//! Charts of rhetoric per actor over time: a terminal chart that reads in 80 columns, an SVG
//! with confidence bands, and a self-contained HTML report (the SVG, a dyad table, and for
//! each point the evidence sentences with the strongest tone).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::aggregate::{aggregate, By, Period, Stat, Weight};
use crate::row::{Phrase, Row};

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

    /// A terminal chart `width` columns wide (80 reads well), with a legend.
    pub fn terminal(&self, width: usize) -> String {
        let mut out = String::new();
        if self.periods.is_empty() {
            return "no dated, attributed sentences to chart\n".into();
        }
        let cells = Cells {
            w: width.saturating_sub(8).max(10),
            h: 15,
            periods: self.periods.len(),
        };
        let grid = self.terminal_grid(&cells);
        let zero = cells.y(0.0);
        let _ = writeln!(
            out,
            "{} actor over time ({} per period; {})",
            self.what(),
            self.measure.describe(),
            self.measure.scale()
        );
        let ticks = self.measure.ticks();
        for (r, line) in grid.iter().enumerate() {
            let label = if r == 0 {
                ticks[0]
            } else if r == zero {
                ticks[1]
            } else if r == cells.h - 1 {
                ticks[2]
            } else {
                ""
            };
            let _ = writeln!(out, "{label:>5} │{}", line.iter().collect::<String>());
        }
        let _ = writeln!(out, "{:>5} └{}", "", "─".repeat(cells.w));
        let _ = writeln!(out, "{:>5}  {}", "", self.period_labels(&cells).trim_end());
        for (k, s) in self.series.iter().enumerate() {
            let n: usize = s.points.iter().map(|p| p.1.sentences).sum();
            let mean = s
                .points
                .iter()
                .map(|p| self.measure.value(&p.1).unwrap_or(0.0) * p.1.sentences as f64)
                .sum::<f64>()
                / n.max(1) as f64;
            let _ = writeln!(
                out,
                "  {} {:<28} {:>4} sentences, mean {}",
                SYMBOLS[k],
                s.actor,
                n,
                self.format(mean)
            );
        }
        out
    }

    /// The plot area: a dotted zero line, each series' points as its symbol and the lines
    /// between them in its lower-case symbol.
    fn terminal_grid(&self, cells: &Cells) -> Vec<Vec<char>> {
        let mut grid = vec![vec![' '; cells.w]; cells.h];
        for c in grid[cells.y(0.0)].iter_mut() {
            *c = '·';
        }
        for (k, s) in self.series.iter().enumerate() {
            let sym = SYMBOLS[k];
            for w in s.points.windows(2) {
                let (x0, y0) = (cells.x(w[0].0) as f64, cells.y(self.y(&w[0].1)) as f64);
                let (x1, y1) = (cells.x(w[1].0) as f64, cells.y(self.y(&w[1].1)) as f64);
                let steps = (x1 - x0).abs().max((y1 - y0).abs()).max(1.0) as usize;
                for st in 1..steps {
                    let f = st as f64 / steps as f64;
                    let (x, y) = (
                        (x0 + f * (x1 - x0)).round() as usize,
                        (y0 + f * (y1 - y0)).round() as usize,
                    );
                    if grid[y][x] == ' ' || grid[y][x] == '·' {
                        grid[y][x] = sym.to_ascii_lowercase();
                    }
                }
            }
            for (i, st) in &s.points {
                grid[cells.y(self.y(st))][cells.x(*i)] = sym;
            }
        }
        grid
    }

    /// The first, middle and last period labels under the plot.
    fn period_labels(&self, cells: &Cells) -> String {
        let mut axis = vec![' '; cells.w + 10];
        let n = self.periods.len();
        let mut idx = vec![0];
        if n > 2 {
            idx.push(n / 2);
        }
        if n > 1 {
            idx.push(n - 1);
        }
        for i in idx {
            let lab: Vec<char> = self.periods[i].chars().collect();
            let x = cells
                .x(i)
                .saturating_sub(lab.len() / 2)
                .min(cells.w.saturating_sub(lab.len()));
            for (k, c) in lab.iter().enumerate() {
                axis[x + k] = *c;
            }
        }
        axis.iter().collect()
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

    /// An SVG chart: one line per actor (for tone with its 95% confidence band).
    pub fn svg(&self) -> String {
        let plot = Plot::new(self.periods.len());
        let (w, h) = (plot.w, plot.h);
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
        );
        let _ = write!(s, r##"<rect width="{w}" height="{h}" fill="#ffffff"/>"##);
        let _ = write!(
            s,
            r##"<text x="{}" y="22" font-size="15" font-weight="bold" fill="#222">{} actor over time ({}{})</text>"##,
            plot.ml,
            capitalise(self.what()),
            self.measure.describe(),
            if self.measure.is_mean() {
                ", 95% CI"
            } else {
                ""
            }
        );
        self.svg_value_axis(&plot, &mut s);
        self.svg_time_axis(&plot, &mut s);
        for (k, se) in self.series.iter().enumerate() {
            self.svg_series(&plot, k, se, &mut s);
        }
        s.push_str("</svg>\n");
        s
    }

    /// Horizontal grid lines with their ticks, and the value axis's title.
    fn svg_value_axis(&self, plot: &Plot, s: &mut String) {
        let (ml, pw) = (plot.ml, plot.pw);
        for t in [-1.0, -0.5, 0.0, 0.5, 1.0] {
            let tick = if self.measure.is_mean() {
                format!("{t:+.1}")
            } else {
                format!("{:.0}%", (t + 1.0) * 50.0)
            };
            let yy = plot.y(t);
            let (stroke, dash) = if t == 0.0 {
                ("#888", "")
            } else {
                ("#ddd", r#" stroke-dasharray="3,3""#)
            };
            let _ = write!(
                s,
                r#"<line x1="{ml}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="{stroke}"{dash}/>"#,
                ml + pw
            );
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#444">{tick}</text>"##,
                ml - 8.0,
                yy + 4.0
            );
        }
        let mid = plot.mt + plot.ph / 2.0;
        let _ = write!(
            s,
            r##"<text x="14" y="{mid:.1}" fill="#444" transform="rotate(-90 14 {mid:.1})" text-anchor="middle">{}</text>"##,
            match &self.measure {
                Measure::Metric(Metric::Tone) => "tone (−1 hostile … +1 warm)".to_string(),
                Measure::Axis(a) => format!("{} (−1 … +1)", esc(a)),
                Measure::Metric(_) => "share of sentences".to_string(),
            }
        );
    }

    /// Period ticks and labels along the bottom (at most about a dozen).
    fn svg_time_axis(&self, plot: &Plot, s: &mut String) {
        let n = self.periods.len().max(1);
        let every = (n / 12).max(1);
        let bottom = plot.mt + plot.ph;
        for (i, p) in self.periods.iter().enumerate() {
            if i % every != 0 && i != n - 1 {
                continue;
            }
            let xx = plot.x(i);
            let _ = write!(
                s,
                r##"<line x1="{xx:.1}" y1="{bottom:.1}" x2="{xx:.1}" y2="{:.1}" stroke="#999"/>"##,
                bottom + 5.0
            );
            let _ = write!(
                s,
                r##"<text x="{xx:.1}" y="{:.1}" text-anchor="end" fill="#333" transform="rotate(-40 {xx:.1} {:.1})">{}</text>"##,
                bottom + 18.0,
                bottom + 18.0,
                esc(p)
            );
        }
    }

    /// One actor's confidence band (tone only), line, points and legend entry.
    fn svg_series(&self, plot: &Plot, k: usize, se: &Series, s: &mut String) {
        let c = COLORS[k % COLORS.len()];
        if se.points.len() > 1 && self.measure.is_mean() {
            let mut band = String::new();
            // A single-unit point has no interval: the band pinches to its mean.
            let ci = |st: &Stat| {
                let mean = self.measure.value(st).unwrap_or(0.0);
                self.measure.ci(st).unwrap_or((mean, mean))
            };
            for (i, st) in &se.points {
                let _ = write!(band, "{:.1},{:.1} ", plot.x(*i), plot.y(ci(st).1));
            }
            for (i, st) in se.points.iter().rev() {
                let _ = write!(band, "{:.1},{:.1} ", plot.x(*i), plot.y(ci(st).0));
            }
            let _ = write!(
                s,
                r#"<polygon points="{}" fill="{c}" fill-opacity="0.12" stroke="none"/>"#,
                band.trim()
            );
        }
        if se.points.len() > 1 {
            let line: Vec<String> = se
                .points
                .iter()
                .map(|(i, st)| format!("{:.1},{:.1}", plot.x(*i), plot.y(self.y(st))))
                .collect();
            let _ = write!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{c}" stroke-width="2"/>"#,
                line.join(" ")
            );
        }
        for (i, st) in &se.points {
            // A hollow marker: a single unit, no confidence interval.
            let fill = if !self.measure.is_mean() || self.measure.ci(st).is_some() {
                c
            } else {
                "white"
            };
            let _ = write!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{fill}" stroke="{c}" stroke-width="1.5"><title>{} {}: {} (n={}, mean tone {:+.2}, {})</title></circle>"#,
                plot.x(*i),
                plot.y(self.y(st)),
                esc(&se.actor),
                esc(&st.period),
                self.format(self.measure.value(st).unwrap_or(0.0)),
                st.sentences,
                st.mean_tone,
                ci_text(st)
            );
        }
        let ly = plot.mt + 10.0 + 22.0 * k as f64;
        let lx = plot.ml + plot.pw + 20.0;
        let _ = write!(
            s,
            r#"<rect x="{lx:.1}" y="{:.1}" width="14" height="14" fill="{c}"/>"#,
            ly - 11.0
        );
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{ly:.1}" fill="#222">{}</text>"##,
            lx + 20.0,
            esc(&se.actor)
        );
    }

    /// " · threat axis +0.41 (95% CI …)" when the chart plots an axis.
    fn axis_summary(&self, st: &Stat) -> String {
        let Measure::Axis(name) = &self.measure else {
            return String::new();
        };
        match st.axes.get(name) {
            Some(x) => {
                let ci = match (x.ci_low, x.ci_high) {
                    (Some(lo), Some(hi)) => format!("95% CI {lo:+.2}..{hi:+.2}"),
                    _ => "single unit: no CI".into(),
                };
                format!(" · {} axis {:+.2} ({ci})", esc(name), x.mean)
            }
            None => String::new(),
        }
    }

    /// A self-contained HTML report.
    pub fn html(&self, title: &str) -> String {
        let mut h = String::new();
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>\
body{{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}}table{{border-collapse:collapse;margin:12px 0}}\
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:13px}}th{{background:#f2f2f2}}\
.neg{{color:#b03a2e}}.pos{{color:#1e8449}}mark.neg{{background:#f5d5d1}}mark.pos{{background:#d4efdf}}h2{{margin-top:28px}}.ev{{font-size:13px;margin:2px 0 2px 16px}}\
</style></head><body>\n<h1>{}</h1>\n",
            esc(title),
            esc(title)
        );
        h.push_str(&self.svg());
        h.push_str("<h2>Dyads: who speaks about whom</h2>\n<table><tr><th>speaker</th><th>target</th><th>sentences</th><th>mean tone</th></tr>\n");
        for (s, t, n, m) in self.dyads.iter().take(40) {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{n}</td><td class=\"{}\">{m:+.2}</td></tr>",
                esc(s),
                esc(t),
                cls(*m)
            );
        }
        h.push_str(
            "</table>\n<h2>Evidence: the sentences with the strongest tone per point</h2>\n",
        );
        for se in &self.series {
            let _ = writeln!(h, "<h3>{} {}</h3>", capitalise(self.what()), esc(&se.actor));
            for (_, st) in &se.points {
                let _ = writeln!(
                    h,
                    "<p><b>{}</b>: mean <span class=\"{}\">{:+.2}</span> ({}) over {} sentence(s) in {} article(s){}{}</p>",
                    esc(&st.period), cls(st.mean_tone), st.mean_tone, ci_text(st), st.sentences,
                    st.articles, quad_summary(st), self.axis_summary(st)
                );
                if let Some(ev) = self.evidence.get(&(se.actor.clone(), st.period.clone())) {
                    for e in ev {
                        let _ = writeln!(
                            h,
                            "<p class=\"ev\"><span class=\"{}\">{:+.2}</span> {} <i>({}, {})</i></p>",
                            cls(e.value as f64), e.value, highlight(&e.text, &e.phrases),
                            esc(&e.article), esc(&e.date)
                        );
                    }
                }
            }
        }
        h.push_str("</body></html>\n");
        h
    }
}

/// " · quad: 50% verbal conflict, 25% …" for a cell with quad shares (largest first).
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

/// A sentence as HTML with its explanation phrases marked (`<mark class="neg|pos">`, the
/// effect in the tooltip).
fn highlight(text: &str, phrases: &[Phrase]) -> String {
    let mut spans: Vec<&Phrase> = phrases.iter().collect();
    spans.sort_by_key(|p| p.start);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut at = 0;
    for p in spans {
        if p.start < at || p.end > chars.len() || p.start >= p.end {
            continue;
        }
        out += &esc(&chars[at..p.start].iter().collect::<String>());
        let _ = write!(
            out,
            r#"<mark class="{}" title="moves the tone {:+.2}">{}</mark>"#,
            if p.effect < 0.0 { "neg" } else { "pos" },
            p.effect,
            esc(&chars[p.start..p.end].iter().collect::<String>())
        );
        at = p.end;
    }
    out + &esc(&chars[at..].iter().collect::<String>())
}

/// The terminal chart's plot area in character cells: `w` columns, `h` rows.
struct Cells {
    w: usize,
    h: usize,
    periods: usize,
}

impl Cells {
    /// The column of period `i` (one period sits in the middle).
    fn x(&self, i: usize) -> usize {
        if self.periods == 1 {
            self.w / 2
        } else {
            i * (self.w - 1) / (self.periods - 1)
        }
    }

    /// The row of a value in [-1, 1] (clamped; row 0 is +1).
    fn y(&self, t: f64) -> usize {
        (((1.0 - t.clamp(-1.0, 1.0)) / 2.0) * (self.h - 1) as f64).round() as usize
    }
}

/// The SVG's geometry: size, margins, plot area, and where a period and a value fall.
struct Plot {
    w: f64,
    h: f64,
    ml: f64,
    mt: f64,
    pw: f64,
    ph: f64,
    periods: usize,
}

impl Plot {
    fn new(periods: usize) -> Self {
        let (w, h) = (960.0, 460.0);
        let (ml, mr, mt, mb) = (60.0, 220.0, 40.0, 70.0);
        Plot {
            w,
            h,
            ml,
            mt,
            pw: w - ml - mr,
            ph: h - mt - mb,
            periods: periods.max(1),
        }
    }

    /// The x of period `i` (one period sits in the middle).
    fn x(&self, i: usize) -> f64 {
        if self.periods == 1 {
            self.ml + self.pw / 2.0
        } else {
            self.ml + self.pw * i as f64 / (self.periods - 1) as f64
        }
    }

    /// The y of a value in [-1, 1] (clamped).
    fn y(&self, t: f64) -> f64 {
        self.mt + self.ph * (1.0 - t.clamp(-1.0, 1.0)) / 2.0
    }
}

/// "95% CI −0.40..+0.10", or a mark that a single unit has none.
fn ci_text(st: &Stat) -> String {
    match (st.ci_low, st.ci_high) {
        (Some(lo), Some(hi)) => format!("95% CI {lo:+.2}..{hi:+.2}"),
        _ => "single unit: no CI".to_string(),
    }
}

fn quad_summary(st: &Stat) -> String {
    let Some(q) = st.quad else {
        return String::new();
    };
    let mut parts: Vec<(f64, &str)> = crate::model::Quad::ALL
        .iter()
        .map(|&c| (q.get(c), c.as_str()))
        .filter(|p| p.0 > 0.0)
        .collect();
    parts.sort_by(|a, b| b.0.total_cmp(&a.0));
    let text: Vec<String> = parts
        .iter()
        .map(|(v, n)| format!("{:.0}% {}", v * 100.0, n.replace('_', " ")))
        .collect();
    format!(" · quad: {}", text.join(", "))
}

fn cls(t: f64) -> &'static str {
    if t < -0.05 {
        "neg"
    } else if t > 0.05 {
        "pos"
    } else {
        ""
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
    use super::{closest, esc, highlight, Phrase};

    #[test]
    fn highlight_marks_phrases_by_character_offsets_and_escapes_the_rest() {
        let p = |start, end, effect| Phrase {
            text: String::new(),
            start,
            end,
            effect,
        };
        let html = highlight(
            "Ü <b> threatened & praised",
            &[p(19, 26, 0.3), p(6, 16, -0.5)],
        );
        assert_eq!(
            html,
            "Ü &lt;b&gt; <mark class=\"neg\" title=\"moves the tone -0.50\">threatened</mark> &amp; <mark class=\"pos\" title=\"moves the tone +0.30\">praised</mark>"
        );
    }

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
