//! The four operations on one file: status, set, remove and classify, with the fields and
//! per-file results of the AIP cmdlets.

use crate::file::{load, rewrite, Codec, Loaded};
use crate::{
    atomic, generic, policy::Reason, Change, Error, Label, Metadata, Method, MsipLabel, Policy, Store, Taxonomy,
};
use mamori_model::{Finding, Protection};
use serde::Serialize;
use std::path::Path;

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
    /// For a mamori protected file: document id (ContentId), owner, issuer, label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protection: Option<Protection>,
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
    /// Give an unlabeled file that no rule matches the policy's default label. The desktop
    /// watcher leaves it off: it labels what the rules find, not every file people save.
    pub apply_default_label: bool,
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

    fn status_of_nothing(&self, path: &Path) -> Status {
        Status {
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
            protection: None,
            error: None,
        }
    }

    pub fn status(&self, path: &Path) -> Status {
        match load(path) {
            Ok(loaded) => self.status_of(path, &loaded),
            Err(e) => Status { error: Some(e.to_string()), ..self.status_of_nothing(path) },
        }
    }

    /// A file's status and what `classify` would do to it (a what-if), from one read of it.
    pub fn assess(&self, path: &Path, findings: &[Finding], how: &ClassifyOptions) -> (Status, Outcome) {
        match load(path) {
            Ok(loaded) => {
                let opts = WriteOptions { what_if: true, ..WriteOptions::default() };
                (self.status_of(path, &loaded), self.classify_loaded(path, &loaded, findings, &opts, how))
            }
            Err(e) => (
                Status { error: Some(e.to_string()), ..self.status_of_nothing(path) },
                self.outcome(path, OutcomeStatus::Failed, e.to_string(), None),
            ),
        }
    }

    /// The label the policy's rules give `findings` (the higher of automatic and recommended),
    /// with the reasons; `None` when no rule holds.
    pub fn verdict(&self, findings: &[Finding]) -> Option<(&Label, Vec<Reason>)> {
        let d = self.policy.decide(&self.taxonomy, findings);
        let v = d.recommended.or(d.automatic)?;
        Some((self.taxonomy.by_id(&v.label_id)?, v.reasons))
    }

    fn status_of(&self, path: &Path, loaded: &Loaded) -> Status {
        let mut s = self.status_of_nothing(path);
        s.format = Some(loaded.format.to_string());
        if let Some(f) = loaded.main(self.site()) {
            let l = &f.label;
            let ours = (l.site_id == self.site()).then(|| self.taxonomy.by_id(&l.id)).flatten();
            self.name_status(&mut s, &l.id, ours, l.name.as_deref());
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

    /// Marks `s` labeled with `id`, named from our taxonomy (`ours`) or else as the file names it.
    fn name_status(&self, s: &mut Status, id: &str, ours: Option<&Label>, named: Option<&str>) {
        s.is_labeled = true;
        s.label_id = Some(id.to_string());
        s.label_name = ours.map(|t| t.display_name().to_string()).or_else(|| named.map(str::to_string));
        s.parent_label_name = ours.and_then(|t| self.taxonomy.parent(t)).map(|p| p.display_name().to_string());
    }

    /// The status of a mamori protected file, from what its header says (or why it cannot be read).
    pub fn protected_status(&self, path: &Path, header: Result<Protection, String>) -> Status {
        let mut s = self.status_of_nothing(path);
        s.format = Some("mamori".to_string());
        match header {
            Err(e) => s.error = Some(e),
            Ok(p) => {
                s.is_protected = true;
                if let Some(id) = &p.label_id {
                    self.name_status(&mut s, id, self.taxonomy.by_id(id), p.label_name.as_deref());
                    s.metadata = Some(Store::MamoriHeader);
                }
                s.protection = Some(p);
            }
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

    /// A file `classify` skips because its content could not be read.
    pub fn not_classified(&self, path: &Path, why: &str) -> Outcome {
        self.outcome(
            path,
            OutcomeStatus::Skipped,
            format!("not classified: the content could not be read ({why})"),
            None,
        )
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
        match load(path) {
            Ok(loaded) => self.classify_loaded(path, &loaded, findings, opts, how),
            Err(e) => self.outcome(path, OutcomeStatus::Failed, e.to_string(), None),
        }
    }

    /// [`Labeler::classify`], and the file's status afterwards, reading the file once unless
    /// it was rewritten.
    pub fn classify_status(
        &self,
        path: &Path,
        findings: &[Finding],
        opts: &WriteOptions,
        how: &ClassifyOptions,
    ) -> (Outcome, Status) {
        match load(path) {
            Ok(loaded) => {
                let o = self.classify_loaded(path, &loaded, findings, opts, how);
                let written = o.status == OutcomeStatus::Success && !opts.what_if;
                let status = if written { self.status(path) } else { self.status_of(path, &loaded) };
                (o, status)
            }
            Err(e) => (
                self.outcome(path, OutcomeStatus::Failed, e.to_string(), None),
                Status { error: Some(e.to_string()), ..self.status_of_nothing(path) },
            ),
        }
    }

    fn classify_loaded(
        &self,
        path: &Path,
        loaded: &Loaded,
        findings: &[Finding],
        opts: &WriteOptions,
        how: &ClassifyOptions,
    ) -> Outcome {
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
                    let mut o = self.apply(path, loaded, label, Method::Standard, opts, &why);
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
            (None, None) if !how.apply_default_label => {
                self.outcome(path, OutcomeStatus::Skipped, "No label to apply", None)
            }
            (None, None) => match self.policy.default_label.as_deref().and_then(|d| self.taxonomy.by_id(d)) {
                Some(d) => self.apply(path, loaded, d, Method::Standard, opts, " (default label)"),
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
        let change = Change::new(self.site(), new, opts.metadata, &loaded.found);
        if loaded.codec == Codec::Xattr {
            if loaded.seen.permissions().readonly() {
                return Err(Error::Refused { reason: "the file is read-only".into() });
            }
            return generic::write(path, loaded.format, &change, &loaded.found);
        }
        let data = rewrite(loaded.format, loaded.codec, &loaded.data, &change, &loaded.found)?;
        atomic::replace(path, &data, &loaded.seen, opts.preserve_mtime)
    }
}
