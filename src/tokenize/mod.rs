//! Tokenize: the third pipeline stage. The encoder's lower-cased BERT WordPiece tokenizer,
//! built from its `vocab.txt` with rust-bert's tokenizer crate, turning sentences into token
//! ids (`[CLS]` … `[SEP]`) truncated to a maximum length, with the truncation reported.

use std::path::Path;

use rust_tokenizers::tokenizer::{BertTokenizer, Tokenizer, TruncationStrategy};
use rust_tokenizers::vocab::Vocab;

use crate::error::{Hint, ModelError};

/// Token ids of one unit, ready for the encoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoding {
    /// WordPiece ids from the encoder's vocabulary, `[CLS]` first and `[SEP]` last.
    pub ids: Vec<i64>,
    /// True when the text had more tokens than fit and the tail was cut.
    pub truncated: bool,
}

/// Turns text into encoder inputs.
pub trait TextEncoder: Send + Sync {
    /// Encodes `text` into at most `max_len` ids (2 if less), `[CLS]` and `[SEP]` included;
    /// a longer text loses its tail and is flagged `truncated`.
    fn encode(&self, text: &str, max_len: usize) -> Encoding;
    /// The id of the `[PAD]` token that fills short sequences of a batch.
    fn pad_id(&self) -> i64;
}

/// Lower-cased BERT WordPiece (all-MiniLM-L6-v2, bert-base-uncased and kin).
pub struct WordPiece {
    inner: BertTokenizer,
    pad_id: i64,
    /// Ids of the tokens that open and close a marked target mention (`<` and `>`).
    markers: (i64, i64),
}

impl WordPiece {
    /// Loads `vocab.txt`; lower-casing and accent stripping match the uncased BERT models.
    pub fn from_vocab(path: &Path) -> Result<Self, ModelError> {
        if !path.is_file() {
            return Err(ModelError::missing(path, Hint::InstallBase));
        }
        let inner =
            BertTokenizer::from_file(path, true, true).map_err(|e| ModelError::Corrupt {
                path: path.to_path_buf(),
                reason: e.to_string(),
                hint: Hint::InstallBase,
            })?;
        let pad_id = inner.vocab().token_to_id(inner.vocab().get_pad_value());
        let markers = (
            inner.vocab().token_to_id("<"),
            inner.vocab().token_to_id(">"),
        );
        Ok(Self {
            inner,
            pad_id,
            markers,
        })
    }
}

impl WordPiece {
    /// Encodes `text` and marks (1) the tokens that overlap the character span `from..to`.
    /// When no token overlaps (e.g. the span was truncated away), every real token is marked.
    /// With `markers`, the mention's tokens are wrapped in `<` … `>` tokens (marked too), so
    /// every layer of the encoder sees which mention is the target.
    pub fn encode_span(
        &self,
        text: &str,
        max_len: usize,
        from: usize,
        to: usize,
        markers: bool,
    ) -> (Encoding, Vec<i64>) {
        let out = self.inner.encode(
            text,
            None,
            max_len.max(2),
            &TruncationStrategy::LongestFirst,
            0,
        );
        let mut mask: Vec<i64> = out
            .token_offsets
            .iter()
            .map(|o| match o {
                Some(o) if (o.begin as usize) < to && (o.end as usize) > from => 1,
                _ => 0,
            })
            .collect();
        let mut ids = out.token_ids;
        if !mask.contains(&1) {
            mask = out
                .token_offsets
                .iter()
                .map(|o| o.is_some() as i64)
                .collect();
        } else if markers {
            let first = mask.iter().position(|&m| m == 1).unwrap_or(0);
            let last = mask.iter().rposition(|&m| m == 1).unwrap_or(first);
            ids.insert(last + 1, self.markers.1);
            mask.insert(last + 1, 1);
            ids.insert(first, self.markers.0);
            mask.insert(first, 1);
        }
        (
            Encoding {
                ids,
                truncated: out.num_truncated_tokens > 0,
            },
            mask,
        )
    }
}

impl TextEncoder for WordPiece {
    fn encode(&self, text: &str, max_len: usize) -> Encoding {
        let max_len = max_len.max(2);
        let out = self
            .inner
            .encode(text, None, max_len, &TruncationStrategy::LongestFirst, 0);
        Encoding {
            ids: out.token_ids,
            truncated: out.num_truncated_tokens > 0,
        }
    }

    fn pad_id(&self) -> i64 {
        self.pad_id
    }
}
