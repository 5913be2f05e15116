//! The shared vocabulary of mamori.
//!
//! Every other crate speaks in these types: an [`ItemReport`] says what happened to one scanned
//! item (a file, or a member inside a container), a [`Finding`] groups the [`Match`]es of one
//! sensitive information type, and a [`Confidence`] is Purview's discrete level (high 85,
//! medium 75, low 65). Matched values are [`SensitiveValue`]s: their `Debug` output is masked,
//! so a stray `{:?}` in a log never prints a card number.
//!
//! The serialized form of [`ItemReport`] is the `mamori scan --format jsonl` contract: fields
//! may be added, never renamed or removed.
#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// How sure the engine is that a match is the type it claims, as Purview scores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub const ALL: [Confidence; 3] = [Confidence::Low, Confidence::Medium, Confidence::High];

    /// Purview's numeric confidence level (65 / 75 / 85).
    pub fn score(self) -> u8 {
        match self {
            Confidence::Low => 65,
            Confidence::Medium => 75,
            Confidence::High => 85,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Confidence {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "low" | "65" => Ok(Confidence::Low),
            "medium" | "75" => Ok(Confidence::Medium),
            "high" | "85" => Ok(Confidence::High),
            _ => Err(format!("unknown confidence {s:?} (expected low, medium or high)")),
        }
    }
}

/// A file's modification and status-change times in nanoseconds since the epoch: with its
/// size, what tells a changed file from an unchanged one (the inventory, the watcher). The
/// ctime moves with a label written to an extended attribute, which leaves the mtime alone;
/// where there is no ctime (not Unix), the mtime stands in.
pub fn file_times(m: &std::fs::Metadata) -> (i64, i64) {
    let modified =
        m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos() as i64);
    #[cfg(unix)]
    let changed = {
        use std::os::unix::fs::MetadataExt;
        m.ctime().saturating_mul(1_000_000_000).saturating_add(m.ctime_nsec())
    };
    #[cfg(not(unix))]
    let changed = modified;
    (modified, changed)
}

/// A matched value as it stands in the document. `Debug` masks it; `Display` is deliberately
/// not implemented: callers choose [`SensitiveValue::masked`] or [`SensitiveValue::reveal`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SensitiveValue(String);

impl SensitiveValue {
    pub fn new(value: impl Into<String>) -> Self {
        SensitiveValue(value.into())
    }

    /// The value in clear. Only for `--reveal`, evaluation and tests.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

impl fmt::Debug for SensitiveValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SensitiveValue({:?})", self.masked())
    }
}

/// Masks the letters and digits of a value, keeping a few at each end so a person can find it
/// again (`4111 1111 1111 1111` → `4111 **** **** 1111`). Separators and non-alphanumeric
/// characters are kept, so the shape of the value stays visible.
pub fn mask(value: &str) -> String {
    let n = value.chars().filter(|c| c.is_alphanumeric()).count();
    let (head, tail) = match n {
        0..=4 => (0, 0),
        5..=7 => (1, 1),
        8..=11 => (2, 2),
        _ => (4, 4),
    };
    let mut seen = 0;
    value
        .chars()
        .map(|c| {
            if !c.is_alphanumeric() {
                return c;
            }
            seen += 1;
            if seen <= head || seen > n - tail {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// The form of a value used to compare matches with ground truth: full-width characters folded
/// to ASCII, only letters and digits kept, upper case (`６２１４－９８３２` → `62149832`).
pub fn canonical_value(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// What an extractor knows of a text's structure, handed to the detection engine as data: a
/// table's column header is near every cell of its column however far below it the cell is,
/// and a row's label is near the row's values. The engine stays format-blind: it sees labels
/// and the stretches of text they apply to, never a file type.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Layout {
    /// The label texts (column headers, row labels), each stored once.
    pub labels: Vec<String>,
    /// Stretches of the text (byte ranges), sorted by start and not overlapping, each with the
    /// labels that apply to it.
    pub spans: Vec<LabeledSpan>,
}

/// A stretch of text (a table cell) and the labels that apply to it, as indexes into
/// [`Layout::labels`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LabeledSpan {
    pub start: usize,
    pub end: usize,
    /// Its column's header.
    pub column: Option<u32>,
    /// Its row's label (the first cell of the row, when that is a name, not a value).
    pub row: Option<u32>,
}

impl Layout {
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The span that holds `start..end` whole, if any.
    pub fn span_of(&self, start: usize, end: usize) -> Option<&LabeledSpan> {
        let i = self.spans.partition_point(|s| s.start <= start);
        let s = self.spans.get(i.checked_sub(1)?)?;
        (end <= s.end).then_some(s)
    }
}

/// One occurrence of a sensitive type in an item.
#[derive(Clone, Debug)]
pub struct Match {
    pub value: SensitiveValue,
    pub confidence: Confidence,
    /// Byte offset of the value in the item's text, as UTF-8 (for a UTF-8 file, the file offset).
    pub offset: u64,
    /// 1-based line number of the value in the item's text (in its part, for documents).
    pub line: u64,
    /// Where in a document the value is (`word/footer1.xml`, `Sheet2!C7`, `slide 3 notes`,
    /// `page 12`); `None` for plain text.
    pub part: Option<String>,
    /// How many times the item holds this value (the confidence is the best of them; offset,
    /// line and part are the first's). Purview counts every instance, and so do policies'
    /// `min_count`.
    pub count: u64,
    /// Why the confidence is lower than its rules give (`documentation example`), if it is.
    pub note: Option<String>,
}

/// All matches of one sensitive type in one item. Its confidence is its best match's.
#[derive(Clone, Debug)]
pub struct Finding {
    pub type_id: String,
    pub confidence: Confidence,
    pub count: usize,
    pub matches: Vec<Match>,
}

impl Finding {
    /// One finding per type from the findings of several items (a file and what it contains):
    /// counts add up, the best confidence wins, matches are kept in order.
    pub fn merge(findings: impl IntoIterator<Item = Finding>) -> Vec<Finding> {
        let mut out: Vec<Finding> = Vec::new();
        for f in findings {
            match out.iter_mut().find(|o| o.type_id == f.type_id) {
                Some(o) => {
                    o.count += f.count;
                    o.confidence = o.confidence.max(f.confidence);
                    o.matches.extend(f.matches);
                }
                None => out.push(f),
            }
        }
        out
    }
}

/// What happened to an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    Ok,
    Skipped,
    Error,
}

impl ItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Ok => "ok",
            ItemStatus::Skipped => "skipped",
            ItemStatus::Error => "error",
        }
    }
}

/// The first bytes of a mamori protected file: the high bit and the LF catch text-mode mangling.
pub const PROTECTED_MAGIC: &[u8; 8] = b"\x89MAMORI\n";

/// What a mamori protected file's header says, readable without keys: its document id (AIP's
/// ContentId), owner, key service (issuer) and label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Protection {
    pub content_id: String,
    pub owner: String,
    /// The key service that issued it.
    pub issuer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_name: Option<String>,
}

/// What the label policy makes of a file: its label now, the label its content calls for,
/// and what applying the policy did or would do (in the words of `mamori label set`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub label: Option<String>,
    pub label_id: Option<String>,
    /// `Privileged` (a person chose it) or `Standard` (applied automatically).
    pub labeling_method: Option<String>,
    pub recommended_label: Option<String>,
    /// The label applying the policy gave the file (or, in a what-if, would give it).
    pub applied_label: Option<String>,
    pub applied_label_id: Option<String>,
    /// `success`, `skipped` or `failed`; a what-if success says what would be done.
    pub outcome: String,
    pub comment: String,
}

/// The result of scanning one item: a file, or a member of a container (`a.zip!b.txt`).
#[derive(Clone, Debug)]
pub struct ItemReport {
    /// The path as given joined with the walked part; members are joined with `!`.
    pub path: String,
    /// The format sniffed from the content (`text`, `binary`, ...), or `unknown` when unread.
    pub format: String,
    /// The text encoding, for text items.
    pub encoding: Option<String>,
    pub size: Option<u64>,
    pub status: ItemStatus,
    /// The reason for `skipped` or `error`.
    pub error: Option<String>,
    /// A caveat about how the item was read (`best effort`), if any.
    pub note: Option<String>,
    /// True for an item inside another (archive member, attachment, embedded object).
    pub nested: bool,
    /// Set for a mamori protected file: its content is encrypted and was not scanned.
    pub protection: Option<Protection>,
    /// Set on a file's own report when a scan applied (or weighed) the label policy.
    pub classification: Option<Classification>,
    pub findings: Vec<Finding>,
}

impl ItemReport {
    pub fn new(path: impl Into<String>) -> Self {
        ItemReport {
            path: path.into(),
            format: "unknown".into(),
            encoding: None,
            size: None,
            status: ItemStatus::Ok,
            error: None,
            note: None,
            nested: false,
            protection: None,
            classification: None,
            findings: Vec::new(),
        }
    }

    pub fn failed(mut self, status: ItemStatus, reason: impl Into<String>) -> Self {
        self.status = status;
        self.error = Some(reason.into());
        self
    }

    pub fn has_findings(&self) -> bool {
        !self.findings.is_empty()
    }
}

/// Serialize a [`SensitiveValue`] masked, unless the serializer was built with `reveal`.
/// Renderers pick the view with [`ItemView`].
#[derive(Clone, Copy)]
pub struct ItemView<'a> {
    pub item: &'a ItemReport,
    pub reveal: bool,
}

impl Serialize for ItemView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let it = self.item;
        let mut st = s.serialize_struct("Item", 8)?;
        st.serialize_field("path", &it.path)?;
        st.serialize_field("format", &it.format)?;
        st.serialize_field("encoding", &it.encoding)?;
        st.serialize_field("size", &it.size)?;
        st.serialize_field("status", &it.status)?;
        st.serialize_field("error", &it.error)?;
        if let Some(note) = &it.note {
            st.serialize_field("note", note)?;
        }
        if let Some(p) = &it.protection {
            st.serialize_field("protection", p)?;
        }
        if let Some(c) = &it.classification {
            st.serialize_field("classification", c)?;
        }
        let findings: Vec<FindingView> = it.findings.iter().map(|f| FindingView { f, reveal: self.reveal }).collect();
        st.serialize_field("findings", &findings)?;
        st.end()
    }
}

struct FindingView<'a> {
    f: &'a Finding,
    reveal: bool,
}

impl Serialize for FindingView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Finding", 4)?;
        st.serialize_field("type", &self.f.type_id)?;
        st.serialize_field("confidence", &self.f.confidence)?;
        st.serialize_field("count", &self.f.count)?;
        let matches: Vec<MatchView> = self.f.matches.iter().map(|m| MatchView { m, reveal: self.reveal }).collect();
        st.serialize_field("matches", &matches)?;
        st.end()
    }
}

struct MatchView<'a> {
    m: &'a Match,
    reveal: bool,
}

impl Serialize for MatchView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Match", 7)?;
        if self.reveal {
            st.serialize_field("value", self.m.value.reveal())?;
        } else {
            st.serialize_field("value", &self.m.value.masked())?;
        }
        st.serialize_field("confidence", &self.m.confidence)?;
        st.serialize_field("offset", &self.m.offset)?;
        st.serialize_field("line", &self.m.line)?;
        if let Some(part) = &self.m.part {
            st.serialize_field("part", part)?;
        }
        st.serialize_field("count", &self.m.count)?;
        if let Some(note) = &self.m.note {
            st.serialize_field("note", note)?;
        }
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_ends_and_separators() {
        assert_eq!(mask("4111111111111111"), "4111********1111");
        assert_eq!(mask("1234 5678 9018"), "1234 **** 9018");
        assert_eq!(mask("AB1234567"), "AB*****67");
        assert_eq!(mask("abc"), "***");
        assert_eq!(mask("user@example.com"), "user@******e.com");
    }

    #[test]
    fn debug_never_reveals() {
        let v = SensitiveValue::new("4111111111111111");
        assert!(!format!("{v:?}").contains("4111111111111111"));
    }

    #[test]
    fn confidence_orders_and_scores() {
        assert!(Confidence::High > Confidence::Medium);
        assert_eq!(Confidence::Medium.score(), 75);
        assert_eq!("HIGH".parse::<Confidence>().unwrap(), Confidence::High);
    }
}
