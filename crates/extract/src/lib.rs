//! mamori's content extraction: bytes in, text out, with where each text came from. Knows
//! nothing of sensitive types.
//!
//! An item is sniffed by its content, never its extension ([`detect`]): byte-order marks and
//! encodings of plain text, magic numbers, zip member names (docx/xlsx/pptx/odt/...), compound
//! file streams (doc/xls/ppt/msg). Plain text is decoded as a stream and handed out in
//! overlapping [`Window`]s, so a 5 GB log needs no 5 GB of memory. Documents are parsed
//! (streaming XML for OOXML and ODF) into one window per part, with [`Mark`]s naming finer
//! places (a cell, a page). Containers (zip, tar, gzip, mail attachments, embedded objects)
//! hand their members to the [`Sink`] as nested items. Every limit ([`Limits`]) overrun,
//! encrypted file or corrupt part is an [`Error`] with a reason, never a panic.
#![forbid(unsafe_code)]

mod archive;
mod budget;
mod detect;
mod legacy;
mod mail;
mod markup;
mod odf;
mod ooxml;
mod pdf;
mod rtf;
mod sniff;
mod table;
mod text;
mod xml;

pub use budget::{Budget, Limits};
pub use detect::{detect, detect_head, Container, Format, Head};
pub use sniff::{sniff, Sniffed};
pub use text::{read_text, TextInfo, TextOptions, Window};

/// Why an item, or a part of it, yielded no text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The content is not a format this version extracts; `format` names what it is.
    #[error("{reason}")]
    Unsupported { format: &'static str, reason: String },
    /// The item is over a configured budget.
    #[error("{0}")]
    OverBudget(String),
    /// The item is encrypted or password-protected.
    #[error("{0}")]
    Encrypted(String),
    /// The item is damaged, truncated or malformed.
    #[error("{0}")]
    Corrupt(String),
    /// Reading failed (permission denied, vanished, I/O error).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A finer place inside a window's text: from `offset` on, text comes from `place`
/// (`Sheet2!C7`, `page 12`), until the next mark.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub offset: usize,
    pub place: String,
}

/// Receives what an item contains.
pub trait Sink {
    /// A window of text.
    fn window(&mut self, w: &Window);
    /// A nested item (archive member, attachment, embedded object): its name inside the parent
    /// and its expanded bytes, or why it could not be expanded. `budget` is the parent's.
    fn member(&mut self, name: &str, data: Result<Vec<u8>, Error>, budget: &Budget);
}

/// What an item turned out to be.
#[derive(Clone, Debug, Default)]
pub struct Extracted {
    /// Short format name (`text`, `docx`, `pdf`, `zip`, ...).
    pub format: &'static str,
    /// The text encoding, for text formats.
    pub encoding: Option<String>,
    /// A caveat the reader should know (`best effort`), if any.
    pub note: Option<&'static str>,
    /// Parts that could not be read; the rest of the item was.
    pub problems: Vec<String>,
}

/// Extracts an item held in memory: text windows and nested members go to `sink`.
pub fn extract(data: &[u8], opts: &TextOptions, budget: &Budget, sink: &mut dyn Sink) -> Result<Extracted, Error> {
    let format = detect(data)?;
    let mut out = Extracted { format: format.name(), ..Extracted::default() };
    let mut cx = Cx { budget, sink, problems: Vec::new() };
    match format {
        Format::Text => {
            let info = read_text(data, opts, |w| cx.sink.window(w))?;
            out.encoding = Some(info.label());
        }
        Format::Html | Format::Xml | Format::Eml => {
            let (text, encoding) = text::decode_all(data);
            out.encoding = Some(encoding);
            match format {
                Format::Html => markup::html(&text, &mut cx)?,
                Format::Xml => markup::xml(&text, &mut cx)?,
                _ => mail::eml(data, &mut cx)?,
            }
        }
        Format::Rtf => rtf::extract(data, &mut cx)?,
        Format::Pdf => pdf::extract(data, &mut cx)?,
        Format::Docx | Format::Docm | Format::Xlsx | Format::Xlsm | Format::Pptx | Format::Pptm => {
            ooxml::extract(data, format, &mut cx)?
        }
        Format::Odt | Format::Ods | Format::Odp => odf::extract(data, &mut cx)?,
        Format::Doc | Format::Xls | Format::Ppt | Format::Msg => {
            out.note = legacy::extract(data, format, &mut cx)?;
        }
        Format::Zip => archive::zip(data, &mut cx)?,
        Format::Tar => archive::tar(data, &mut cx)?,
        Format::Gz => archive::gz(data, &mut cx)?,
    }
    out.problems = cx.problems;
    Ok(out)
}

/// What every format extractor works with.
pub(crate) struct Cx<'a> {
    pub budget: &'a Budget,
    pub sink: &'a mut dyn Sink,
    pub problems: Vec<String>,
}

impl Cx<'_> {
    /// Hands out the whole text of one part as one window, with the tables its tab-separated
    /// rows make (spreadsheets, Word, ODF and HTML tables are written out that way).
    pub fn part(&mut self, part: &str, text: &str, marks: &[Mark]) {
        if text.is_empty() {
            return;
        }
        let layout = Some(table::document_layout(text)).filter(|l| !l.is_empty());
        self.sink.window(&Window {
            text,
            base: 0,
            line: 1,
            report: 0..text.len(),
            part,
            marks,
            layout: layout.as_ref(),
        });
    }

    /// Notes a part that could not be read; the item goes on.
    pub fn problem(&mut self, part: &str, e: impl std::fmt::Display) {
        self.problems.push(format!("{part}: {e}"));
    }

    pub fn member(&mut self, name: &str, data: Result<Vec<u8>, Error>) {
        self.sink.member(name, data, self.budget);
    }
}

/// Runs a parser that may panic on hostile input; a panic becomes a `Corrupt` error.
pub(crate) fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            Err(Error::Corrupt(format!("{what} parser failed on this input ({msg})")))
        }
    }
}
