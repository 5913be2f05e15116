//! Label metadata as Microsoft Information Protection writes it: one set of
//! `MSIP_Label_<id>_<Attr>` values per label, at most one label per tenant (site).

use serde::Serialize;

/// How a label was applied: `Privileged` when a person chose it, `Standard` when applied
/// automatically or by default (mip::AssignmentMethod).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Method {
    Standard,
    Privileged,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Standard => "Standard",
            Method::Privileged => "Privileged",
        }
    }

    /// Also reads the classic client's `Automatic` / `Manual`.
    pub fn parse(s: &str) -> Option<Method> {
        match s.trim().to_ascii_lowercase().as_str() {
            "standard" | "automatic" => Some(Method::Standard),
            "privileged" | "manual" => Some(Method::Privileged),
            _ => None,
        }
    }
}

/// One label found in, or to be written to, a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MsipLabel {
    /// Label GUID, lowercase, no braces.
    pub id: String,
    /// Tenant GUID, lowercase, no braces.
    pub site_id: String,
    pub enabled: bool,
    pub method: Option<Method>,
    /// As written (`2024-01-01T12:00:00Z`); MIP writes several ISO-8601 shapes.
    pub set_date: Option<String>,
    /// The label's internal name.
    pub name: Option<String>,
    pub action_id: Option<String>,
    /// HEADER 0x1, FOOTER 0x2, WATERMARK 0x4, ENCRYPT 0x8.
    pub content_bits: Option<u32>,
    /// A LabelInfo tombstone: the tenant removed its label.
    pub removed: bool,
    /// Other `MSIP_Label_<id>_<Attr>` values (custom attributes, `_Owner`, ...), kept on rewrite.
    #[serde(skip)]
    pub extra: Vec<(String, String)>,
}

/// `MSIP_Label_`: the prefix of every label key.
pub const PREFIX: &str = "MSIP_Label_";

/// Normalizes a GUID to lowercase, hyphenated, without braces; `None` if it is not one.
pub fn guid(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')).unwrap_or(s);
    uuid::Uuid::try_parse(s).ok().filter(|_| s.len() == 36).map(|u| u.hyphenated().to_string())
}

fn boolean(s: &str) -> bool {
    matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1")
}

impl MsipLabel {
    /// A new label set now, with a fresh ActionId.
    pub fn new(id: &str, site_id: &str, name: &str, method: Method) -> MsipLabel {
        MsipLabel {
            id: id.to_string(),
            site_id: site_id.to_string(),
            enabled: true,
            method: Some(method),
            set_date: Some(
                jiff::Timestamp::now().round(jiff::Unit::Second).unwrap_or_else(|_| jiff::Timestamp::now()).to_string(),
            ),
            name: Some(name.to_string()),
            action_id: Some(uuid::Uuid::new_v4().hyphenated().to_string()),
            content_bits: Some(0),
            removed: false,
            extra: Vec::new(),
        }
    }

    /// The `(key, value)` pairs in the order Excel writes them.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let key = |attr: &str| format!("{PREFIX}{}_{attr}", self.id);
        let mut out = vec![(key("Enabled"), self.enabled.to_string())];
        let mut push = |attr: &str, v: Option<String>| {
            if let Some(v) = v {
                out.push((key(attr), v));
            }
        };
        push("SetDate", self.set_date.clone());
        push("Method", self.method.map(|m| m.as_str().to_string()));
        push("Name", self.name.clone());
        push("SiteId", Some(self.site_id.clone()));
        push("ActionId", self.action_id.clone());
        push("ContentBits", self.content_bits.map(|b| b.to_string()));
        for (attr, v) in &self.extra {
            out.push((key(attr), v.clone()));
        }
        out
    }

    /// Groups `MSIP_Label_<id>_<Attr>` pairs into labels; other keys are ignored. A label
    /// without a SiteId is kept with an empty one (old AIP files have none).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<MsipLabel> {
        let mut labels: Vec<MsipLabel> = Vec::new();
        for (key, value) in pairs {
            let Some((id, attr)) = split_key(key) else { continue };
            let at = match labels.iter().position(|l| l.id == id) {
                Some(i) => i,
                None => {
                    labels.push(MsipLabel::empty(id));
                    labels.len() - 1
                }
            };
            let l = &mut labels[at];
            let value = value.trim();
            match attr {
                "Enabled" => l.enabled = boolean(value),
                "SiteId" => l.site_id = guid(value).unwrap_or_else(|| value.to_ascii_lowercase()),
                "Method" => l.method = Method::parse(value),
                "SetDate" => l.set_date = Some(value.to_string()),
                "Name" => l.name = Some(value.to_string()),
                "ActionId" => l.action_id = Some(value.to_string()),
                "ContentBits" => l.content_bits = value.parse().ok(),
                _ => l.extra.push((attr.to_string(), value.to_string())),
            }
        }
        labels
    }

    pub(crate) fn empty(id: String) -> MsipLabel {
        MsipLabel {
            id,
            site_id: String::new(),
            enabled: false,
            method: None,
            set_date: None,
            name: None,
            action_id: None,
            content_bits: None,
            removed: false,
            extra: Vec::new(),
        }
    }

    /// `k=v; k=v` as in the `msip_labels` mail header (also used for extended attributes).
    pub fn header_value(labels: &[MsipLabel]) -> String {
        labels.iter().flat_map(|l| l.to_pairs()).map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    /// Parses an `msip_labels` header value (already unfolded).
    pub fn parse_header(value: &str) -> Vec<MsipLabel> {
        let pairs: Vec<(&str, &str)> =
            value.split(';').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.trim(), v.trim())).collect();
        MsipLabel::from_pairs(pairs)
    }
}

/// Splits `MSIP_Label_<guid>_<Attr>` into the normalized GUID and the attribute.
pub fn split_key(key: &str) -> Option<(String, &str)> {
    let rest = key.trim().strip_prefix(PREFIX)?;
    let (id, attr) = rest.split_at_checked(36)?;
    Some((guid(id)?, attr.strip_prefix('_')?))
}

/// Is `key` one of the keys of a label of `id`?
pub fn is_key_of(key: &str, id: &str) -> bool {
    split_key(key).is_some_and(|(k, _)| k == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_normalized() {
        let g = "2096f6a2-d2f7-48be-b329-b73aaa526e5d";
        assert_eq!(guid("{2096F6A2-D2F7-48BE-B329-B73AAA526E5D}").as_deref(), Some(g));
        assert_eq!(guid(g).as_deref(), Some(g));
        assert_eq!(guid("2096f6a2d2f748beb329b73aaa526e5d"), None);
        assert_eq!(guid("nope"), None);
    }

    #[test]
    fn a_real_exchange_header_reads_back() {
        // The shape of msip_labels headers in public mailing-list archives: folded, `True`,
        // a name with spaces, classic-client attributes.
        let h = "MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_Enabled=True;\n \
                 MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_SiteId=72f988bf-86f1-41af-91ab-2d7cd011db47;\n \
                 MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_Owner=someone@microsoft.com;\n \
                 MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_SetDate=2019-08-06T19:43:17.8621686Z;\n \
                 MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_Name=General Use Only;\n \
                 MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_Extended_MSFT_Method=Automatic";
        let labels = MsipLabel::parse_header(h);
        assert_eq!(labels.len(), 1);
        let l = &labels[0];
        assert!(l.enabled);
        assert_eq!(l.site_id, "72f988bf-86f1-41af-91ab-2d7cd011db47");
        assert_eq!(l.name.as_deref(), Some("General Use Only"));
        assert_eq!(l.extra[0], ("Owner".to_string(), "someone@microsoft.com".to_string()));
        let again = MsipLabel::parse_header(&MsipLabel::header_value(&labels));
        assert_eq!(again, labels);
    }

    #[test]
    fn new_labels_write_excel_order() {
        let l = MsipLabel::new(
            "2096f6a2-d2f7-48be-b329-b73aaa526e5d",
            "cb46c030-1825-4e81-a295-151c039dbf02",
            "Confidential",
            Method::Privileged,
        );
        let keys: Vec<String> = l.to_pairs().into_iter().map(|(k, _)| k[48..].to_string()).collect();
        assert_eq!(keys, ["Enabled", "SetDate", "Method", "Name", "SiteId", "ActionId", "ContentBits"]);
        let date = l.set_date.unwrap();
        assert!(date.ends_with('Z') && date.len() == 20, "{date}");
    }
}
