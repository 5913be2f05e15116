//! Labels in Office Open XML packages (docx/xlsx/pptx and macro-enabled forms): the
//! `MSIP_Label_*` custom properties in `docProps/custom.xml`, and the `docMetadata/LabelInfo.xml`
//! part ([MS-OFFCRYPTO] 2.6). A rewrite copies every member it does not change byte for byte.

use crate::meta::{self, Method, MsipLabel};
use crate::xml::{self, Elem};
use crate::{Change, Error, Found, Metadata, Store};
use std::io::{Cursor, Read, Write};
use zip::write::SimpleFileOptions;
use zip::ZipArchive;

const CUSTOM_REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties";
const CUSTOM_CT: &str = "application/vnd.openxmlformats-officedocument.custom-properties+xml";
const CUSTOM_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties";
const VT_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes";
/// The fmtid of user-defined properties.
const FMTID: &str = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}";
const LABELINFO_REL: &str = "http://schemas.microsoft.com/office/2020/02/relationships/classificationlabels";
/// What Office writes; readers also accept `application/xml`.
const LABELINFO_CT: &str = "application/vnd.ms-office.classificationlabels+xml";
const LABELINFO_NS: &str = "http://schemas.microsoft.com/office/2020/mipLabelMetadata";
/// Metadata parts are small; anything bigger is not one.
const MAX_PART: u64 = 16 << 20;

pub(crate) type Zip<'a> = ZipArchive<Cursor<&'a [u8]>>;

pub(crate) fn open(data: &[u8]) -> Result<Zip<'_>, Error> {
    ZipArchive::new(Cursor::new(data)).map_err(|e| Error::Corrupt { reason: format!("not a readable zip: {e}") })
}

fn part(zip: &mut Zip, name: &str) -> Result<Option<String>, Error> {
    let Ok(mut f) = zip.by_name(name) else { return Ok(None) };
    if f.size() > MAX_PART {
        return Err(Error::Corrupt { reason: format!("{name} is {} bytes, too big for a metadata part", f.size()) });
    }
    let mut s = String::new();
    f.by_ref().take(MAX_PART).read_to_string(&mut s).map_err(|e| Error::Corrupt { reason: format!("{name}: {e}") })?;
    Ok(Some(s))
}

fn parse(name: &str, xml: &str) -> Result<Vec<Elem>, Error> {
    xml::elements(xml).map_err(|e| Error::Corrupt { reason: format!("{name}: {e}") })
}

/// Package parts named by the package relationships, by type.
fn package_target(rels: Option<&[Elem]>, rel_type: &str, fallback: &str) -> String {
    rels.into_iter()
        .flatten()
        .find(|e| e.local() == "Relationship" && e.attr("Type") == Some(rel_type))
        .and_then(|e| e.attr("Target"))
        .map(|t| t.trim_start_matches('/').to_string())
        .unwrap_or_else(|| fallback.to_string())
}

/// The current package state needed to read or rewrite labels.
struct Package {
    rels: Option<String>,
    custom_name: String,
    custom: Option<String>,
    labelinfo_name: String,
    labelinfo: Option<String>,
}

fn load(zip: &mut Zip) -> Result<Package, Error> {
    if zip.by_name("[Content_Types].xml").is_err() {
        return Err(Error::Corrupt { reason: "no [Content_Types].xml: not an Office Open XML package".into() });
    }
    let rels = part(zip, "_rels/.rels")?;
    let rel_elems = rels.as_deref().map(|r| parse("_rels/.rels", r)).transpose()?;
    let custom_name = package_target(rel_elems.as_deref(), CUSTOM_REL, "docProps/custom.xml");
    let labelinfo_name = package_target(rel_elems.as_deref(), LABELINFO_REL, "docMetadata/LabelInfo.xml");
    let custom = part(zip, &custom_name)?;
    let labelinfo = part(zip, &labelinfo_name)?;
    Ok(Package { rels, custom_name, custom, labelinfo_name, labelinfo })
}

/// Custom properties: (name, value) of every property.
fn custom_properties(xml: &str) -> Result<Vec<(String, String)>, Error> {
    let els = parse("docProps/custom.xml", xml)?;
    let mut out = Vec::new();
    for (i, e) in els.iter().enumerate() {
        if e.local() == "property" && e.depth == 1 {
            let value =
                els[i + 1..].iter().take_while(|c| c.start < e.end).map(|c| c.text.as_str()).collect::<String>();
            out.push((e.attr("name").unwrap_or_default().to_string(), value));
        }
    }
    Ok(out)
}

fn labelinfo_labels(xml: &str) -> Result<Vec<MsipLabel>, Error> {
    let els = parse("docMetadata/LabelInfo.xml", xml)?;
    let mut out = Vec::new();
    for e in els.iter().filter(|e| e.local() == "label") {
        let bool_attr = |k: &str| matches!(e.attr(k).map(str::trim), Some("1" | "true"));
        let Some(id) = e.attr("id") else { continue };
        let mut l = MsipLabel::empty(meta::guid(id).unwrap_or_else(|| id.to_ascii_lowercase()));
        l.enabled = bool_attr("enabled");
        l.removed = bool_attr("removed");
        l.method = e.attr("method").and_then(Method::parse);
        l.site_id = e.attr("siteId").and_then(meta::guid).unwrap_or_default();
        l.content_bits = e.attr("contentBits").and_then(|b| b.trim().parse().ok());
        out.push(l);
    }
    Ok(out)
}

/// Reads both locations. LabelInfo wins for every tenant (site) it mentions, tombstones included
/// ([MS-OFFCRYPTO] 2.6.3); custom.xml fills in the others.
pub(crate) fn read(data: &[u8]) -> Result<Vec<Found>, Error> {
    let mut zip = open(data)?;
    let pkg = load(&mut zip)?;
    read_package(&pkg)
}

fn read_package(pkg: &Package) -> Result<Vec<Found>, Error> {
    let mut found: Vec<Found> = Vec::new();
    if let Some(li) = &pkg.labelinfo {
        found.extend(labelinfo_labels(li)?.into_iter().map(|label| Found { label, store: Store::LabelInfo }));
    }
    if let Some(c) = &pkg.custom {
        let props = custom_properties(c)?;
        let labels = MsipLabel::from_pairs(props.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        for label in labels {
            if !found.iter().any(|f| f.store == Store::LabelInfo && f.label.site_id == label.site_id) {
                found.push(Found { label, store: Store::CustomXml });
            }
        }
    }
    Ok(found)
}

/// Applies `change` and returns the new package.
pub(crate) fn write(data: &[u8], change: &Change) -> Result<Vec<u8>, Error> {
    let mut zip = open(data)?;
    let pkg = load(&mut zip)?;
    let current = read_package(&pkg)?;
    let ours_in_labelinfo = current.iter().any(|f| f.store == Store::LabelInfo && f.label.site_id == change.site_id);
    let (to_custom, to_labelinfo) = match change.metadata {
        Metadata::Custom => (true, false),
        Metadata::LabelInfo => (false, true),
        Metadata::Both => (true, true),
        // Where the tenant's label already is (2.6.3), else where Office has always looked.
        Metadata::Auto => (!ours_in_labelinfo, ours_in_labelinfo),
    };
    let mut replaced: Vec<(String, String)> = Vec::new();
    let mut content_types = part(&mut zip, "[Content_Types].xml")?.unwrap_or_default();
    let mut rels = pkg.rels.clone().unwrap_or_else(|| {
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"></Relationships>".to_string()
    });
    let mut rels_changed = false;

    // Labels of this tenant, anywhere: their keys go.
    let custom_has_ours = pkg
        .custom
        .as_deref()
        .map(custom_properties)
        .transpose()?
        .is_some_and(|p| p.iter().any(|(k, _)| change.drops(k)));
    if (to_custom && change.label.is_some()) || custom_has_ours {
        let new = change.label.as_ref().filter(|_| to_custom);
        let xml = custom_xml(pkg.custom.as_deref(), change, new)?;
        if pkg.custom.is_none() {
            content_types = ensure_override(&content_types, &pkg.custom_name, CUSTOM_CT)?;
            rels = ensure_rel(&rels, CUSTOM_REL, &pkg.custom_name)?;
            rels_changed = true;
        }
        replaced.push((pkg.custom_name.clone(), xml));
    }
    if to_labelinfo || pkg.labelinfo.is_some() && ours_in_labelinfo {
        let mut labels: Vec<MsipLabel> = match &pkg.labelinfo {
            Some(li) => labelinfo_labels(li)?,
            None => Vec::new(),
        };
        labels.retain(|l| l.site_id != change.site_id);
        match &change.label {
            Some(l) if to_labelinfo => labels.push(l.clone()),
            // The label moves to custom.xml: LabelInfo must not shadow it.
            Some(_) => {}
            // A tombstone keeps readers from falling back to custom.xml for this tenant.
            None => {
                let mut t = MsipLabel::empty(change.site_id.clone());
                t.site_id = change.site_id.clone();
                t.method = Some(Method::Standard);
                t.removed = true;
                labels.push(t);
            }
        }
        if pkg.labelinfo.is_none() {
            content_types = ensure_override(&content_types, &pkg.labelinfo_name, LABELINFO_CT)?;
            rels = ensure_rel(&rels, LABELINFO_REL, &pkg.labelinfo_name)?;
            rels_changed = true;
        }
        replaced.push((pkg.labelinfo_name.clone(), labelinfo_xml(&labels)));
    }
    if rels_changed {
        replaced.push(("_rels/.rels".into(), rels));
        replaced.push(("[Content_Types].xml".into(), content_types));
    }
    rebuild(&mut zip, replaced)
}

/// Writes every member: replaced ones deflated anew, the others raw-copied; new parts last.
pub(crate) fn rebuild(zip: &mut Zip, mut replaced: Vec<(String, String)>) -> Result<Vec<u8>, Error> {
    let corrupt = |e: zip::result::ZipError| Error::Corrupt { reason: e.to_string() };
    let mut out =
        zip::ZipWriter::new(Cursor::new(Vec::with_capacity(zip.decompressed_size().unwrap_or(0) as usize / 2)));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let write_err = |e: std::io::Error| Error::Corrupt { reason: format!("writing the package: {e}") };
    for i in 0..zip.len() {
        let name = zip.name_for_index(i).and_then(Result::ok).map(|n| n.to_string()).unwrap_or_default();
        if let Some(at) = replaced.iter().position(|(n, _)| *n == name) {
            let (_, content) = replaced.remove(at);
            out.start_file(name, options).map_err(corrupt)?;
            out.write_all(content.as_bytes()).map_err(write_err)?;
        } else {
            let member = zip.by_index_raw(i).map_err(corrupt)?;
            out.raw_copy_file(member).map_err(corrupt)?;
        }
    }
    for (name, content) in replaced {
        out.start_file(name, options).map_err(corrupt)?;
        out.write_all(content.as_bytes()).map_err(write_err)?;
    }
    Ok(out.finish().map_err(corrupt)?.into_inner())
}

/// custom.xml without the keys `change` drops, plus `new`'s keys. Other properties keep
/// their bytes and pids.
fn custom_xml(existing: Option<&str>, change: &Change, new: Option<&MsipLabel>) -> Result<String, Error> {
    let fresh = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<Properties xmlns=\"{CUSTOM_NS}\" xmlns:vt=\"{VT_NS}\"></Properties>"
    );
    let xml = existing.unwrap_or(&fresh);
    let els = parse("docProps/custom.xml", xml)?;
    let root =
        els.iter().find(|e| e.depth == 0).ok_or(Error::Corrupt { reason: "docProps/custom.xml is empty".into() })?;
    let vt = match xml::prefix_of(root, VT_NS) {
        Some("") => String::new(),
        Some(p) => format!("{p}:"),
        None => "vt:".into(),
    };
    let props: Vec<&Elem> = els.iter().filter(|e| e.depth == 1 && e.local() == "property").collect();
    let mut pid = props.iter().filter_map(|e| e.attr("pid")?.parse::<u32>().ok()).max().unwrap_or(1);
    let mut body = String::new();
    for e in &props {
        if !change.drops(e.attr("name").unwrap_or_default()) {
            body.push_str(&xml[e.start..e.end]);
        }
    }
    for (k, v) in new.map(MsipLabel::to_pairs).unwrap_or_default() {
        pid += 1;
        body.push_str(&format!(
            "<property fmtid=\"{FMTID}\" pid=\"{pid}\" name=\"{}\"><{vt}lpwstr>{}</{vt}lpwstr></property>",
            xml::escape(&k),
            xml::escape(&v)
        ));
    }
    let head = if root.open_end == root.end {
        let open = xml::open_of_empty(xml, root);
        format!("{}{open}>", &xml[..root.start])
    } else {
        xml[..props.first().map_or(root.close_start, |p| p.start).max(root.open_end)].to_string()
    };
    Ok(format!("{head}{body}</{}>", root.name))
}

/// LabelInfo.xml as Office writes it: braces and lowercase GUIDs, `1`/`0` booleans, attributes
/// in schema order.
fn labelinfo_xml(labels: &[MsipLabel]) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?>\r\n<clbl:labelList xmlns:clbl=\"{LABELINFO_NS}\">"
    );
    for l in labels {
        let b = |v: bool| if v { "1" } else { "0" };
        s.push_str(&format!(
            "<clbl:label id=\"{{{}}}\" enabled=\"{}\" method=\"{}\" siteId=\"{{{}}}\"",
            l.id,
            b(l.enabled && !l.removed),
            l.method.unwrap_or(Method::Standard).as_str(),
            l.site_id
        ));
        if let Some(bits) = l.content_bits {
            s.push_str(&format!(" contentBits=\"{bits}\""));
        }
        s.push_str(&format!(" removed=\"{}\" />", b(l.removed)));
    }
    s.push_str("</clbl:labelList>");
    s
}

fn ensure_override(types: &str, part: &str, content_type: &str) -> Result<String, Error> {
    let part_name = format!("/{part}");
    let els = parse("[Content_Types].xml", types)?;
    if els
        .iter()
        .any(|e| e.local() == "Override" && e.attr("PartName").is_some_and(|p| p.eq_ignore_ascii_case(&part_name)))
    {
        return Ok(types.to_string());
    }
    let root =
        els.iter().find(|e| e.depth == 0).ok_or(Error::Corrupt { reason: "[Content_Types].xml is empty".into() })?;
    let add = format!("<Override PartName=\"{}\" ContentType=\"{content_type}\"/>", xml::escape(&part_name));
    Ok(xml::append_to_root(types, root, &add))
}

fn ensure_rel(rels: &str, rel_type: &str, target: &str) -> Result<String, Error> {
    let els = parse("_rels/.rels", rels)?;
    if els.iter().any(|e| e.local() == "Relationship" && e.attr("Type") == Some(rel_type)) {
        return Ok(rels.to_string());
    }
    let ids: Vec<&str> = els.iter().filter_map(|e| e.attr("Id")).collect();
    let id = (1..).map(|n| format!("rId{n}")).find(|id| !ids.contains(&id.as_str())).expect("a free id");
    let root = els.iter().find(|e| e.depth == 0).ok_or(Error::Corrupt { reason: "_rels/.rels is empty".into() })?;
    let add = format!("<Relationship Id=\"{id}\" Type=\"{rel_type}\" Target=\"{}\"/>", xml::escape(target));
    Ok(xml::append_to_root(rels, root, &add))
}
