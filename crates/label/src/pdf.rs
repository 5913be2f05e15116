//! Labels in PDF: `MSIP_Label_<id>_<Attr>` entries of the document Info dictionary, as the MIP
//! SDK writes them, also read from the XMP packet (`pdfx:` namespace). A rewrite is an
//! incremental update (ISO 32000 7.5.6): the original bytes stay as they were and a new Info
//! dictionary is appended after them, so signatures over earlier revisions stay valid.

use crate::meta::{self, MsipLabel};
use crate::{xml, Change, Error, Found, Store};
use lopdf::{Dictionary, Document, IncrementalDocument, Object};

fn corrupt(e: lopdf::Error) -> Error {
    Error::Corrupt { reason: format!("PDF: {e}") }
}

fn info(doc: &Document) -> Option<(Option<lopdf::ObjectId>, &Dictionary)> {
    match doc.trailer.get(b"Info").ok()? {
        Object::Reference(id) => doc.get_dictionary(*id).ok().map(|d| (Some(*id), d)),
        Object::Dictionary(d) => Some((None, d)),
        _ => None,
    }
}

fn info_pairs(d: &Dictionary) -> Vec<(String, String)> {
    d.iter()
        .filter(|(k, _)| k.starts_with(meta::PREFIX.as_bytes()))
        .filter_map(|(k, v)| Some((String::from_utf8_lossy(k).into_owned(), lopdf::decode_text_string(v).ok()?)))
        .collect()
}

/// `pdfx:MSIP_Label_*` elements or attributes of the XMP packet.
fn xmp_pairs(doc: &Document) -> Vec<(String, String)> {
    let Some(stream) = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"Metadata").ok())
        .and_then(|m| m.as_reference().ok())
        .and_then(|id| doc.get_object(id).ok())
        .and_then(|o| o.as_stream().ok())
    else {
        return Vec::new();
    };
    let content = stream.decompressed_content().unwrap_or_else(|_| stream.content.clone());
    let text = String::from_utf8_lossy(&content);
    let Ok(els) = xml::elements(text.trim_start_matches('\u{feff}')) else { return Vec::new() };
    let mut out = Vec::new();
    for e in &els {
        if xml::local(&e.name).starts_with(meta::PREFIX) {
            out.push((xml::local(&e.name).to_string(), e.text.trim().to_string()));
        }
        for (k, v) in &e.attrs {
            if xml::local(k).starts_with(meta::PREFIX) {
                out.push((xml::local(k).to_string(), v.clone()));
            }
        }
    }
    out
}

fn load(data: &[u8]) -> Result<Document, Error> {
    let doc = Document::load_mem(data).map_err(corrupt)?;
    if doc.is_encrypted() || doc.was_encrypted() {
        return Err(Error::Unsupported {
            format: "pdf".into(),
            reason: "the PDF is encrypted; its metadata cannot be changed without its password".into(),
        });
    }
    Ok(doc)
}

pub(crate) fn read(data: &[u8]) -> Result<Vec<Found>, Error> {
    let doc = Document::load_mem(data).map_err(corrupt)?;
    let from_info = info(&doc).map(|(_, d)| info_pairs(d)).unwrap_or_default();
    let mut found: Vec<Found> = MsipLabel::from_pairs(from_info.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .into_iter()
        .map(|label| Found { label, store: Store::PdfInfo })
        .collect();
    let from_xmp = xmp_pairs(&doc);
    for label in MsipLabel::from_pairs(from_xmp.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        if !found.iter().any(|f| f.label.id == label.id) {
            found.push(Found { label, store: Store::Xmp });
        }
    }
    Ok(found)
}

pub(crate) fn write(data: &[u8], change: &Change, ours: &[&str]) -> Result<Vec<u8>, Error> {
    let doc = load(data)?;
    let (info_id, mut dict) = match info(&doc) {
        Some((id, d)) => (id, d.clone()),
        None => (None, Dictionary::new()),
    };
    let drops = |k: &[u8]| {
        let k = String::from_utf8_lossy(k);
        ours.iter().chain(change.label.map(|l| l.id.as_str()).as_ref()).any(|id| meta::is_key_of(&k, id))
    };
    let keys: Vec<Vec<u8>> = dict.iter().map(|(k, _)| k.clone()).filter(|k| drops(k)).collect();
    for k in keys {
        dict.remove(&k);
    }
    for (k, v) in change.label.map(MsipLabel::to_pairs).unwrap_or_default() {
        dict.set(k.into_bytes(), lopdf::text_string(&v));
    }
    let mut inc = IncrementalDocument::create_from(data.to_vec(), doc);
    match info_id {
        Some(id) => {
            inc.new_document.objects.insert(id, Object::Dictionary(dict));
        }
        None => {
            let id = inc.new_document.add_object(Object::Dictionary(dict));
            inc.new_document.trailer.set("Info", Object::Reference(id));
        }
    }
    let mut out = Vec::with_capacity(data.len() + 1024);
    inc.save_to(&mut out).map_err(|e| Error::Corrupt { reason: format!("PDF: {e}") })?;
    Ok(out)
}
