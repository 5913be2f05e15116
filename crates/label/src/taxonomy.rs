//! The taxonomy: the organisation's labels, their rank and their protection template.

use crate::Error;
use serde::Deserialize;
use std::path::Path;

/// The organisation and its labels, from `labels/taxonomy.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Taxonomy {
    pub organization: Organization,
    #[serde(rename = "label")]
    pub labels: Vec<Label>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    pub name: String,
    /// The tenant id written as `MSIP_Label_<id>_SiteId`; lowercase, no braces.
    pub site_id: String,
    /// `everyone@<domain>` in a template means everyone in the organisation.
    pub domain: String,
}

/// One label or sublabel.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// Stable GUID, lowercase, no braces: the `<id>` of `MSIP_Label_<id>_*`.
    pub id: String,
    /// Unique internal name, written as `MSIP_Label_<id>_Name`.
    pub name: String,
    /// The name people see; defaults to `name`.
    pub display_name: Option<String>,
    /// The internal name of the parent label, for a sublabel.
    pub parent: Option<String>,
    /// Sensitivity rank: higher is more sensitive.
    pub order: u32,
    pub color: Option<String>,
    #[serde(default)]
    pub description: String,
    /// What protecting a file with this label grants; `None` for a label that only marks.
    pub protection: Option<Protection>,
}

/// A label's protection template, used when a labeled file is protected.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Protection {
    pub grants: Vec<Grant>,
    /// Days a use license may be used offline (0: check at every open).
    #[serde(default)]
    pub offline_days: u32,
}

/// Rights for one principal, group or `everyone@<domain>`.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub principal: String,
    pub rights: Vec<String>,
}

/// Usage rights a template may grant (the protection issue enforces them).
pub const RIGHTS: &[&str] = &["view", "edit", "print", "copy", "export", "owner"];

impl Label {
    pub fn display_name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.name)
    }
}

impl Taxonomy {
    /// The taxonomy built into the binary (`labels/taxonomy.toml`).
    pub fn builtin() -> Taxonomy {
        Taxonomy::parse(include_str!("../../../labels/taxonomy.toml"), "labels/taxonomy.toml")
            .expect("the built-in taxonomy is valid")
    }

    pub fn load(path: &Path) -> Result<Taxonomy, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Taxonomy::parse(&text, &path.display().to_string())
    }

    /// Parses and checks: GUIDs well formed and unique, names unique, parents known.
    pub fn parse(text: &str, origin: &str) -> Result<Taxonomy, Error> {
        let bad = |reason: String| Error::Config { origin: origin.to_string(), reason };
        let mut t: Taxonomy = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        t.organization.site_id = crate::meta::guid(&t.organization.site_id)
            .ok_or_else(|| bad(format!("site_id {:?} is not a GUID", t.organization.site_id)))?;
        for (i, l) in t.labels.clone().iter().enumerate() {
            let id = crate::meta::guid(&l.id)
                .ok_or_else(|| bad(format!("label {:?}: id {:?} is not a GUID", l.name, l.id)))?;
            t.labels[i].id = id;
            if t.labels[..i].iter().any(|o| o.id == t.labels[i].id || o.name.eq_ignore_ascii_case(&l.name)) {
                return Err(bad(format!("label {:?}: id or name used twice", l.name)));
            }
            if let Some(p) = &l.parent {
                if !t.labels.iter().any(|o| &o.name == p && o.parent.is_none()) {
                    return Err(bad(format!("label {:?}: parent {p:?} is not a top-level label", l.name)));
                }
            }
            for g in l.protection.iter().flat_map(|p| &p.grants) {
                if let Some(r) = g.rights.iter().find(|r| !RIGHTS.contains(&r.as_str())) {
                    return Err(bad(format!("label {:?}: unknown right {r:?} (known: {})", l.name, RIGHTS.join(", "))));
                }
            }
        }
        Ok(t)
    }

    pub fn by_id(&self, id: &str) -> Option<&Label> {
        let id = crate::meta::guid(id)?;
        self.labels.iter().find(|l| l.id == id)
    }

    pub fn parent(&self, label: &Label) -> Option<&Label> {
        label.parent.as_ref().and_then(|p| self.labels.iter().find(|l| &l.name == p))
    }

    pub fn children<'a>(&'a self, label: &'a Label) -> impl Iterator<Item = &'a Label> + 'a {
        self.labels.iter().filter(move |l| l.parent.as_deref() == Some(&label.name))
    }

    /// The path people write: `Confidential/Restricted` for a sublabel.
    pub fn path(&self, label: &Label) -> String {
        match self.parent(label) {
            Some(p) => format!("{}/{}", p.display_name(), label.display_name()),
            None => label.display_name().to_string(),
        }
    }

    /// Finds a label by GUID, internal name, or display path (`Confidential/Restricted`,
    /// `Confidential\Restricted`), ignoring case.
    pub fn find(&self, key: &str) -> Option<&Label> {
        if let Some(l) = self.by_id(key) {
            return Some(l);
        }
        let key = key.trim().replace('\\', "/");
        self.labels.iter().find(|l| l.name.eq_ignore_ascii_case(&key) || self.path(l).eq_ignore_ascii_case(&key))
    }

    /// Like [`find`](Self::find), for a label that can be applied: known, and not a parent of
    /// sublabels (Office requires the sublabel).
    pub fn applicable(&self, key: &str) -> Result<&Label, Error> {
        let label = self.find(key).ok_or_else(|| Error::UnknownLabel {
            label: key.to_string(),
            known: self.labels.iter().map(|l| self.path(l)).collect::<Vec<_>>().join(", "),
        })?;
        let subs: Vec<String> = self.children(label).map(|c| self.path(c)).collect();
        if !subs.is_empty() {
            return Err(Error::ParentLabel { label: self.path(label), sublabels: subs.join(", ") });
        }
        Ok(label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_labels_are_found_by_id_name_and_path() {
        let t = Taxonomy::builtin();
        let r = t.find("confidential\\restricted").unwrap();
        assert_eq!(r.name, "Confidential-Restricted");
        assert_eq!(t.find("Confidential/Restricted").unwrap().id, r.id);
        assert_eq!(t.find(&r.id.to_uppercase()).unwrap().id, r.id);
        assert_eq!(t.find(&format!("{{{}}}", r.id)).unwrap().id, r.id);
        assert!(t.find("Secret").is_none());
    }

    #[test]
    fn a_parent_with_sublabels_cannot_be_applied() {
        let t = Taxonomy::builtin();
        let e = t.applicable("Confidential").unwrap_err().to_string();
        assert!(e.contains("Confidential/Restricted"), "{e}");
        assert!(t.applicable("Public").is_ok());
    }

    #[test]
    fn bad_taxonomies_are_refused_with_the_reason() {
        let org = "[organization]\nname='x'\nsite_id='c37a12d5-f566-419a-bb33-0d631118fd5e'\ndomain='x'\n";
        let bad_id = format!("{org}[[label]]\nid='nope'\nname='A'\norder=1\n");
        assert!(Taxonomy::parse(&bad_id, "t").unwrap_err().to_string().contains("not a GUID"));
        let orphan =
            format!("{org}[[label]]\nid='1b60ddee-8f5e-43c6-b3a2-6bfd332e41d5'\nname='A'\nparent='B'\norder=1\n");
        assert!(Taxonomy::parse(&orphan, "t").unwrap_err().to_string().contains("parent"));
        let right = format!(
            "{org}[[label]]\nid='1b60ddee-8f5e-43c6-b3a2-6bfd332e41d5'\nname='A'\norder=1\n\
             protection={{grants=[{{principal='a@x', rights=['fly']}}]}}\n"
        );
        assert!(Taxonomy::parse(&right, "t").unwrap_err().to_string().contains("fly"));
    }
}
