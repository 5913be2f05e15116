//! Labels in OpenDocument files: user-defined properties in `meta.xml` with the same
//! `MSIP_Label_<id>_<Attr>` names (`<meta:user-defined meta:name="...">`), which LibreOffice
//! shows under File ▸ Properties ▸ Custom Properties.

use crate::meta::MsipLabel;
use crate::ooxml::{open, Zip};
use crate::xml;
use crate::{Change, Error, Found, Store};
use std::io::Read;

const META_NS: &str = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0";
const MAX_PART: u64 = 16 << 20;

fn meta_xml(data: &[u8]) -> Result<(Zip<'_>, String), Error> {
    let mut zip = open(data)?;
    let mut s = String::new();
    {
        let f = zip
            .by_name("meta.xml")
            .map_err(|_| Error::Corrupt { reason: "no meta.xml in the OpenDocument package".into() })?;
        f.take(MAX_PART).read_to_string(&mut s).map_err(|e| Error::Corrupt { reason: format!("meta.xml: {e}") })?;
    }
    Ok((zip, s))
}

fn user_defined(els: &[xml::Elem]) -> impl Iterator<Item = &xml::Elem> {
    els.iter().filter(|e| e.local() == "user-defined")
}

pub(crate) fn read(data: &[u8]) -> Result<Vec<Found>, Error> {
    let (_, s) = meta_xml(data)?;
    let els = xml::elements(&s).map_err(|e| Error::Corrupt { reason: format!("meta.xml: {e}") })?;
    let pairs: Vec<(&str, &str)> =
        user_defined(&els).filter_map(|e| Some((e.attr("name")?, e.text.as_str()))).collect();
    Ok(MsipLabel::from_pairs(pairs).into_iter().map(|label| Found { label, store: Store::OdfMeta }).collect())
}

pub(crate) fn write(data: &[u8], change: &Change) -> Result<Vec<u8>, Error> {
    let (mut zip, s) = meta_xml(data)?;
    let els = xml::elements(&s).map_err(|e| Error::Corrupt { reason: format!("meta.xml: {e}") })?;
    let root = els.iter().find(|e| e.depth == 0).ok_or(Error::Corrupt { reason: "meta.xml is empty".into() })?;
    let p = match xml::prefix_of(root, META_NS) {
        Some("") => String::new(),
        Some(p) => format!("{p}:"),
        None => return Err(Error::Corrupt { reason: "meta.xml does not declare the meta namespace".into() }),
    };
    let office_meta = els
        .iter()
        .find(|e| e.depth == 1 && e.local() == "meta")
        .ok_or(Error::Corrupt { reason: "meta.xml has no office:meta element".into() })?;
    // Cut the old label's properties out, back to front so spans stay valid.
    let mut out = s.clone();
    let gone: Vec<&xml::Elem> =
        user_defined(&els).filter(|e| e.attr("name").is_some_and(|n| change.drops(n))).collect();
    for e in gone.iter().rev() {
        out.replace_range(e.start..e.end, "");
    }
    let removed: usize = gone.iter().filter(|e| e.end <= office_meta.close_start).map(|e| e.end - e.start).sum();
    let mut insert = String::new();
    for (k, v) in change.label.as_ref().map(MsipLabel::to_pairs).unwrap_or_default() {
        insert.push_str(&format!(
            "<{p}user-defined {p}name=\"{}\">{}</{p}user-defined>",
            xml::escape(&k),
            xml::escape(&v)
        ));
    }
    let out = if office_meta.open_end == office_meta.end {
        let open = xml::open_of_empty(&s, office_meta);
        let at = office_meta.start
            - gone.iter().filter(|e| e.end <= office_meta.start).map(|e| e.end - e.start).sum::<usize>();
        let len = office_meta.end - office_meta.start;
        format!("{}{open}>{insert}</{}>{}", &out[..at], office_meta.name, &out[at + len..])
    } else {
        let at = office_meta.close_start - removed;
        format!("{}{insert}{}", &out[..at], &out[at..])
    };
    crate::ooxml::rebuild(&mut zip, vec![("meta.xml".into(), out)])
}
