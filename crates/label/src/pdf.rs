//! Labels in PDF: `MSIP_Label_<id>_<Attr>` entries of the document Info dictionary, as the MIP
//! SDK writes them, mirrored in the XMP packet (`pdfx:` namespace). A rewrite is an
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

const PDFX_NS: &str = "http://ns.adobe.com/pdfx/1.3/";

/// The XMP packet of the document catalog: its object id and text.
fn xmp(doc: &Document) -> Option<(lopdf::ObjectId, String)> {
    let id = doc.catalog().ok()?.get(b"Metadata").ok()?.as_reference().ok()?;
    let stream = doc.get_object(id).ok()?.as_stream().ok()?;
    let content = stream.decompressed_content().unwrap_or_else(|_| stream.content.clone());
    Some((id, String::from_utf8_lossy(&content).into_owned()))
}

/// `pdfx:MSIP_Label_*` elements or attributes of the XMP packet.
fn xmp_pairs(doc: &Document) -> Vec<(String, String)> {
    let Some((_, text)) = xmp(doc) else { return Vec::new() };
    let Ok(els) = xml::elements(&text) else { return Vec::new() };
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

/// A PDF parser can loop on hostile input: each read or rewrite runs on its own thread and is
/// given up after this long.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

fn bounded<T: Send + 'static>(
    data: &[u8],
    f: impl FnOnce(&[u8]) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let data = data.to_vec();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("pdf-label".into())
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&data)));
            let _ = tx.send(r);
        })
        .map_err(|e| Error::Corrupt { reason: format!("PDF: cannot start a reader: {e}") })?;
    match rx.recv_timeout(TIMEOUT) {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => Err(Error::Corrupt { reason: "PDF: malformed (the parser gave up)".into() }),
        Err(_) => Err(Error::Corrupt { reason: format!("PDF: not read within {} s", TIMEOUT.as_secs()) }),
    }
}

pub(crate) fn read(data: &[u8]) -> Result<Vec<Found>, Error> {
    bounded(data, read_now)
}

pub(crate) fn write(data: &[u8], change: &Change) -> Result<Vec<u8>, Error> {
    let change = change.clone();
    bounded(data, move |data| write_now(data, &change))
}

fn read_now(data: &[u8]) -> Result<Vec<Found>, Error> {
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

fn write_now(data: &[u8], change: &Change) -> Result<Vec<u8>, Error> {
    let doc = load(data)?;
    let (info_id, mut dict) = match info(&doc) {
        Some((id, d)) => (id, d.clone()),
        None => (None, Dictionary::new()),
    };
    let drops = |k: &[u8]| change.drops(&String::from_utf8_lossy(k));
    let keys: Vec<Vec<u8>> = dict.iter().map(|(k, _)| k.clone()).filter(|k| drops(k)).collect();
    for k in keys {
        dict.remove(&k);
    }
    let pairs = change.label.as_ref().map(MsipLabel::to_pairs).unwrap_or_default();
    for (k, v) in &pairs {
        dict.set(k.as_bytes(), lopdf::text_string(v));
    }
    let old_xmp = xmp(&doc);
    let new_xmp = match &old_xmp {
        Some((_, text)) => {
            xml::elements(text).ok().and_then(|els| xmp_rewrite(text, &els, &|k| change.drops(k), &pairs))
        }
        None if !pairs.is_empty() => Some(xmp_packet(&pairs)),
        None => None,
    };
    let catalog_id = doc.trailer.get(b"Root").and_then(Object::as_reference).ok();
    let mut inc = IncrementalDocument::create_from(data.to_vec(), doc);
    if let Some(packet) = new_xmp {
        let mut dict = Dictionary::new();
        dict.set("Type", Object::Name(b"Metadata".to_vec()));
        dict.set("Subtype", Object::Name(b"XML".to_vec()));
        let stream = Object::Stream(lopdf::Stream::new(dict, packet.into_bytes()));
        match (&old_xmp, catalog_id) {
            (Some((id, _)), _) => {
                inc.new_document.objects.insert(*id, stream);
            }
            (None, Some(root)) => {
                let id = inc.new_document.add_object(stream);
                inc.opt_clone_object_to_new_document(root).map_err(corrupt)?;
                if let Ok(Object::Dictionary(cat)) = inc.new_document.get_object_mut(root) {
                    cat.set("Metadata", Object::Reference(id));
                }
            }
            (None, None) => {}
        }
    }
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

/// A minimal XMP packet holding only the label, for a PDF that has none.
fn xmp_packet(pairs: &[(String, String)]) -> String {
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\
         <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
         <rdf:Description rdf:about=\"\" xmlns:pdfx=\"{PDFX_NS}\">{}</rdf:Description></rdf:RDF></x:xmpmeta>\n\
         <?xpacket end=\"w\"?>",
        pdfx_elements("pdfx", pairs)
    )
}

fn pdfx_elements(prefix: &str, pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("<{prefix}:{k}>{}</{prefix}:{k}>", xml::escape(v))).collect()
}

/// The packet without the dropped `MSIP_Label_*` elements and with `pairs` added to its first
/// `rdf:Description`; `None` when there is nothing to change.
fn xmp_rewrite(
    text: &str,
    els: &[xml::Elem],
    drops: &dyn Fn(&str) -> bool,
    pairs: &[(String, String)],
) -> Option<String> {
    let gone: Vec<&xml::Elem> = els.iter().filter(|e| drops(xml::local(&e.name))).collect();
    let desc = els.iter().find(|e| e.local() == "Description")?;
    if gone.is_empty() && pairs.is_empty() {
        return None;
    }
    let declared = els.iter().find_map(|e| xml::prefix_of(e, PDFX_NS)).filter(|p| !p.is_empty());
    let prefix = declared.unwrap_or("pdfx");
    let mut insert = pdfx_elements(prefix, pairs);
    let mut out = String::with_capacity(text.len() + insert.len() + 64);
    let mut at = 0;
    let mut cuts: Vec<(usize, usize, String)> = gone.iter().map(|e| (e.start, e.end, String::new())).collect();
    if desc.open_end == desc.end {
        // <rdf:Description .../>: open it up.
        let open = xml::open_of_empty(text, desc);
        let ns = if declared.is_none() { format!(" xmlns:pdfx=\"{PDFX_NS}\"") } else { String::new() };
        insert = format!("{open}{ns}>{insert}</{}>", desc.name);
        cuts.push((desc.start, desc.end, insert));
    } else {
        if declared.is_none() {
            let open_close = desc.open_end - 1;
            cuts.push((open_close, open_close, format!(" xmlns:pdfx=\"{PDFX_NS}\"")));
        }
        cuts.push((desc.close_start, desc.close_start, insert));
    }
    cuts.sort_by_key(|c| (c.0, c.1));
    for (start, end, with) in cuts {
        if start < at {
            continue; // nested inside something already cut
        }
        out.push_str(&text[at..start]);
        out.push_str(&with);
        at = end;
    }
    out.push_str(&text[at..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "78ab9bef-b96b-42fe-8644-935081610f8a";

    fn pairs(name: &str) -> Vec<(String, String)> {
        vec![(format!("MSIP_Label_{ID}_Name"), name.to_string())]
    }

    fn rewrite(text: &str, p: &[(String, String)]) -> Option<String> {
        let els = xml::elements(text).unwrap();
        xmp_rewrite(text, &els, &|k| meta::is_key_of(k, ID), p)
    }

    #[test]
    fn xmp_gains_replaces_and_loses_the_label() {
        let pdfa = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"r\"><rdf:Description rdf:about=\"\" \
                    xmlns:pdfaid=\"a\"><pdfaid:part>2</pdfaid:part></rdf:Description></rdf:RDF></x:xmpmeta>";
        let one = rewrite(pdfa, &pairs("A&B")).unwrap();
        assert!(
            one.contains(&format!(
                "xmlns:pdfx=\"{PDFX_NS}\"><pdfaid:part>2</pdfaid:part><pdfx:MSIP_Label_{ID}_Name>A&amp;B</pdfx:"
            )),
            "{one}"
        );
        let two = rewrite(&one, &pairs("C")).unwrap();
        assert_eq!(two.matches("MSIP_Label_").count(), 2, "one element, replaced: {two}");
        let none = rewrite(&two, &[]).unwrap();
        assert!(!none.contains("MSIP_Label_") && none.contains("<pdfaid:part>2</pdfaid:part>"), "{none}");
        let empty = "<rdf:RDF xmlns:rdf=\"r\"><rdf:Description rdf:about=\"\"/></rdf:RDF>";
        let filled = rewrite(empty, &pairs("D")).unwrap();
        let els = xml::elements(&filled).unwrap();
        assert!(els.iter().any(|e| e.text == "D"), "{filled}");
        let read: Vec<_> =
            xml::elements(&xmp_packet(&pairs("E"))).unwrap().into_iter().filter(|e| e.text == "E").collect();
        assert_eq!(read.len(), 1);
    }
}
