//! JSONL: one JSON object per scored unit (the format other tools and `rhetor` itself read).

use std::io::Write;

use super::{round4, Reporter, Row};
use crate::model::Probs;

/// Writes rows as JSONL, tones and probabilities rounded to 4 decimals.
pub(crate) struct JsonlReporter<'w> {
    out: Box<dyn Write + 'w>,
}

impl<'w> JsonlReporter<'w> {
    /// A reporter writing to `out`.
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        JsonlReporter { out }
    }
}

impl Reporter for JsonlReporter<'_> {
    fn row(&mut self, row: &Row) -> std::io::Result<()> {
        let mut r = row.clone();
        r.tone = round4(r.tone);
        let p = r.probs;
        r.probs = Probs {
            negative: round4(p.negative),
            neutral: round4(p.neutral),
            positive: round4(p.positive),
        };
        if let Some(at) = &mut r.attribution {
            for t in &mut at.targets {
                t.tone = round4(t.tone);
            }
        }
        serde_json::to_writer(&mut self.out, &r)?;
        self.out.write_all(b"\n")
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
