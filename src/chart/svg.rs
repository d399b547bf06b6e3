//! The SVG chart: one line per actor, with a confidence band for mean tone, written as text.
//!
//! Written by hand rather than with `plotters`: a prototype with plotters 0.3's SVG backend
//! (no font features) drew axes, labels and lines, but the backend cannot attach a `<title>` to
//! a point, and every point here carries one (actor, period, n, mean tone and CI on hover in
//! the HTML report).

use std::fmt::Write as _;

use super::{capitalise, ci_text, esc, Chart, Measure, Metric, Series, COLORS};
use crate::aggregate::Stat;

impl Chart {
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
                ci_text(st.ci_low, st.ci_high)
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
