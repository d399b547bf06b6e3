//! Report: the last pipeline stage. One [`Reporter`] trait, one file per output format
//! (JSONL, CSV, table). Every row is one scored sentence (or line).

mod csv;
mod jsonl;
mod table;

use std::io::Write;

pub(crate) use self::csv::CsvReporter;
pub use self::csv::{io_error as csv_io_error, writer as csv_writer};
pub(crate) use self::jsonl::JsonlReporter;
pub(crate) use self::table::TableReporter;
pub(crate) use crate::row::round4;
pub use crate::row::{ArticleFields, QuadProbs, Row, RowAttribution, TargetTone};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Format {
    /// One JSON object per row, the format `rhetor aggregate` and `rhetor chart` read.
    Jsonl,
    /// A header line, then one line per row (RFC 4180 quoting).
    Csv,
    /// A readable view for terminals, with a heading whenever the article changes.
    Table,
}

/// Writes rows in one format.
pub trait Reporter {
    /// Writes one row.
    fn row(&mut self, row: &Row) -> std::io::Result<()>;
    /// Flushes what was written; called after every scored chunk (so a reader of a pipe sees
    /// rows as they are scored) and at the end.
    fn finish(&mut self) -> std::io::Result<()>;
}

/// Builds the reporter for a format over a writer.
pub fn reporter<'w>(format: Format, out: Box<dyn Write + 'w>) -> Box<dyn Reporter + 'w> {
    match format {
        Format::Jsonl => Box::new(JsonlReporter::new(out)),
        Format::Csv => Box::new(CsvReporter::new(out)),
        Format::Table => Box::new(TableReporter::new(out, table::terminal_width())),
    }
}
