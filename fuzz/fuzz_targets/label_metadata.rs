//! The label codecs: the fuzzed bytes become the label-bearing part of a valid document
//! (custom.xml, LabelInfo.xml, ODF meta.xml, a mail header block, the DocumentSummaryInformation
//! stream of a .doc) or the whole file, chosen by the first byte. Whatever reads, must rewrite, and the rewrite must read back the new label.
#![no_main]

use mamori_label::{read_bytes, relabel_bytes, Metadata, Method, MsipLabel};
use std::io::Write;
use zip::write::SimpleFileOptions;

const DOCX: &str = "<Types><Override PartName=\"/word/document.xml\" \
    ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>";
const RELS: &str = "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"/>";
const SITE: &str = "c37a12d5-f566-419a-bb33-0d631118fd5e";

fn package(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in parts {
        zip.start_file(*name, opts).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A compound file that reads as a Word 97-2003 document, with `props` as its
/// DocumentSummaryInformation stream.
fn compound(props: &[u8]) -> Vec<u8> {
    let mut cf = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).unwrap();
    cf.create_stream("/WordDocument").unwrap().write_all(&[0xEC, 0xA5, 0, 0]).unwrap();
    cf.create_stream("/\u{5}DocumentSummaryInformation").unwrap().write_all(props).unwrap();
    cf.flush().unwrap();
    cf.into_inner().into_inner()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let doc = match which % 6 {
        0 => package(&[("[Content_Types].xml", DOCX.as_bytes()), ("_rels/.rels", RELS.as_bytes()), ("docProps/custom.xml", rest)]),
        1 => package(&[("[Content_Types].xml", DOCX.as_bytes()), ("docMetadata/LabelInfo.xml", rest)]),
        2 => package(&[("mimetype", b"application/vnd.oasis.opendocument.text"), ("meta.xml", rest)]),
        3 => [b"From: a@example.com\nTo: b@example.com\nSubject: s\n".as_slice(), rest].concat(),
        5 => compound(rest),
        _ => rest.to_vec(),
    };
    if read_bytes(&doc).is_err() {
        return;
    }
    let label = MsipLabel::new("0f57ecdd-7847-409e-973a-2864fb8938a6", SITE, "Restricted", Method::Standard);
    let metadata = [Metadata::Auto, Metadata::LabelInfo, Metadata::Both][which as usize / 6 % 3];
    let Ok(out) = relabel_bytes(&doc, SITE, Some(&label), metadata) else { return };
    let back = read_bytes(&out).expect("a rewritten document reads");
    assert!(
        back.iter().any(|f| f.label.id == label.id && f.label.site_id == SITE && f.label.enabled),
        "the new label reads back: {back:?}"
    );
});
