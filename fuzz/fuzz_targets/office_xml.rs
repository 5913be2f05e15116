//! The XML readers of Word, Excel, PowerPoint and OpenDocument: the fuzzed bytes become one
//! part of a valid package, chosen by the first byte.
#![no_main]
#[path = "common.rs"]
mod common;

use std::io::Write;
use zip::write::SimpleFileOptions;

const WORD: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml";
const EXCEL: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml";
const SLIDES: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml";

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&which, xml)) = data.split_first() else { return };
    let (content_type, parts): (Option<&str>, &[&str]) = match which % 6 {
        0 => (Some(WORD), &["word/document.xml"]),
        1 => (Some(WORD), &["word/document.xml", "word/footer1.xml"]),
        2 => (Some(EXCEL), &["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/workbook.xml"]),
        3 => (Some(SLIDES), &["ppt/slides/slide1.xml", "ppt/presentation.xml", "ppt/_rels/presentation.xml.rels"]),
        4 => (None, &["content.xml"]),
        _ => (Some(EXCEL), &["xl/workbook.xml", "xl/_rels/workbook.xml.rels"]),
    };
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    match content_type {
        Some(ct) => {
            zip.start_file("[Content_Types].xml", opts).unwrap();
            write!(zip, "<Types><Override PartName=\"/x\" ContentType=\"{ct}\"/></Types>").unwrap();
        }
        None => {
            zip.start_file("mimetype", opts).unwrap();
            zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet").unwrap();
        }
    }
    for part in parts {
        zip.start_file(*part, opts).unwrap();
        zip.write_all(xml).unwrap();
    }
    common::run(&zip.finish().unwrap().into_inner())
});
