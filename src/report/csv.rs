//! CSV: one line per scored unit, RFC 4180 quoting, header first.

use std::io::Write;

use super::{round4, Reporter, Row};

/// Writes rows as CSV, the header before the first row.
pub(crate) struct CsvReporter<'w> {
    out: Box<dyn Write + 'w>,
    /// Set by the first row: the axis columns and whether an explanation column follows.
    columns: Option<(Vec<String>, bool)>,
}

impl<'w> CsvReporter<'w> {
    /// A reporter writing to `out`.
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        CsvReporter { out, columns: None }
    }
}

/// `phrase (+0.31); other phrase (-0.12)`: an explanation in one CSV cell.
fn explanation_cell(row: &Row) -> String {
    row.explanation
        .iter()
        .flatten()
        .map(|p| format!("{} ({:+.2})", p.text, p.effect))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Quotes a CSV field when it needs it.
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl Reporter for CsvReporter<'_> {
    fn row(&mut self, row: &Row) -> std::io::Result<()> {
        if self.columns.is_none() {
            // Every row of a run has the same axes and explanation setting.
            let axes: Vec<String> = row.axes.keys().cloned().collect();
            let explained = row.explanation.is_some();
            let mut header = "article,source,date,index,start,end,tone,label,p_negative,p_neutral,p_positive,quad,truncated,model,text".to_string();
            for a in &axes {
                header += &format!(",axis_{a}");
            }
            if explained {
                header += ",explanation";
            }
            writeln!(self.out, "{header}")?;
            self.columns = Some((axes, explained));
        }
        let (article, date) = match &row.article {
            Some(a) => (
                a.article.clone(),
                a.date.map(|d| d.to_string()).unwrap_or_default(),
            ),
            None => (String::new(), String::new()),
        };
        write!(
            self.out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            field(&article),
            field(&row.source),
            date,
            row.index,
            row.start,
            row.end,
            round4(row.tone),
            row.label.as_str(),
            round4(row.probs.negative),
            round4(row.probs.neutral),
            round4(row.probs.positive),
            row.quad.map_or("", |q| q.as_str()),
            row.truncated,
            field(&row.model),
            field(&row.text)
        )?;
        let (axes, explained) = self.columns.as_ref().expect("set above");
        for a in axes {
            match row.axes.get(a) {
                Some(v) => write!(self.out, ",{}", round4(*v))?,
                None => write!(self.out, ",")?,
            }
        }
        if *explained {
            write!(self.out, ",{}", field(&explanation_cell(row)))?;
        }
        writeln!(self.out)
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
