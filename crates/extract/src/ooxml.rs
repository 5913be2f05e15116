//! Word, Excel and PowerPoint (OOXML): the parts a person reads, each as one window named by
//! its part, cells and slides marked; embedded objects as nested items.

use crate::archive::{open_zip, resolve, utf8, zip_named, Zip};
use crate::xml::{attr, walk, Node, TextBuf};
use crate::{Cx, Error, Format};
use std::collections::HashMap;

pub(crate) fn extract(data: &[u8], format: Format, cx: &mut Cx) -> Result<(), Error> {
    let mut zip = open_zip(data, cx.budget)?;
    let names: Vec<String> = zip.file_names().flatten().map(|n| n.into_owned()).collect();
    match format {
        Format::Docx | Format::Docm => word(&mut zip, &names, cx)?,
        Format::Xlsx | Format::Xlsm => excel(&mut zip, &names, cx)?,
        _ => powerpoint(&mut zip, &names, cx)?,
    }
    // drawings that carry text in every application
    for name in sorted(&names, &["/charts/chart", "/diagrams/data"]) {
        flow_part(&mut zip, &name, &name, cx);
    }
    for name in names.iter().filter(|n| n.contains("/embeddings/") && !n.ends_with('/')) {
        if let Some(data) = zip_named(&mut zip, name, cx.budget) {
            cx.member(name, data);
        }
    }
    Ok(())
}

/// Names containing any of `infixes` and ending in `.xml`, in natural order (`footer2` before
/// `footer10`).
fn sorted(names: &[String], infixes: &[&str]) -> Vec<String> {
    let mut out: Vec<String> =
        names.iter().filter(|n| n.ends_with(".xml") && infixes.iter().any(|i| n.contains(i))).cloned().collect();
    out.sort_by_key(|n| natural_key(n));
    out
}

fn natural_key(name: &str) -> (String, u64) {
    let stem = name.trim_end_matches(".xml");
    let digits = stem.len() - stem.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (prefix, num) = stem.split_at(stem.len() - digits);
    (prefix.to_string(), num.parse().unwrap_or(0))
}

/// Reads a part as text, or notes why not. `None` when it is absent or unreadable.
fn part_text(zip: &mut Zip, name: &str, cx: &mut Cx) -> Option<String> {
    match zip_named(zip, name, cx.budget)? {
        Ok(data) => Some(utf8(data)),
        Err(e) => {
            cx.problem(name, e);
            None
        }
    }
}

/// Extracts a prose part (body, header, slide, comment, chart) and hands it out as `label`.
fn flow_part(zip: &mut Zip, name: &str, label: &str, cx: &mut Cx) {
    let Some(xml) = part_text(zip, name, cx) else { return };
    match flow(&xml, cx) {
        Ok(text) => cx.part(label, &text, &[]),
        Err(e) => cx.problem(name, e),
    }
}

/// The text of a WordprocessingML / DrawingML part as a person reads it: runs joined,
/// paragraphs and rows on their own lines, cells separated by tabs. Fallback copies of
/// alternate content, phonetic guides and field codes are left out.
fn flow(xml: &str, cx: &Cx) -> Result<String, Error> {
    let mut buf = TextBuf::default();
    let (mut in_text, mut skip) = (0u32, 0u32);
    let mut cells = Vec::new(); // where each open table cell's text starts (tables nest)
    let result = walk(xml, true, cx.budget, |node| match node {
        Node::Open { name, .. } => match name {
            "Fallback" | "rPh" | "instrText" => skip += 1,
            "tc" if skip == 0 => cells.push(buf.text.len()),
            "t" | "delText" | "text" | "v" => in_text += 1,
            "tab" if skip == 0 => buf.tab(),
            "br" | "cr" if skip == 0 => buf.newline(),
            _ => {}
        },
        Node::Close { name } => match name {
            "Fallback" | "rPh" | "instrText" => skip = skip.saturating_sub(1),
            "t" | "delText" | "text" | "v" => in_text = in_text.saturating_sub(1),
            "p" | "tr" | "si" | "row" if skip == 0 => buf.newline(),
            "tc" if skip == 0 => {
                let start = cells.pop().unwrap_or(0);
                if buf.text.len() > start && buf.text.ends_with('\n') {
                    buf.text.pop();
                }
                // always a tab, so an empty cell keeps the columns under their headers
                buf.push("\t");
            }
            _ => {}
        },
        Node::Text(t) if in_text > 0 && skip == 0 => buf.push(t),
        Node::Text(_) => {}
    });
    result.map(|_| buf.text)
}

fn word(zip: &mut Zip, names: &[String], cx: &mut Cx) -> Result<(), Error> {
    let main = main_part(zip, names, "word/document.xml", cx);
    flow_part(zip, &main, &main, cx);
    for name in sorted(names, &["word/header", "word/footer"]) {
        flow_part(zip, &name, &name, cx);
    }
    for name in ["word/footnotes.xml", "word/endnotes.xml", "word/comments.xml"] {
        flow_part(zip, name, name, cx);
    }
    Ok(())
}

/// The main document part named by the package relationships (usually `default`).
fn main_part(zip: &mut Zip, names: &[String], default: &str, cx: &mut Cx) -> String {
    if names.iter().any(|n| n == default) {
        return default.to_string();
    }
    let rels = part_text(zip, "_rels/.rels", cx).map(|x| relationships(&x, "", cx)).unwrap_or_default();
    rels.values().find(|(ty, _)| ty.ends_with("/officeDocument")).map(|(_, t)| t.clone()).unwrap_or(default.into())
}

/// Relationship id → (type, resolved target) of a `.rels` part whose source is in `base_dir`.
fn relationships(xml: &str, base_dir: &str, cx: &Cx) -> HashMap<String, (String, String)> {
    let mut out = HashMap::new();
    let _ = walk(xml, true, cx.budget, |node| {
        if let Node::Open { name: "Relationship", elem } = node {
            if attr(elem, "TargetMode").as_deref() == Some("External") {
                return;
            }
            if let (Some(id), Some(ty), Some(target)) = (attr(elem, "Id"), attr(elem, "Type"), attr(elem, "Target")) {
                out.insert(id, (ty, resolve(base_dir, &target)));
            }
        }
    });
    out
}

/// `xl/worksheets/sheet1.xml` → `xl/worksheets/_rels/sheet1.xml.rels`, and its folder.
fn rels_of(part: &str) -> (String, &str) {
    let (dir, file) = part.rsplit_once('/').unwrap_or(("", part));
    (if dir.is_empty() { format!("_rels/{file}.rels") } else { format!("{dir}/_rels/{file}.rels") }, dir)
}

fn excel(zip: &mut Zip, names: &[String], cx: &mut Cx) -> Result<(), Error> {
    let shared = part_text(zip, "xl/sharedStrings.xml", cx).map(|x| shared_strings(&x, cx)).unwrap_or_default();
    // sheets in workbook order, with their names
    let mut sheets: Vec<(String, String)> = Vec::new();
    if let Some(wb) = part_text(zip, "xl/workbook.xml", cx) {
        let rels = part_text(zip, "xl/_rels/workbook.xml.rels", cx).map(|x| relationships(&x, "xl", cx));
        let rels = rels.unwrap_or_default();
        let _ = walk(&wb, true, cx.budget, |node| {
            if let Node::Open { name: "sheet", elem } = node {
                let name = attr(elem, "name").unwrap_or_default();
                if let Some((_, target)) = attr(elem, "r:id").and_then(|id| rels.get(&id)) {
                    sheets.push((name, target.clone()));
                }
            }
        });
        let listing: String = sheets.iter().map(|(n, _)| format!("{n}\n")).collect();
        cx.part("xl/workbook.xml", &listing, &[]);
    }
    if sheets.is_empty() {
        sheets = sorted(names, &["xl/worksheets/sheet"])
            .into_iter()
            .enumerate()
            .map(|(i, p)| (format!("Sheet{}", i + 1), p))
            .collect();
    }
    for (sheet, part) in &sheets {
        cx.budget.check_time()?;
        let Some(xml) = part_text(zip, part, cx) else { continue };
        match worksheet(&xml, &quote_sheet(sheet), &shared, cx) {
            Ok(buf) => cx.part(part, &buf.text, &buf.marks),
            Err(e) => cx.problem(part, e),
        }
    }
    for name in sorted(names, &["xl/comments", "xl/threadedComments/"]) {
        flow_part(zip, &name, &name, cx);
    }
    Ok(())
}

/// Sheet names with spaces or punctuation are quoted in references, as Excel does.
pub(crate) fn quote_sheet(name: &str) -> String {
    if name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        name.to_string()
    } else {
        format!("'{}'", name.replace('\'', "''"))
    }
}

/// The shared string table: each `si` is one string, rich-text runs joined, phonetic guides out.
fn shared_strings(xml: &str, cx: &mut Cx) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut in_t, mut skip) = (false, 0u32);
    let r = walk(xml, true, cx.budget, |node| match node {
        Node::Open { name: "t", .. } => in_t = true,
        Node::Open { name: "rPh", .. } => skip += 1,
        Node::Close { name: "t" } => in_t = false,
        Node::Close { name: "rPh" } => skip = skip.saturating_sub(1),
        Node::Close { name: "si" } => out.push(std::mem::take(&mut cur)),
        Node::Text(t) if in_t && skip == 0 => cur.push_str(t),
        _ => {}
    });
    if let Err(e) = r {
        cx.problem("xl/sharedStrings.xml", e);
    }
    out
}

/// One worksheet as rows of tab-separated cells, each cell marked `Sheet!A1`.
fn worksheet(xml: &str, sheet: &str, shared: &[String], cx: &Cx) -> Result<TextBuf, Error> {
    let mut buf = TextBuf::default();
    let (mut row, mut col) = (0u32, 0u32);
    let mut last_col = None; // the column last written in this row
    let mut cell_type = String::new();
    let mut value = String::new();
    let (mut in_value, mut in_cell) = (false, false);
    walk(xml, true, cx.budget, |node| match node {
        Node::Open { name: "row", elem } => {
            row = attr(elem, "r").and_then(|r| r.parse().ok()).unwrap_or(row + 1);
            col = 0;
            last_col = None;
        }
        Node::Open { name: "c", elem } => {
            col = attr(elem, "r").and_then(|r| column_of(&r)).unwrap_or(col + 1);
            cell_type = attr(elem, "t").unwrap_or_default();
            value.clear();
            in_cell = true;
        }
        Node::Open { name: "v" | "t", .. } if in_cell => in_value = true,
        Node::Close { name: "v" | "t" } => in_value = false,
        Node::Text(t) if in_value => value.push_str(t),
        Node::Close { name: "c" } => {
            in_cell = false;
            let shown = match cell_type.as_str() {
                "s" => value.trim().parse::<usize>().ok().and_then(|i| shared.get(i)).cloned().unwrap_or_default(),
                "b" | "e" => String::new(),
                "str" | "inlineStr" | "d" => std::mem::take(&mut value),
                _ => number_as_shown(value.trim()),
            };
            if !shown.is_empty() {
                buf.move_to_column(col.saturating_sub(1), &mut last_col);
                buf.mark(format!("{sheet}!{}{row}", column_name(col)));
                buf.push(&shown);
            }
        }
        Node::Close { name: "row" } => buf.newline(),
        _ => {}
    })?;
    Ok(buf)
}

/// A stored number as a person reads it: integers in full, never in exponent form.
pub(crate) fn number_as_shown(v: &str) -> String {
    match v.parse::<f64>() {
        Ok(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
        Ok(f) if f.is_finite() && v.contains(['e', 'E']) => format!("{f}"),
        _ => v.to_string(),
    }
}

/// `C7` → 3.
fn column_of(cell: &str) -> Option<u32> {
    let letters: &str = &cell[..cell.find(|c: char| c.is_ascii_digit()).unwrap_or(cell.len())];
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    letters.bytes().try_fold(0u32, |acc, b| b.is_ascii_uppercase().then(|| acc * 26 + (b - b'A' + 1) as u32))
}

/// 3 → `C`, 28 → `AB`.
pub(crate) fn column_name(mut col: u32) -> String {
    let mut s = Vec::new();
    while col > 0 {
        col -= 1;
        s.push(b'A' + (col % 26) as u8);
        col /= 26;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

fn powerpoint(zip: &mut Zip, names: &[String], cx: &mut Cx) -> Result<(), Error> {
    // slides in presentation order
    let mut slides: Vec<String> = Vec::new();
    if let Some(pres) = part_text(zip, "ppt/presentation.xml", cx) {
        let rels = part_text(zip, "ppt/_rels/presentation.xml.rels", cx).map(|x| relationships(&x, "ppt", cx));
        let rels = rels.unwrap_or_default();
        let _ = walk(&pres, true, cx.budget, |node| {
            if let Node::Open { name: "sldId", elem } = node {
                if let Some((_, target)) = attr(elem, "r:id").and_then(|id| rels.get(&id)) {
                    slides.push(target.clone());
                }
            }
        });
    }
    if slides.is_empty() {
        slides = sorted(names, &["ppt/slides/slide"]);
    }
    for (i, slide) in slides.iter().enumerate() {
        cx.budget.check_time()?;
        let n = i + 1;
        flow_part(zip, slide, &format!("slide {n}"), cx);
        let (rels_name, dir) = rels_of(slide);
        let rels = part_text(zip, &rels_name, cx).map(|x| relationships(&x, dir, cx)).unwrap_or_default();
        if let Some((_, notes)) = rels.values().find(|(ty, _)| ty.ends_with("/notesSlide")) {
            flow_part(zip, &notes.clone(), &format!("slide {n} notes"), cx);
        }
        for (_, comments) in rels.values().filter(|(ty, _)| ty.ends_with("/comments")) {
            flow_part(zip, &comments.clone(), &format!("slide {n} comments"), cx);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_see_them() {
        assert_eq!(number_as_shown("4111111111111111"), "4111111111111111");
        assert_eq!(number_as_shown("4.1111111111111E+15"), "4111111111111100");
        assert_eq!(number_as_shown("12.5"), "12.5");
        assert_eq!(number_as_shown("1.5E-3"), "0.0015");
        assert_eq!(column_name(3), "C");
        assert_eq!(column_name(28), "AB");
        assert_eq!(column_of("AB12"), Some(28));
        assert_eq!(resolve("ppt/slides", "../notesSlides/notesSlide1.xml"), "ppt/notesSlides/notesSlide1.xml");
    }

    /// Excel's own layout: shared strings with rich runs and phonetic guides, cells by reference.
    #[test]
    fn shared_strings_and_cells_as_excel_writes_them() {
        struct Nothing;
        impl crate::Sink for Nothing {
            fn window(&mut self, _: &crate::Window) {}
            fn member(&mut self, _: &str, _: Result<Vec<u8>, Error>, _: &crate::Budget) {}
        }
        let budget = crate::Budget::new(crate::Limits::default());
        let mut cx = Cx { budget: &budget, sink: &mut Nothing, problems: vec![] };
        let sst = r#"<sst xmlns="x" count="2"><si><t>個人番号</t></si><si><r><t>62</t></r><r><rPr/><t>14</t></r><rPh sb="0" eb="2"><t>コジン</t></rPh></si></sst>"#;
        let shared = shared_strings(sst, &mut cx);
        assert_eq!(shared, ["個人番号", "6214"]);
        let sheet = r#"<worksheet><sheetData><row r="3"><c r="B3" t="s"><v>0</v></c><c r="D3"><f>A1</f><v>4.1111111111111E+15</v></c></row><row r="4"><c r="C4" t="inlineStr"><is><t>x&amp;y</t></is></c><c r="E4" t="s"><v>1</v></c></row></sheetData></worksheet>"#;
        let buf = worksheet(sheet, "'My Sheet'", &shared, &cx).unwrap();
        // one tab per column, so empty cells keep the others under their headers
        assert_eq!(buf.text, "\t個人番号\t\t4111111111111100\n\t\tx&y\t\t6214\n");
        let places: Vec<&str> = buf.marks.iter().map(|m| m.place.as_str()).collect();
        assert_eq!(places, ["'My Sheet'!B3", "'My Sheet'!D3", "'My Sheet'!C4", "'My Sheet'!E4"]);
    }
}
