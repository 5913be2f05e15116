//! Objects embedded in Office files come out as nested items, under their part name.

use mamori_extract::{extract, Budget, Error, Limits, Sink, TextOptions, Window};
use std::io::{Cursor, Write};
use std::path::Path;

struct Members(Vec<(String, usize)>);

impl Sink for Members {
    fn window(&mut self, _: &Window) {}
    fn member(&mut self, name: &str, data: Result<Vec<u8>, Error>, _: &Budget) {
        self.0.push((name.to_string(), data.expect("member expands").len()));
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus/share/office").join(name)).unwrap()
}

#[test]
fn a_workbook_embedded_in_a_word_document_is_a_nested_item() {
    let docx = fixture("hr-list.docx");
    let xlsx = fixture("payroll.xlsx");
    // the Word document as Word stores an embedded workbook: a part under word/embeddings/
    let mut src = zip::ZipArchive::new(Cursor::new(&docx[..])).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..src.len() {
        out.raw_copy_file(src.by_index_raw(i).unwrap()).unwrap();
    }
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    out.start_file("word/embeddings/Microsoft_Excel_Worksheet.xlsx", opts).unwrap();
    out.write_all(&xlsx).unwrap();
    let data = out.finish().unwrap().into_inner();

    let mut sink = Members(Vec::new());
    let budget = Budget::new(Limits::default());
    let x = extract(&data, &TextOptions::default(), &budget, &mut sink).unwrap();
    assert_eq!(x.format, "docx");
    assert_eq!(sink.0, vec![("word/embeddings/Microsoft_Excel_Worksheet.xlsx".to_string(), xlsx.len())]);
}
