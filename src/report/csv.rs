//! CSV: one line per scored unit, RFC 4180 quoting, header first.

use std::io::Write;

use super::{round4, Reporter, Row};

/// Writes rows as CSV, the header before the first row.
pub(crate) struct CsvReporter<'w> {
    out: csv::Writer<Box<dyn Write + 'w>>,
    /// Set by the first row: the axis columns and whether an explanation column follows.
    columns: Option<(Vec<String>, bool)>,
}

impl<'w> CsvReporter<'w> {
    /// A reporter writing to `out`.
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        CsvReporter {
            out: writer(out),
            columns: None,
        }
    }
}

/// A CSV writer with rhetor's conventions: comma-separated, `\n` line ends, fields quoted
/// only when they need it (RFC 4180).
pub fn writer<W: Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out)
}

/// The csv crate's error as an I/O error (its only failures here are the sink's).
pub fn io_error(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
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

const HEADER: [&str; 15] = [
    "article",
    "source",
    "date",
    "index",
    "start",
    "end",
    "tone",
    "label",
    "p_negative",
    "p_neutral",
    "p_positive",
    "quad",
    "truncated",
    "model",
    "text",
];

impl Reporter for CsvReporter<'_> {
    fn row(&mut self, row: &Row) -> std::io::Result<()> {
        if self.columns.is_none() {
            // Every row of a run has the same axes and explanation setting.
            let axes: Vec<String> = row.axes.keys().cloned().collect();
            let explained = row.explanation.is_some();
            let mut header: Vec<String> = HEADER.iter().map(|h| h.to_string()).collect();
            header.extend(axes.iter().map(|a| format!("axis_{a}")));
            if explained {
                header.push("explanation".into());
            }
            self.out.write_record(&header).map_err(io_error)?;
            self.columns = Some((axes, explained));
        }
        let (article, date) = match &row.article {
            Some(a) => (
                a.article.clone(),
                a.date.map(|d| d.to_string()).unwrap_or_default(),
            ),
            None => (String::new(), String::new()),
        };
        let mut record = vec![
            article,
            row.source.clone(),
            date,
            row.index.to_string(),
            row.start.to_string(),
            row.end.to_string(),
            round4(row.tone).to_string(),
            row.label.as_str().to_string(),
            round4(row.probs.negative).to_string(),
            round4(row.probs.neutral).to_string(),
            round4(row.probs.positive).to_string(),
            row.quad.map_or("", |q| q.as_str()).to_string(),
            row.truncated.to_string(),
            row.model.clone(),
            row.text.clone(),
        ];
        let (axes, explained) = self.columns.as_ref().expect("set above");
        for a in axes {
            record.push(
                row.axes
                    .get(a)
                    .map(|v| round4(*v).to_string())
                    .unwrap_or_default(),
            );
        }
        if *explained {
            record.push(explanation_cell(row));
        }
        self.out.write_record(&record).map_err(io_error)
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::writer;

    #[test]
    fn quotes_only_when_needed_and_ends_lines_with_newline() {
        let mut w = writer(Vec::new());
        w.write_record(["plain", "a,b", "say \"hi\"", "two\nlines", ""])
            .unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(text, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\n");
    }
}
