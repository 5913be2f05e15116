//! How a scan weighs or applies the label policy to each file, decides what an incremental
//! rescan may skip, and turns a file's reports into inventory records.

use mamori_inventory::{Record, Seen};
use mamori_model::Finding;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What an incremental scan redoes for a file it has seen before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Redo {
    /// Nothing changed: skip it.
    Nothing,
    /// Only the policy changed: decide its label again from the types the inventory holds.
    Policy,
    /// Read and scan it again.
    Scan,
}

/// `; N item(s) inside could not be read (first: why)`, when members of a file (of a password
/// zip, a bomb) could not be read: they may hide what would decide its label.
pub(crate) fn unread_inside(items: &[mamori_model::ItemReport]) -> Option<String> {
    let unread: Vec<&mamori_model::ItemReport> =
        items.iter().filter(|i| i.nested && i.status != mamori_model::ItemStatus::Ok).collect();
    let first = unread.first()?;
    let why = first.error.as_deref().unwrap_or("unreadable");
    Some(format!("; {} item(s) inside could not be read ({}: {why})", unread.len(), first.path))
}

/// A short stable digest of what produced a result.
pub(super) fn fingerprint(s: &str) -> String {
    blake3::hash(s.as_bytes()).to_hex()[..16].to_string()
}

/// The label policy as a scan applies it, and the versions its records carry.
pub(crate) struct Policy<'a> {
    pub(crate) labeler: &'a mamori_label::Labeler,
    pub(crate) how: mamori_label::ClassifyOptions,
    /// Set by --enforce: how to write labels.
    pub(crate) enforce: Option<mamori_label::WriteOptions>,
    /// mamori, catalog (with the scan options) and policy.
    pub(crate) versions: [String; 3],
    /// With --enforce: protect files whose new label's template protects.
    pub(crate) protect: bool,
    /// The key service client, made at the first file to protect.
    pub(crate) client: Mutex<Option<mamori_protect::Client>>,
    /// The working directory, read once (std::path::absolute asks the system at each call).
    pub(crate) cwd: PathBuf,
}

impl Policy<'_> {
    /// A file's key in the inventory: its path made absolute as std::path::absolute does,
    /// without rebuilding a path that has nothing to normalize.
    pub(super) fn key(&self, path: &Path) -> Option<String> {
        let joined = self.cwd.join(path);
        let plain = joined.to_str().filter(|s| !s.contains("/./") && !s.contains("//") && !s.ends_with("/."));
        match plain {
            Some(s) if s.len() > 1 => Some(s.trim_end_matches('/').to_string()),
            Some(s) => Some(s.to_string()),
            None => std::path::absolute(&joined).ok().map(|p| p.display().to_string()),
        }
    }

    /// What an incremental scan must redo for `path`, last seen as `last`. Its content is
    /// read again unless the last scan read it with this mamori and catalog, without error, and
    /// saw the same size, mtime and ctime (the ctime catches a label written to an extended
    /// attribute, and a rewrite that kept the mtime); with `rehash` the content decides
    /// instead of the times: same size and hash. Only the label decision is redone when just
    /// the policy changed. `now` is the file's metadata (a file that cannot be stat'ed has no size).
    pub(super) fn redo(&self, path: &Path, last: &Seen, now: &mamori_scan::Scanned, rehash: bool) -> Redo {
        let [engine, catalog, policy] = &self.versions;
        let v = &last.versions;
        if (&v.engine, &v.catalog) != (engine, catalog) || last.failed {
            return Redo::Scan; // an error may be gone now
        }
        let same = if rehash {
            now.size == last.size && last.hash.is_some() && mamori_scan::hash_file(path).ok() == last.hash
        } else {
            (now.size, now.modified, now.changed) == (last.size, last.modified, last.changed)
        };
        match (same, &v.policy == policy) {
            (false, _) => Redo::Scan,
            (true, true) => Redo::Nothing,
            // a protected file's record comes from its header, which is cheap to read again
            (true, false) if last.protected => Redo::Scan,
            (true, false) => Redo::Policy,
        }
    }

    /// A file whose content is as `last` holds, ready for [`Policy::apply`] to weigh the label
    /// again from the types found last time, without reading the content.
    pub(super) fn from_record(path: &Path, last: &Record) -> mamori_scan::FileScan {
        let mut own = mamori_model::ItemReport::new(path.display().to_string());
        (own.format, own.size, own.status, own.error) =
            (last.format.clone(), last.size, last.status, last.reason.clone());
        own.findings = last
            .types
            .iter()
            .map(|t| Finding {
                type_id: t.id.clone(),
                confidence: t.confidence,
                count: t.count as usize,
                matches: Vec::new(),
            })
            .collect();
        let file = mamori_scan::Scanned {
            size: last.size,
            modified: last.modified,
            changed: last.changed,
            hash: last.hash.clone(),
        };
        mamori_scan::FileScan { path: path.to_path_buf(), root: PathBuf::new(), regular: true, file, items: vec![own] }
    }

    /// Weighs (or with --enforce applies) the policy to a scanned file, noting the result on
    /// its own report; returns the outcome to print when enforcing.
    pub(crate) fn apply(&self, f: &mut mamori_scan::FileScan) -> Option<mamori_label::Outcome> {
        let (own, _) = f.items.split_last()?;
        if !f.regular || own.nested || own.protection.is_some() {
            return None;
        }
        let l = self.labeler;
        // the file and everything inside it decide its label
        let findings = Finding::merge(f.items.iter().flat_map(|i| i.findings.clone()));
        let (status, outcome) = if own.status != mamori_model::ItemStatus::Ok {
            (l.status(&f.path), l.not_classified(&f.path, own.error.as_deref().unwrap_or_default()))
        } else {
            match &self.enforce {
                Some(opts) => {
                    let (mut o, mut status) = l.classify_status(&f.path, &findings, opts, &self.how);
                    // the label it now carries, new or not, may call for protection
                    if o.status != mamori_label::OutcomeStatus::Failed {
                        if let Some(p) = self.protect(&f.path, status.label_id.as_deref(), &mut o) {
                            f.items.last_mut().expect("checked").protection = Some(p.clone());
                            status = l.protected_status(&f.path, Ok(p));
                        }
                    }
                    if o.status == mamori_label::OutcomeStatus::Success {
                        // the file changed: what the inventory keeps is what is there now
                        f.file = std::fs::metadata(&f.path).map(mamori_scan::Scanned::of).unwrap_or_default();
                    }
                    (status, o)
                }
                None => l.assess(&f.path, &findings, &self.how),
            }
        };
        let mut outcome = outcome;
        if let Some(note) = unread_inside(&f.items) {
            outcome.comment.push_str(&note);
        }
        let label = match (&status.parent_label_name, &status.label_name) {
            (Some(p), Some(n)) => Some(format!("{p}/{n}")),
            (_, n) => n.clone(),
        };
        let applied = outcome.status == mamori_label::OutcomeStatus::Success;
        let own = f.items.last_mut().expect("checked");
        own.classification = Some(mamori_model::Classification {
            label,
            label_id: status.label_id.clone(),
            labeling_method: status.labeling_method.map(|m| m.as_str().to_string()),
            recommended_label: l.verdict(&findings).map(|(r, _)| l.taxonomy.path(r)),
            applied_label: outcome.label_name.clone().filter(|_| applied),
            applied_label_id: outcome.label_id.clone().filter(|_| applied),
            outcome: outcome.status.as_str().to_string(),
            comment: outcome.comment.clone(),
        });
        Some(outcome)
    }

    /// Protects a labeled file when its label's template says so, noting it in `o`; what the
    /// new header says, when it did.
    fn protect(
        &self,
        path: &std::path::Path,
        label_id: Option<&str>,
        o: &mut mamori_label::Outcome,
    ) -> Option<mamori_model::Protection> {
        let l = self.labeler;
        let label = label_id.and_then(|id| l.taxonomy.by_id(id)).filter(|t| t.protection.is_some());
        let label = label.filter(|_| self.protect)?;
        let mut client = self.client.lock().unwrap_or_else(|p| p.into_inner());
        crate::protect::protect_labeled(&mut client, l, label, path, o)
    }

    /// The inventory's records of a scanned file: its members' and its own, which carries
    /// the label, the policy's verdict and the types of everything inside it.
    pub(super) fn records(
        &self,
        f: &mamori_scan::FileScan,
        root: Option<&std::path::Path>,
    ) -> Vec<mamori_inventory::Record> {
        use mamori_inventory::{Record, TypeFound};
        let Some(file) = self.key(&f.path) else { return Vec::new() };
        let shown = f.path.display().to_string();
        let [engine, catalog, policy] = self.versions.clone();
        let scanned_at = jiff::Timestamp::now().as_second();
        let l = self.labeler;
        let merged = mamori_model::Finding::merge(f.items.iter().flat_map(|i| i.findings.clone()));
        f.items
            .iter()
            .map(|item| {
                let own = !item.nested;
                let types = if own { &merged } else { &item.findings };
                let mut r = Record {
                    path: match item.path.strip_prefix(&shown) {
                        Some(rest) => format!("{file}{rest}"),
                        None => item.path.clone(),
                    },
                    file: file.clone(),
                    repository: root.map(|r| r.display().to_string()).unwrap_or_default(),
                    nested: item.nested,
                    size: item.size,
                    modified: None,
                    changed: None,
                    hash: None,
                    format: item.format.clone(),
                    status: item.status,
                    reason: item.error.clone(),
                    label: None,
                    label_id: None,
                    label_order: 0,
                    labeling_method: None,
                    protected: item.protection.is_some(),
                    content_id: item.protection.as_ref().map(|p| p.content_id.clone()),
                    recommended: None,
                    recommended_id: None,
                    recommended_order: 0,
                    recommended_protects: false,
                    applied: None,
                    applied_id: None,
                    action: None,
                    conditions: Vec::new(),
                    types: types
                        .iter()
                        .map(|t| TypeFound { id: t.type_id.clone(), count: t.count as u64, confidence: t.confidence })
                        .collect(),
                    scanned_at,
                    engine: engine.clone(),
                    catalog: catalog.clone(),
                    policy: policy.clone(),
                };
                if own {
                    r.size = f.file.size.or(item.size);
                    r.modified = f.file.modified;
                    r.changed = f.file.changed;
                    r.hash = f.file.hash.clone();
                    if let Some(c) = &item.classification {
                        r.label = c.label.clone();
                        r.label_id = c.label_id.clone();
                        r.labeling_method = c.labeling_method.clone();
                        r.applied = c.applied_label.clone();
                        r.applied_id = c.applied_label_id.clone();
                        r.action = Some(format!("{}: {}", c.outcome, c.comment));
                    }
                    // a protected file's label is in its header
                    if let Some(id) = item.protection.as_ref().and_then(|p| p.label_id.clone()) {
                        r.label = l.taxonomy.by_id(&id).map(|t| l.taxonomy.path(t));
                        r.label_id = Some(id);
                    }
                    r.label_order = r.label_id.as_deref().and_then(|id| l.taxonomy.by_id(id)).map_or(0, |t| t.order);
                    if let Some((v, reasons)) = l.verdict(&merged) {
                        r.recommended = Some(l.taxonomy.path(v));
                        r.recommended_id = Some(v.id.clone());
                        r.recommended_order = v.order;
                        r.recommended_protects = v.protection.is_some();
                        r.conditions = reasons.iter().map(ToString::to_string).collect();
                    }
                }
                r
            })
            .collect()
    }
}
