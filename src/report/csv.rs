//! CSV: one line per scored unit, RFC 4180 quoting, header first.

use std::io::Write;

use super::{round4, Reporter, Row};

pub struct CsvReporter<'w> {
    out: Box<dyn Write + 'w>,
    header: bool,
}

impl<'w> CsvReporter<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        CsvReporter { out, header: false }
    }
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
        if !self.header {
            self.header = true;
            writeln!(
                self.out,
                "article,source,date,index,start,end,tone,label,p_negative,p_neutral,p_positive,quad,truncated,model,text"
            )?;
        }
        let (article, date) = match &row.article {
            Some(a) => (
                a.article.clone(),
                a.date.map(|d| d.to_string()).unwrap_or_default(),
            ),
            None => (String::new(), String::new()),
        };
        writeln!(
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
        )
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
