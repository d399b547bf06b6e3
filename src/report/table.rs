//! Table: a readable, width-aware view for terminals. One line per sentence with the tone as a
//! signed number and a small bar, the article and date shown when they change.

use std::io::Write;

use super::{Reporter, Row};
use crate::model::Quad;

/// Writes rows as a table for terminals.
pub(crate) struct TableReporter<'w> {
    out: Box<dyn Write + 'w>,
    width: usize,
    last_article: Option<(String, String)>,
    rows: usize,
}

/// The terminal width from `$COLUMNS`, or 100.
pub fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|&w: &usize| w >= 40)
        .unwrap_or(100)
}

impl<'w> TableReporter<'w> {
    /// A reporter writing to `out`, fitting lines to `width` columns (at least 40).
    pub fn new(out: Box<dyn Write + 'w>, width: usize) -> Self {
        TableReporter {
            out,
            width: width.max(40),
            last_article: None,
            rows: 0,
        }
    }
}

/// A 5-cell bar: left of centre for negative tone, right for positive.
fn bar(tone: f32) -> String {
    let cells = (tone.abs() * 5.0).round().min(5.0) as usize;
    if tone < 0.0 {
        format!("{:>5}|{:5}", "█".repeat(cells), "")
    } else {
        format!("{:>5}|{:<5}", "", "█".repeat(cells))
    }
}

/// Five-letter quad names for the table: vcoop, mcoop, vconf, mconf, none.
fn quad_short(q: Quad) -> &'static str {
    match q {
        Quad::VerbalCooperation => "vcoop",
        Quad::MaterialCooperation => "mcoop",
        Quad::VerbalConflict => "vconf",
        Quad::MaterialConflict => "mconf",
        Quad::None => "none",
    }
}

fn clip(s: &str, width: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= width {
        flat
    } else {
        let mut t: String = flat.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

impl Reporter for TableReporter<'_> {
    fn row(&mut self, row: &Row) -> std::io::Result<()> {
        let key = match &row.article {
            Some(a) => (
                a.article.clone(),
                a.date
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "undated".into()),
            ),
            None => (row.source.clone(), String::new()),
        };
        if self.last_article.as_ref() != Some(&key) {
            if self.rows > 0 {
                writeln!(self.out)?;
            }
            let title = match &row.article {
                Some(a) => a.title.clone().unwrap_or_default(),
                None => String::new(),
            };
            writeln!(
                self.out,
                "{}",
                clip(&format!("── {}  {}  {}", key.1, key.0, title), self.width)
            )?;
            writeln!(
                self.out,
                "{:>4}  {:>6}  {:11}  {:8}  {:5}  text",
                "#", "tone", "", "label", "quad"
            )?;
            self.last_article = Some(key);
        }
        let flag = if row.truncated { "…" } else { "" };
        let fixed = 4 + 2 + 6 + 2 + 11 + 2 + 8 + 2 + 5 + 2;
        writeln!(
            self.out,
            "{:>4}  {:>+6.2}  {}  {:8}  {:5}  {}{}",
            row.index,
            row.tone,
            bar(row.tone),
            row.label.as_str(),
            row.quad.map_or("", quad_short),
            clip(&row.text, self.width.saturating_sub(fixed + 1)),
            flag
        )?;
        self.extras(row, fixed)?;
        self.rows += 1;
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl TableReporter<'_> {
    /// The line under a row for `--explain` and `--axis`: the phrases that moved the tone,
    /// marked ▲ (towards warm) or ▼ (towards hostile), and the axis scores.
    fn extras(&mut self, row: &Row, indent: usize) -> std::io::Result<()> {
        let mut parts: Vec<String> = row
            .explanation
            .iter()
            .flatten()
            .map(|p| {
                let arrow = if p.effect < 0.0 { '▼' } else { '▲' };
                format!("{arrow}\"{}\" {:+.2}", p.text, p.effect)
            })
            .collect();
        parts.extend(row.axes.iter().map(|(a, v)| format!("{a} {v:+.2}")));
        if parts.is_empty() {
            return Ok(());
        }
        let width = self.width.saturating_sub(indent + 1);
        writeln!(self.out, "{:indent$}{}", "", clip(&parts.join("  "), width))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_point_the_right_way() {
        assert_eq!(bar(-1.0), "█████|     ");
        assert_eq!(bar(0.4), "     |██   ");
        assert_eq!(bar(0.0), "     |     ");
    }

    #[test]
    fn clip_keeps_short_text_and_marks_cuts() {
        assert_eq!(clip("a  b\nc", 10), "a b c");
        assert_eq!(clip("abcdefghij", 5), "abcd…");
    }
}
