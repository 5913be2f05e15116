//! mamori's content extraction: bytes in, text windows out. Knows nothing of sensitive types.
//!
//! A file is sniffed by its content, never its extension ([`sniff`]): byte-order marks, NUL
//! patterns of BOM-less UTF-16, magic numbers of binary formats, then UTF-8 validity and, for
//! legacy Japanese files, Firefox's detector (`chardetng`: Shift_JIS, EUC-JP, ISO-2022-JP, ...).
//! Text is decoded as a stream (`encoding_rs`) and handed out in [`Window`]s of bounded size
//! that overlap by a caller-chosen context, so a 5 GB log needs no 5 GB of memory and nothing
//! that straddles a window boundary is lost: each window says which part of it is its own to
//! report.
#![forbid(unsafe_code)]

mod sniff;
mod text;

pub use sniff::{sniff, Sniffed};
pub use text::{read_text, TextInfo, TextOptions, Window};

/// Why an item yielded no text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The content is not text this version extracts; `format` names what it is.
    #[error("{reason}")]
    Unsupported { format: &'static str, reason: String },
    /// The item is over a configured budget.
    #[error("{0}")]
    OverBudget(String),
    /// Reading failed (permission denied, vanished, I/O error).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
