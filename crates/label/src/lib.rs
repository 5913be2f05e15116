//! `mamori-label`: sensitivity labels, from the organisation's taxonomy to the bytes in a file.
//!
//! It owns three layers, each testable alone (CONVENTIONS.md §2):
//! - [`Taxonomy`] and [`Policy`]: the labels in `labels/` and the rules that pick one from
//!   scan findings, with the reasons;
//! - [`meta`]: label metadata as Microsoft Information Protection writes it
//!   (`MSIP_Label_<id>_<Attr>`), and one codec per format that reads and rewrites it in place:
//!   OOXML custom properties and the LabelInfo part, ODF `meta.xml`, Office 97-2003
//!   DocumentSummaryInformation properties, the PDF Info dictionary and XMP, the `msip_labels`
//!   mail header, and an extended attribute for any other file (`file.rs` tells which, and
//!   checks that every rewrite reads back);
//! - [`Labeler`]: status, set, remove and classify for one file, never losing it (temp file,
//!   fsync, rename; see `atomic.rs`).
//!
//! It does not scan: `classify` takes the findings the scanner produced.
#![forbid(unsafe_code)]

mod atomic;
mod file;
mod generic;
mod labeler;
mod mail;
pub mod meta;
mod odf;
mod ole;
mod ooxml;
mod pdf;
mod policy;
mod taxonomy;
mod xml;

pub use file::{read_bytes, relabel_bytes};
pub use labeler::{ClassifyOptions, Labeler, Outcome, OutcomeStatus, Status, WriteOptions};
pub use meta::{Method, MsipLabel};
pub use policy::{Condition, Decision, Mode, Policy, Reason, Rule, Verdict};
pub use taxonomy::{Grant, Label, Organization, Protection, Taxonomy};

use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A taxonomy or policy file is invalid.
    #[error("{origin}: {reason}")]
    Config { origin: String, reason: String },
    /// No label has this name or id.
    #[error("no label {label:?} (labels: {known})")]
    UnknownLabel { label: String, known: String },
    /// A parent label with sublabels: Office requires one of the sublabels.
    #[error("{label} has sublabels; choose one of: {sublabels}")]
    ParentLabel { label: String, sublabels: String },
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// The format cannot carry a label in place.
    #[error("cannot label {format} in place: {reason}")]
    Unsupported { format: String, reason: String },
    /// The file is not valid for its format.
    #[error("{reason}")]
    Corrupt { reason: String },
    /// The file is encrypted with a password: its label can be neither read nor changed.
    #[error("encrypted: {reason}; its label cannot be read or changed without the password")]
    Encrypted { reason: String },
    /// The file may not be changed now: read-only, locked, or changed under us.
    #[error("{reason}")]
    Refused { reason: String },
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io { path: path.to_path_buf(), source }
    }
}

/// Where in a file a label was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    CustomXml,
    LabelInfo,
    OdfMeta,
    PdfInfo,
    Xmp,
    MailHeader,
    /// User-defined properties of an Office 97-2003 file.
    OleProperties,
    Xattr,
    /// The signed rights header of a mamori protected file.
    MamoriHeader,
}

impl Store {
    /// The name `status` reports as `metadata`.
    pub fn as_str(self) -> &'static str {
        match self {
            Store::CustomXml => "custom.xml",
            Store::LabelInfo => "LabelInfo.xml",
            Store::OdfMeta => "meta.xml",
            Store::PdfInfo => "pdf-info",
            Store::Xmp => "xmp",
            Store::MailHeader => "msip_labels",
            Store::OleProperties => "DocumentSummaryInformation",
            Store::Xattr => "xattr",
            Store::MamoriHeader => "mamori-header",
        }
    }
}

impl Serialize for Store {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One label read from a file, and where.
#[derive(Clone, Debug)]
pub struct Found {
    pub label: MsipLabel,
    pub store: Store,
}

/// Where OOXML labels are written ([MS-OFFCRYPTO] 2.6.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Metadata {
    /// Where this tenant's label already is; custom.xml for a file with none.
    #[default]
    Auto,
    /// `docProps/custom.xml` properties, which every Office version reads.
    Custom,
    /// The `docMetadata/LabelInfo.xml` part of co-authoring tenants.
    LabelInfo,
    /// Both.
    Both,
}

impl std::str::FromStr for Metadata {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Metadata::Auto),
            "custom" => Ok(Metadata::Custom),
            "labelinfo" => Ok(Metadata::LabelInfo),
            "both" => Ok(Metadata::Both),
            _ => Err(format!("unknown metadata location {s:?} (auto, custom, labelinfo or both)")),
        }
    }
}

/// One change to a file: this tenant's label becomes `label` (`None`: removed).
#[derive(Clone)]
pub(crate) struct Change {
    pub site_id: String,
    pub label: Option<MsipLabel>,
    pub metadata: Metadata,
    /// Ids of the labels the change replaces: this tenant's labels in the file, and the new one.
    replaced: Vec<String>,
}

impl Change {
    pub fn new(site_id: &str, label: Option<&MsipLabel>, metadata: Metadata, current: &[Found]) -> Change {
        let mut replaced: Vec<String> =
            current.iter().filter(|f| f.label.site_id == site_id).map(|f| f.label.id.clone()).collect();
        replaced.extend(label.map(|l| l.id.clone()));
        Change { site_id: site_id.to_string(), label: label.cloned(), metadata, replaced }
    }

    /// Is `key` one of the `MSIP_Label_<id>_*` keys this change removes?
    pub fn drops(&self, key: &str) -> bool {
        self.replaced.iter().any(|id| meta::is_key_of(key, id))
    }

    /// The labels a file carries after the change: other tenants' as they were, then the new one.
    pub fn labels_after(&self, current: &[Found]) -> Vec<MsipLabel> {
        let mut out: Vec<MsipLabel> =
            current.iter().map(|f| f.label.clone()).filter(|l| l.site_id != self.site_id).collect();
        out.extend(self.label.clone());
        out
    }
}
