//! OpenDocument text, spreadsheets and presentations: `content.xml` (and `styles.xml`, where
//! headers and footers live), cells marked `Sheet!A1`, slides marked `slide N`.

use crate::archive::{open_zip, utf8, zip_named};
use crate::ooxml::{column_name, quote_sheet};
use crate::xml::{attr, walk, Node, TextBuf};
use crate::{Cx, Error};

pub(crate) fn extract(data: &[u8], cx: &mut Cx) -> Result<(), Error> {
    let mut zip = open_zip(data, cx.budget)?;
    for part in ["content.xml", "styles.xml"] {
        let xml = match zip_named(&mut zip, part, cx.budget) {
            None => continue,
            Some(Ok(d)) => utf8(d),
            Some(Err(e)) => {
                cx.problem(part, e);
                continue;
            }
        };
        match text_of(&xml, cx) {
            Ok(buf) => cx.part(part, &buf.text, &buf.marks),
            Err(e) => cx.problem(part, e),
        }
    }
    Ok(())
}

fn repeat(elem: &quick_xml::events::BytesStart, name: &str) -> u32 {
    attr(elem, name).and_then(|v| v.parse().ok()).unwrap_or(1).max(1)
}

fn text_of(xml: &str, cx: &Cx) -> Result<TextBuf, Error> {
    let mut buf = TextBuf::default();
    let mut para = 0u32;
    let mut sheet = String::new();
    let (mut row, mut col, mut row_rep, mut col_rep, mut slide) = (0u32, 0u32, 1u32, 1u32, 0u32);
    let mut last_col = None; // the column last begun in this row
    walk(xml, true, cx.budget, |node| match node {
        Node::Open { name, elem } => match name {
            "p" | "h" => para += 1,
            "s" if para > 0 => buf.push(&" ".repeat(repeat(elem, "text:c").min(64) as usize)),
            "tab" if para > 0 => buf.push("\t"),
            "line-break" if para > 0 => buf.push("\n"),
            "table" => {
                sheet = attr(elem, "table:name").unwrap_or_default();
                row = 0;
            }
            "table-row" => {
                row += 1;
                col = 0;
                row_rep = repeat(elem, "table:number-rows-repeated");
                last_col = None;
            }
            "table-cell" | "covered-table-cell" => {
                col += 1;
                col_rep = repeat(elem, "table:number-columns-repeated");
                buf.move_to_column(col - 1, &mut last_col);
                // tables in slides and text have no sheet to name
                if !sheet.is_empty() {
                    buf.mark(format!("{}!{}{row}", quote_sheet(&sheet), column_name(col)));
                }
            }
            "page" => {
                slide += 1;
                buf.newline();
                buf.mark(format!("slide {slide}"));
            }
            "notes" if slide > 0 => {
                buf.newline();
                buf.mark(format!("slide {slide} notes"));
            }
            _ => {}
        },
        Node::Close { name } => match name {
            "p" | "h" => {
                para = para.saturating_sub(1);
                buf.newline();
            }
            "table-cell" | "covered-table-cell" => {
                col += col_rep - 1;
                if buf.text.ends_with('\n') {
                    buf.text.pop();
                }
            }
            "table-row" => {
                row += row_rep - 1;
                buf.newline();
            }
            _ => {}
        },
        Node::Text(t) if para > 0 => buf.push(t),
        Node::Text(_) => {}
    })?;
    Ok(buf)
}
