//! mamori's sensitive information type engine: text in, matches out. No file I/O.
//!
//! Types are data ([`defs`]): candidate patterns, named validators, keyword groups and
//! confidence rules, loaded from `sensitive-types/*.toml` (embedded at build time) or from a
//! user's directory. [`Engine::new`] compiles all of them into one scan:
//!
//! 1. the text is folded ([`normalize`]): full-width digits, letters, dashes and spaces become
//!    ASCII, so patterns stay ASCII-only (Unicode `\d`/`\b` cost ~100x on Japanese text) and
//!    `番号は４１１１…です` matches with no word boundary needed;
//! 2. one pass of the digit-run scanner ([`digits`]) offers every number-shaped slice to every
//!    number-shaped type, so overlapping shapes (card vs My Number) are never hidden;
//! 3. one multi-pattern `regex-automata` search finds all other candidates;
//! 4. validators (checksums, structure) run on candidates only;
//! 5. one aho-corasick pass finds every keyword, and each candidate's confidence is the first
//!    rule whose keyword groups lie within the type's proximity window (Purview's model:
//!    high 85 / medium 75 / low 65). Keywords match as code writes identifiers too
//!    (`employeeSsn`, `API_KEY`, `api-key`, `apiKey` for "api key") and half-width katakana
//!    folds to full-width (`ﾏｲﾅﾝﾊﾞｰ`). A rule's `unless` validators name look-alikes (JAN
//!    barcodes, epoch-millisecond timestamps) it does not apply to, and a value documentation
//!    publishes for copying (jwt.io's token) is low with a note saying so.
//!
//! **Structure as data.** A roster's keyword is its column header, hundreds of rows above the
//! value. [`Engine::scan_with`] takes a [`mamori_model::Layout`] from the extractor: labels
//! (column headers, row labels) and the spans (cells) they apply to. A keyword in the label of
//! a candidate's span counts as present and right beside it, whatever its group's own
//! window, so a `注文番号` header rules a column out exactly as the label before one value
//! would. The engine never learns which format the layout came from (CSV, a spreadsheet, a
//! Word or HTML table); without a layout nothing changes.
#![forbid(unsafe_code)]

pub mod defs;
pub mod digits;
mod engine;
pub mod normalize;
pub mod validators;

pub use defs::{Catalog, TypeDef};
pub use engine::{Detection, Engine};
pub use mamori_model::Confidence;

/// Errors of loading and compiling type definitions.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A definition file is malformed; names the file, line and field.
    #[error("{file}:{line}: {field}: {message}")]
    Definition { file: String, line: usize, field: String, message: String },
    /// A definition file or directory could not be read.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// The compiled set failed to build (e.g. regexes too large together).
    #[error("compiling types: {0}")]
    Compile(String),
    /// `--types` named an id the catalog does not have.
    #[error("unknown sensitive type {0:?}")]
    UnknownType(String),
}

/// Runs every example and negative example of `ids` (all types when empty) through `engine`,
/// returning one message per failure. `cargo test` and `mamori types check` use it.
pub fn check_examples(engine: &Engine, ids: &[String]) -> Vec<String> {
    let mut failures = Vec::new();
    for (ti, t) in engine.types().iter().enumerate() {
        if !ids.is_empty() && !ids.contains(&t.id) {
            continue;
        }
        if t.examples.is_empty() {
            failures.push(format!("{}: type {} has no examples", t.source, t.id));
        }
        for ex in &t.examples {
            let found = engine.scan(&ex.text);
            let mine: Vec<_> = found.iter().filter(|d| d.type_index == ti).collect();
            let hit = mine.iter().find(|d| {
                ex.value.as_deref().is_none_or(|v| &ex.text[d.start..d.end] == v)
                    && ex.confidence.is_none_or(|c| c == d.confidence)
            });
            if hit.is_none() {
                let got: Vec<String> =
                    mine.iter().map(|d| format!("{:?} at {}", &ex.text[d.start..d.end], d.confidence)).collect();
                failures.push(format!(
                    "{}: type {}: example {:?} expected {}{}, got [{}]",
                    t.source,
                    t.id,
                    ex.text,
                    ex.value.as_deref().map(|v| format!("{v:?} ")).unwrap_or_default(),
                    ex.confidence.map(|c| c.to_string()).unwrap_or_else(|| "a match".into()),
                    got.join(", ")
                ));
            }
        }
        for neg in &t.negatives {
            let found = engine.scan(neg);
            for d in found.iter().filter(|d| d.type_index == ti) {
                failures.push(format!(
                    "{}: type {}: negative example {:?} matched {:?} at {}",
                    t.source,
                    t.id,
                    neg,
                    &neg[d.start..d.end],
                    d.confidence
                ));
            }
        }
    }
    failures
}
