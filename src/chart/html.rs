//! The HTML report: the SVG, a dyad table, and the evidence sentences behind every point.

use std::fmt::Write as _;

use super::{capitalise, ci_text, esc, Chart, Measure};
use crate::aggregate::Stat;
use crate::row::Phrase;

impl Chart {
    /// " · threat axis +0.41 (95% CI …)" when the chart plots an axis.
    fn axis_summary(&self, st: &Stat) -> String {
        let Measure::Axis(name) = &self.measure else {
            return String::new();
        };
        match st.axes.get(name) {
            Some(x) => format!(
                " · {} axis {:+.2} ({})",
                esc(name),
                x.mean,
                ci_text(x.ci_low, x.ci_high)
            ),
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
                    esc(&st.period), cls(st.mean_tone), st.mean_tone, ci_text(st.ci_low, st.ci_high), st.sentences,
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

/// " · quad: 50% verbal conflict, 25% …" for a cell with quad shares (largest first).
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

#[cfg(test)]
mod tests {
    use super::{highlight, Phrase};

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
}
