//! `mamori-label`: sensitivity labels, from the organisation's taxonomy to the bytes in a file.
//!
//! It owns three layers, each testable alone (CONVENTIONS.md §2):
//! - [`Taxonomy`] and [`Policy`]: the labels in `labels/` and the rules that pick one from
//!   scan findings, with the reasons;
//! - [`meta`]: label metadata as Microsoft Information Protection writes it
//!   (`MSIP_Label_<id>_<Attr>`), and one codec per format that reads and rewrites it in place:
//!   OOXML custom properties and the LabelInfo part, ODF `meta.xml`, the PDF Info dictionary,
//!   the `msip_labels` mail header, and an extended attribute for any other file;
//! - [`Labeler`]: status, set, remove and classify for one file, never losing it (temp file,
//!   fsync, rename; see `atomic.rs`).
//!
//! It does not scan: `classify` takes the findings the scanner produced.
#![forbid(unsafe_code)]

mod atomic;
mod generic;
mod mail;
pub mod meta;
mod odf;
mod ooxml;
mod pdf;
mod policy;
mod taxonomy;
mod xml;

pub use meta::{Method, MsipLabel};
pub use policy::{Condition, Decision, Mode, Policy, Reason, Rule, Verdict};
pub use taxonomy::{Grant, Label, Organization, Protection, Taxonomy};

use mamori_extract::{Format, Head};
use mamori_model::Finding;
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Store {
    #[serde(rename = "custom.xml")]
    CustomXml,
    #[serde(rename = "LabelInfo.xml")]
    LabelInfo,
    #[serde(rename = "meta.xml")]
    OdfMeta,
    #[serde(rename = "pdf-info")]
    PdfInfo,
    #[serde(rename = "xmp")]
    Xmp,
    #[serde(rename = "msip_labels")]
    MailHeader,
    #[serde(rename = "xattr")]
    Xattr,
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
pub(crate) struct Change<'a> {
    pub site_id: &'a str,
    pub label: Option<&'a MsipLabel>,
    pub metadata: Metadata,
}

/// How a format carries labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Codec {
    Ooxml,
    Odf,
    Pdf,
    Mail,
    /// An extended attribute: any other file.
    Xattr,
}

/// Larger documents are not rewritten (they are read whole to be rewritten).
const MAX_REWRITE: u64 = 2 << 30;

/// A file as read for labeling.
struct Loaded {
    format: &'static str,
    codec: Codec,
    /// The whole file, for the codecs that rewrite it.
    data: Vec<u8>,
    seen: std::fs::Metadata,
    found: Vec<Found>,
}

fn load(path: &Path) -> Result<Loaded, Error> {
    use std::io::Read;
    let io = |e| Error::io(path, e);
    let mut file = std::fs::File::open(path).map_err(io)?;
    let seen = file.metadata().map_err(io)?;
    if !seen.is_file() {
        return Err(Error::Refused { reason: "not a regular file".into() });
    }
    let mut data = Vec::with_capacity(64 << 10);
    file.by_ref().take(64 << 10).read_to_end(&mut data).map_err(io)?;
    // Documents and mail are read whole (they are rewritten whole); other files only carry an
    // extended attribute, so their head is enough, however big they are.
    let whole = needs_whole(&mut file, &data, seen.len());
    if whole {
        if seen.len() > MAX_REWRITE {
            return Err(Error::Unsupported {
                format: "document".into(),
                reason: format!("{} bytes is too big to rewrite", seen.len()),
            });
        }
        use std::io::{Seek, SeekFrom};
        file.seek(SeekFrom::Start(data.len() as u64)).map_err(io)?;
        file.read_to_end(&mut data).map_err(io)?;
    }
    let (format, codec) = if whole { kind(&data)? } else { (head_format(&data), Codec::Xattr) };
    let found = match codec {
        Codec::Xattr => generic::read(path)?,
        _ => read_with(codec, &data)?,
    };
    Ok(Loaded { format, codec, data, seen, found })
}

/// Containers and compound files above this are named by their magic number alone.
const MAX_SNIFF: u64 = 256 << 20;

/// Must the whole file be read to label it? Mail, PDF and Office/ODF packages carry the label
/// inside; a plain zip of any size does not (its central directory tells, without reading it).
fn needs_whole(file: &mut std::fs::File, head: &[u8], len: u64) -> bool {
    match mamori_extract::detect_head(head) {
        Head::Markup(Format::Eml) => true,
        Head::Whole if head.starts_with(b"PK") => match zip::ZipArchive::new(&mut *file) {
            Ok(z) => z.index_for_name("[Content_Types].xml").is_some() || z.index_for_name("mimetype").is_some(),
            Err(_) => len <= MAX_SNIFF,
        },
        Head::Whole => memchr::memmem::find(&head[..head.len().min(1024)], b"%PDF-").is_some() || len <= MAX_SNIFF,
        _ => false,
    }
}

/// The format of a file read only in part, for the `format` field.
fn head_format(head: &[u8]) -> &'static str {
    match mamori_extract::detect_head(head) {
        Head::Markup(f) => f.name(),
        Head::Whole if head.starts_with(b"PK") => "zip",
        Head::Whole if head.starts_with(b"\x1F\x8B") => "gz",
        Head::Whole if head.starts_with(b"\xD0\xCF") => "compound file",
        Head::Whole if head.starts_with(b"{\\rtf") => "rtf",
        Head::Whole => "tar",
        Head::Unsupported { format, .. } => format,
        Head::Text => "file",
    }
}

/// What a whole file is and how it carries labels, from its content.
fn kind(data: &[u8]) -> Result<(&'static str, Codec), Error> {
    let head = &data[..data.len().min(64 << 10)];
    let (format, codec) = match mamori_extract::detect_head(head) {
        Head::Markup(Format::Eml) => (Format::Eml, Codec::Mail),
        Head::Whole => {
            let format = match mamori_extract::detect(data) {
                Ok(f) => f,
                Err(mamori_extract::Error::Encrypted(reason)) => return Err(Error::Encrypted { reason }),
                Err(e) => return Err(Error::Corrupt { reason: e.to_string() }),
            };
            let codec = match format {
                Format::Docx | Format::Docm | Format::Xlsx | Format::Xlsm | Format::Pptx | Format::Pptm => Codec::Ooxml,
                Format::Odt | Format::Ods | Format::Odp => Codec::Odf,
                Format::Pdf => Codec::Pdf,
                _ => Codec::Xattr,
            };
            (format, codec)
        }
        _ => return Ok((head_format(head), Codec::Xattr)),
    };
    Ok((format.name(), codec))
}

fn read_with(codec: Codec, data: &[u8]) -> Result<Vec<Found>, Error> {
    guarded(|| match codec {
        Codec::Ooxml => ooxml::read(data),
        Codec::Odf => odf::read(data),
        Codec::Pdf => pdf::read(data),
        Codec::Mail => mail::read(data),
        Codec::Xattr => Ok(Vec::new()),
    })
}

/// The labels inside a document held in memory (a file's extended attribute is not part of
/// its bytes, so a plain file has none here). For the scanner and the fuzzer.
pub fn read_bytes(data: &[u8]) -> Result<Vec<Found>, Error> {
    let (_, codec) = kind(data)?;
    read_with(codec, data)
}

/// A document held in memory with the label of tenant `site_id` replaced by `label` (`None`:
/// removed). Plain files, whose label is an extended attribute, are `Unsupported` here.
pub fn relabel_bytes(
    data: &[u8],
    site_id: &str,
    label: Option<&MsipLabel>,
    metadata: Metadata,
) -> Result<Vec<u8>, Error> {
    let (format, codec) = kind(data)?;
    let found = read_with(codec, data)?;
    let ours: Vec<&str> = found.iter().filter(|f| f.label.site_id == site_id).map(|f| f.label.id.as_str()).collect();
    let change = Change { site_id, label, metadata };
    let out = guarded(|| match codec {
        Codec::Ooxml => ooxml::write(data, &change),
        Codec::Odf => odf::write(data, &change, &ours),
        Codec::Pdf => pdf::write(data, &change, &ours),
        Codec::Mail => mail::write(data, &change, &found),
        Codec::Xattr => Err(Error::Unsupported {
            format: format.into(),
            reason: "its label is an extended attribute of the file, not part of its bytes".into(),
        }),
    })?;
    // Never write what does not read back as intended (a damaged file can parse once and not
    // twice): the original is left as it was.
    let refuse = |why: String| Error::Corrupt {
        reason: format!("the {format} could not be relabeled safely ({why}); it was left as it was"),
    };
    let back = read_bytes(&out).map_err(|e| refuse(e.to_string()))?;
    let live = |f: &&Found| f.label.site_id == site_id && f.label.enabled && !f.label.removed;
    let holds = match label {
        Some(l) => back.iter().filter(live).any(|f| f.label.id == l.id),
        None => !back.iter().any(|f| live(&f)),
    };
    if !holds {
        return Err(refuse("the rewritten file does not read back with the new label".into()));
    }
    Ok(out)
}

/// A panic in a parser, on hostile input, is a corrupt file, not a crash.
fn guarded<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(Error::Corrupt { reason: "the file is malformed (its parser gave up)".into() }))
}

impl Loaded {
    /// The label people see: this tenant's, else the first other one in force.
    fn main(&self, site_id: &str) -> Option<&Found> {
        let live = || self.found.iter().filter(|f| f.label.enabled && !f.label.removed);
        live().find(|f| f.label.site_id == site_id).or_else(|| live().next())
    }

    fn ours(&self, site_id: &str) -> Option<&Found> {
        self.found.iter().find(|f| f.label.site_id == site_id && f.label.enabled && !f.label.removed)
    }
}

/// `mamori status`: what label a file carries, with the field names of Get-AIPFileStatus.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    pub path: String,
    pub format: Option<String>,
    pub is_labeled: bool,
    pub label_id: Option<String>,
    pub label_name: Option<String>,
    pub parent_label_name: Option<String>,
    pub labeling_method: Option<Method>,
    pub label_date: Option<String>,
    pub site_id: Option<String>,
    pub is_protected: bool,
    /// Where the label was found (`custom.xml`, `LabelInfo.xml`, `meta.xml`, ...).
    pub metadata: Option<Store>,
    /// Labels of other organisations on the same file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_labels: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The result of labeling one file, as Set-AIPFileLabel reports it.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub path: String,
    pub status: OutcomeStatus,
    pub comment: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_id: Option<String>,
    /// Why the policy chose the label (classify).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
    /// A more sensitive label the policy recommends to a person (classify).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recommended_label: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeStatus {
    Success,
    Skipped,
    Failed,
}

impl OutcomeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeStatus::Success => "success",
            OutcomeStatus::Skipped => "skipped",
            OutcomeStatus::Failed => "failed",
        }
    }
}

/// How `set`, `remove` and `classify` write.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    pub justification: Option<String>,
    pub metadata: Metadata,
    /// Keep the file's modification time (AIP's -PreserveFileDetails).
    pub preserve_mtime: bool,
    /// Decide and report, write nothing.
    pub what_if: bool,
}

/// How `classify` decides.
#[derive(Clone, Debug, Default)]
pub struct ClassifyOptions {
    /// Apply recommended rules as automatic ones (the scanner's RecommendedAsAutomatic).
    pub recommended_as_automatic: bool,
}

/// Applies the taxonomy and policy to files.
pub struct Labeler {
    pub taxonomy: Taxonomy,
    pub policy: Policy,
}

impl Labeler {
    /// The built-in taxonomy and policy, or those in `dir` (`taxonomy.toml`, `policy.toml`).
    pub fn load(dir: Option<&Path>) -> Result<Labeler, Error> {
        let Some(dir) = dir else {
            let taxonomy = Taxonomy::builtin();
            let policy = Policy::builtin(&taxonomy);
            return Ok(Labeler { taxonomy, policy });
        };
        let taxonomy = Taxonomy::load(&dir.join("taxonomy.toml"))?;
        let policy = Policy::load(&dir.join("policy.toml"), &taxonomy)?;
        Ok(Labeler { taxonomy, policy })
    }

    fn site(&self) -> &str {
        &self.taxonomy.organization.site_id
    }

    fn name_of(&self, l: &MsipLabel) -> Option<String> {
        match self.taxonomy.by_id(&l.id) {
            Some(t) if l.site_id == self.site() || l.site_id.is_empty() => Some(self.taxonomy.path(t)),
            _ => l.name.clone(),
        }
    }

    pub fn status(&self, path: &Path) -> Status {
        let mut s = Status {
            path: path.display().to_string(),
            format: None,
            is_labeled: false,
            label_id: None,
            label_name: None,
            parent_label_name: None,
            labeling_method: None,
            label_date: None,
            site_id: None,
            is_protected: false,
            metadata: None,
            other_labels: Vec::new(),
            error: None,
        };
        let loaded = match load(path) {
            Ok(l) => l,
            Err(e) => {
                s.error = Some(e.to_string());
                return s;
            }
        };
        s.format = Some(loaded.format.to_string());
        if let Some(f) = loaded.main(self.site()) {
            let l = &f.label;
            let ours = (l.site_id == self.site()).then(|| self.taxonomy.by_id(&l.id)).flatten();
            s.is_labeled = true;
            s.label_id = Some(l.id.clone());
            s.label_name = ours.map(|t| t.display_name().to_string()).or_else(|| l.name.clone());
            s.parent_label_name = ours.and_then(|t| self.taxonomy.parent(t)).map(|p| p.display_name().to_string());
            s.labeling_method = l.method;
            s.label_date = l.set_date.clone();
            s.site_id = Some(l.site_id.clone()).filter(|s| !s.is_empty());
            s.is_protected = l.content_bits.is_some_and(|b| b & 0x8 != 0);
            s.metadata = Some(f.store);
            s.other_labels = loaded
                .found
                .iter()
                .filter(|o| o.label.enabled && !o.label.removed && o.label.id != l.id)
                .map(|o| self.name_of(&o.label).unwrap_or_else(|| o.label.id.clone()))
                .collect();
        }
        s
    }

    fn outcome(
        &self,
        path: &Path,
        status: OutcomeStatus,
        comment: impl Into<String>,
        label: Option<&Label>,
    ) -> Outcome {
        Outcome {
            path: path.display().to_string(),
            status,
            comment: comment.into(),
            label_name: label.map(|l| self.taxonomy.path(l)),
            label_id: label.map(|l| l.id.clone()),
            reasons: Vec::new(),
            recommended_label: None,
        }
    }

    /// `mamori label set`: applies `label` (found with [`Taxonomy::applicable`]).
    pub fn set(&self, path: &Path, label: &Label, method: Method, opts: &WriteOptions) -> Outcome {
        let loaded = match load(path) {
            Ok(l) => l,
            Err(e) => return self.outcome(path, OutcomeStatus::Failed, e.to_string(), Some(label)),
        };
        self.apply(path, &loaded, label, method, opts, "")
    }

    fn apply(
        &self,
        path: &Path,
        loaded: &Loaded,
        label: &Label,
        method: Method,
        opts: &WriteOptions,
        why: &str,
    ) -> Outcome {
        let current = loaded.ours(self.site());
        let from = current.and_then(|c| self.taxonomy.by_id(&c.label.id));
        let to = self.taxonomy.path(label);
        if current.is_some_and(|c| c.label.id == label.id) {
            return self.outcome(path, OutcomeStatus::Skipped, format!("already labeled {to}"), Some(label));
        }
        let lowering = self.policy.needs_justification(from, Some(label));
        if lowering && opts.justification.is_none() {
            let from = from.map(|f| self.taxonomy.path(f)).unwrap_or_default();
            return self.outcome(
                path,
                OutcomeStatus::Skipped,
                format!("Justification required: {from} is more sensitive than {to} (give --justification)"),
                Some(label),
            );
        }
        let new = MsipLabel::new(&label.id, self.site(), &label.name, method);
        let mut comment = match (from, current) {
            (Some(f), _) => format!("relabeled {} → {to}", self.taxonomy.path(f)),
            (None, Some(c)) => format!("relabeled {} → {to}", c.label.id),
            (None, None) => format!("labeled {to}"),
        };
        comment.push_str(why);
        if lowering {
            comment.push_str(&format!(" (justification: {})", opts.justification.as_deref().unwrap_or_default()));
        }
        self.write(path, loaded, Some(&new), opts, comment, Some(label))
    }

    /// `mamori label remove`: removes this organisation's label.
    pub fn remove(&self, path: &Path, opts: &WriteOptions) -> Outcome {
        let loaded = match load(path) {
            Ok(l) => l,
            Err(e) => return self.outcome(path, OutcomeStatus::Failed, e.to_string(), None),
        };
        let Some(current) = loaded.ours(self.site()) else {
            let others =
                if loaded.main(self.site()).is_some() { " (labels of other organisations are kept)" } else { "" };
            return self.outcome(
                path,
                OutcomeStatus::Skipped,
                format!("not labeled by {}{others}", self.taxonomy.organization.name),
                None,
            );
        };
        let from = self.taxonomy.by_id(&current.label.id);
        let name = self.name_of(&current.label).unwrap_or_else(|| current.label.id.clone());
        if self.policy.needs_justification(from, None) && opts.justification.is_none() {
            return self.outcome(
                path,
                OutcomeStatus::Skipped,
                format!("Justification required to remove {name} (give --justification)"),
                from,
            );
        }
        let mut comment = format!("removed {name}");
        if let Some(j) = &opts.justification {
            comment.push_str(&format!(" (justification: {j})"));
        }
        self.write(path, &loaded, None, opts, comment, None)
    }

    /// `mamori classify`: decides from `findings` and applies. Never lowers a label, and never
    /// replaces a label a person chose (method Privileged) — it reports the suggestion instead.
    pub fn classify(&self, path: &Path, findings: &[Finding], opts: &WriteOptions, how: &ClassifyOptions) -> Outcome {
        let loaded = match load(path) {
            Ok(l) => l,
            Err(e) => return self.outcome(path, OutcomeStatus::Failed, e.to_string(), None),
        };
        let decision = self.policy.decide(&self.taxonomy, findings);
        let recommended = decision.recommended.as_ref();
        let target = match (&decision.automatic, recommended) {
            (_, Some(r)) if how.recommended_as_automatic => Some(r),
            (a, _) => a.as_ref(),
        };
        let current = loaded.ours(self.site());
        let current_label = current.and_then(|c| self.taxonomy.by_id(&c.label.id));
        let rank = |l: Option<&Label>| l.map_or(0, |l| l.order);
        let mut out = match (target, current) {
            (Some(t), current) => {
                let label = self.taxonomy.by_id(&t.label_id).expect("policy labels are in the taxonomy");
                let why = format!(": {}", t.reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "));
                let manual = current.is_some_and(|c| c.label.method == Some(Method::Privileged));
                if current.is_none() || (!manual && rank(Some(label)) > rank(current_label)) {
                    let mut o = self.apply(path, &loaded, label, Method::Standard, opts, &why);
                    o.reasons = t.reasons.clone();
                    o
                } else {
                    let c = current_label.map(|c| self.taxonomy.path(c)).unwrap_or_default();
                    let comment = if manual && rank(Some(label)) > rank(current_label) {
                        format!("labeled {c} by a person; the policy says {}{why}", self.taxonomy.path(label))
                    } else {
                        format!("No label to apply: already labeled {c}")
                    };
                    self.outcome(path, OutcomeStatus::Skipped, comment, current_label)
                }
            }
            (None, None) => match self.policy.default_label.as_deref().and_then(|d| self.taxonomy.by_id(d)) {
                Some(d) => self.apply(path, &loaded, d, Method::Standard, opts, " (default label)"),
                None => self.outcome(path, OutcomeStatus::Skipped, "No label to apply", None),
            },
            (None, Some(_)) => self.outcome(path, OutcomeStatus::Skipped, "No label to apply", current_label),
        };
        if let Some(r) = recommended.filter(|_| !how.recommended_as_automatic) {
            if rank(self.taxonomy.by_id(&r.label_id)) > rank(current_label) {
                out.recommended_label = self.taxonomy.by_id(&r.label_id).map(|l| self.taxonomy.path(l));
                if out.reasons.is_empty() {
                    out.reasons = r.reasons.clone();
                }
            }
        }
        out
    }

    fn write(
        &self,
        path: &Path,
        loaded: &Loaded,
        new: Option<&MsipLabel>,
        opts: &WriteOptions,
        comment: String,
        label: Option<&Label>,
    ) -> Outcome {
        if opts.what_if {
            return self.outcome(path, OutcomeStatus::Success, format!("what-if: would be {comment}"), label);
        }
        match self.rewrite(path, loaded, new, opts) {
            Ok(()) => self.outcome(path, OutcomeStatus::Success, comment, label),
            Err(e) => self.outcome(path, OutcomeStatus::Failed, e.to_string(), label),
        }
    }

    fn rewrite(&self, path: &Path, loaded: &Loaded, new: Option<&MsipLabel>, opts: &WriteOptions) -> Result<(), Error> {
        atomic::check_unlocked(path)?;
        if loaded.codec == Codec::Xattr {
            if loaded.seen.permissions().readonly() {
                return Err(Error::Refused { reason: "the file is read-only".into() });
            }
            let change = Change { site_id: self.site(), label: new, metadata: opts.metadata };
            return generic::write(path, loaded.format, &change, &loaded.found);
        }
        let data = relabel_bytes(&loaded.data, self.site(), new, opts.metadata)?;
        atomic::replace(path, &data, &loaded.seen, opts.preserve_mtime)
    }
}
