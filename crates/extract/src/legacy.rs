//! Legacy Office (OLE2 compound files): Excel .xls through `calamine`; Word .doc text from the
//! piece table and PowerPoint .ppt text atoms, both hand-read and best effort; Outlook .msg
//! properties and attachments.

use crate::ooxml::{column_name, number_as_shown, quote_sheet};
use crate::xml::TextBuf;
use crate::{Cx, Error, Format};
use calamine::{Data, Reader};
use std::io::Cursor;

type Cfb<'a> = cfb::CompoundFile<Cursor<&'a [u8]>>;

/// Returns a caveat for the report when the text is best effort.
pub(crate) fn extract(data: &[u8], format: Format, cx: &mut Cx) -> Result<Option<&'static str>, Error> {
    if format == Format::Xls {
        crate::guarded("Excel 97-2003", || xls(data, cx))?;
        return Ok(None);
    }
    let mut cf = crate::guarded("compound file", || {
        cfb::CompoundFile::open(Cursor::new(data)).map_err(|e| Error::Corrupt(format!("compound file: {e}")))
    })?;
    match format {
        Format::Doc => {
            crate::guarded("Word 97-2003", || doc(&mut cf, cx))?;
            Ok(Some("text read from the Word 97-2003 piece table (best effort; no headers, footers or notes)"))
        }
        Format::Ppt => {
            crate::guarded("PowerPoint 97-2003", || ppt(&mut cf, cx))?;
            Ok(Some("text read from PowerPoint 97-2003 text atoms (best effort; no slide numbers)"))
        }
        _ => {
            crate::guarded("Outlook message", || msg(&mut cf, cx))?;
            Ok(None)
        }
    }
}

/// A whole stream, within the member limit.
fn stream(cf: &mut Cfb, path: &str, cx: &Cx) -> Option<Result<Vec<u8>, Error>> {
    if !cf.is_stream(path) {
        return None;
    }
    let s = match cf.open_stream(path) {
        Ok(s) => s,
        Err(e) => return Some(Err(Error::Corrupt(format!("{path}: {e}")))),
    };
    let len = s.len();
    Some(cx.budget.check_declared(len, len).and_then(|_| cx.budget.read_member(s, len)))
}

fn xls(data: &[u8], cx: &mut Cx) -> Result<(), Error> {
    let mut wb = calamine::Xls::new(Cursor::new(data)).map_err(|e| match e {
        calamine::XlsError::Password => Error::Encrypted("password-protected Excel 97-2003 workbook".into()),
        e => Error::Corrupt(format!("Excel 97-2003: {e}")),
    })?;
    for name in wb.sheet_names() {
        cx.budget.check_time()?;
        let range = match wb.worksheet_range(&name) {
            Ok(r) => r,
            Err(e) => {
                cx.problem(&name, e);
                continue;
            }
        };
        let (r0, c0) = range.start().unwrap_or((0, 0));
        let sheet = quote_sheet(&name);
        let mut buf = TextBuf::default();
        let mut last_row = None;
        for (r, c, cell) in range.used_cells() {
            let shown = match cell {
                Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
                Data::Int(i) => i.to_string(),
                Data::Float(f) => number_as_shown(&f.to_string()),
                Data::DateTime(d) => d.as_f64().to_string(),
                _ => continue,
            };
            if last_row.is_some_and(|l| l != r) {
                buf.newline();
            }
            last_row = Some(r);
            buf.tab();
            buf.mark(format!("{sheet}!{}{}", column_name(c0 + c as u32 + 1), r0 + r as u32 + 1));
            buf.push(&shown);
        }
        cx.part(&name, &buf.text, &buf.marks);
    }
    Ok(())
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn corrupt(what: &str) -> Error {
    Error::Corrupt(format!("Word 97-2003: {what}"))
}

/// Word 97-2003: the FIB points at the CLX in the table stream; its piece table maps
/// character positions to runs of 8-bit (cp1252) or UTF-16 text in the WordDocument stream.
fn doc(cf: &mut Cfb, cx: &mut Cx) -> Result<(), Error> {
    let word = stream(cf, "/WordDocument", cx).ok_or_else(|| corrupt("no WordDocument stream"))??;
    if u16_at(&word, 0) != Some(0xA5EC) {
        return Err(corrupt("not a Word 97 or later file information block"));
    }
    if u16_at(&word, 2).unwrap_or(0) < 101 {
        return Err(Error::Unsupported { format: "doc", reason: "Word 95 or older document".into() });
    }
    let flags = u16_at(&word, 0x0A).unwrap_or(0);
    if flags & 0x0100 != 0 {
        return Err(Error::Encrypted("password-protected Word 97-2003 document".into()));
    }
    let table_name = if flags & 0x0200 != 0 { "/1Table" } else { "/0Table" };
    let table = stream(cf, table_name, cx).ok_or_else(|| corrupt("no table stream"))??;
    let (fc_clx, lcb_clx) = (u32_at(&word, 0x01A2), u32_at(&word, 0x01A6));
    let (fc_clx, lcb_clx) = (fc_clx.ok_or_else(|| corrupt("short FIB"))?, lcb_clx.unwrap_or(0));
    let clx = table
        .get(fc_clx as usize..(fc_clx as usize).saturating_add(lcb_clx as usize))
        .ok_or_else(|| corrupt("CLX out of range"))?;
    // skip Prc entries (0x01), find the Pcdt (0x02)
    let mut i = 0;
    while clx.get(i) == Some(&0x01) {
        i += 3 + u16_at(clx, i + 1).ok_or_else(|| corrupt("short Prc"))? as usize;
    }
    if clx.get(i) != Some(&0x02) {
        return Err(corrupt("no piece table"));
    }
    let lcb = u32_at(clx, i + 1).ok_or_else(|| corrupt("short Pcdt"))? as usize;
    let plc = clx.get(i + 5..i + 5 + lcb).ok_or_else(|| corrupt("piece table out of range"))?;
    let n = plc.len().saturating_sub(4) / 12;
    let mut raw = String::new();
    for p in 0..n {
        let (cp0, cp1) = (u32_at(plc, p * 4).unwrap_or(0), u32_at(plc, p * 4 + 4).unwrap_or(0));
        let count = cp1.saturating_sub(cp0) as usize;
        let fc = u32_at(plc, (n + 1) * 4 + p * 8 + 2).unwrap_or(0);
        if fc & 0x4000_0000 != 0 {
            let start = ((fc & 0x3FFF_FFFF) / 2) as usize;
            let bytes = word.get(start..start.saturating_add(count)).ok_or_else(|| corrupt("piece out of range"))?;
            raw.push_str(&encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0);
        } else {
            let start = fc as usize;
            let bytes =
                word.get(start..start.saturating_add(count * 2)).ok_or_else(|| corrupt("piece out of range"))?;
            raw.push_str(&encoding_rs::UTF_16LE.decode_without_bom_handling(bytes).0);
        }
    }
    cx.part("WordDocument", &word_text(&raw), &[]);
    Ok(())
}

/// Word's special characters as a reader sees them; field codes (between 0x13 and 0x14) out.
fn word_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_code = 0u32;
    for c in raw.chars() {
        match c {
            '\u{13}' => in_code += 1,
            '\u{14}' | '\u{15}' => in_code = in_code.saturating_sub(1),
            _ if in_code > 0 => {}
            '\r' | '\u{0B}' | '\u{0C}' => out.push('\n'),
            '\u{07}' => out.push('\t'),
            '\t' => out.push('\t'),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

/// PowerPoint 97-2003: the text atoms of the "PowerPoint Document" stream, one per line.
fn ppt(cf: &mut Cfb, cx: &mut Cx) -> Result<(), Error> {
    let doc = stream(cf, "/PowerPoint Document", cx).ok_or_else(|| corrupt("no PowerPoint Document stream"))??;
    let mut text = String::new();
    let mut pos = 0usize;
    while pos + 8 <= doc.len() {
        let ver = u16_at(&doc, pos).unwrap_or(0) & 0x0F;
        let kind = u16_at(&doc, pos + 2).unwrap_or(0);
        let len = u32_at(&doc, pos + 4).unwrap_or(0) as usize;
        pos += 8;
        if ver == 0x0F {
            continue; // a container: its children follow
        }
        let Some(body) = doc.get(pos..pos.saturating_add(len)) else { break };
        match kind {
            0x2F14 => return Err(Error::Encrypted("password-protected PowerPoint 97-2003 presentation".into())),
            0x0FA0 | 0x0FBA => text.push_str(&encoding_rs::UTF_16LE.decode_without_bom_handling(body).0),
            0x0FA8 => text.extend(body.iter().map(|&b| b as char)),
            _ => {}
        }
        if matches!(kind, 0x0FA0 | 0x0FBA | 0x0FA8) {
            text.push('\n');
        }
        pos += len;
    }
    cx.part("PowerPoint Document", &text.replace(['\r', '\u{0B}'], "\n"), &[]);
    Ok(())
}

/// An Outlook string property in a storage (`001F` Unicode, else `001E` 8-bit).
fn prop(cf: &mut Cfb, storage: &str, id: &str, cx: &Cx) -> Option<String> {
    if let Some(Ok(b)) = stream(cf, &format!("{storage}/__substg1.0_{id}001F"), cx) {
        return Some(encoding_rs::UTF_16LE.decode_without_bom_handling(&b).0.trim_end_matches('\0').to_string());
    }
    let b = stream(cf, &format!("{storage}/__substg1.0_{id}001E"), cx)?.ok()?;
    Some(String::from_utf8_lossy(&b).trim_end_matches('\0').to_string())
}

/// Outlook .msg: sender, recipients, subject and body as text; attachments as nested items.
fn msg(cf: &mut Cfb, cx: &mut Cx) -> Result<(), Error> {
    let mut headers = String::new();
    for (label, id) in [("From", "0C1A"), ("From", "0C1F"), ("To", "0E04"), ("Cc", "0E03"), ("Subject", "0037")] {
        if let Some(v) = prop(cf, "", id, cx) {
            headers.push_str(&format!("{label}: {v}\n"));
        }
    }
    let storages: Vec<String> = cf.read_root_storage().map(|e| e.name().to_string()).collect();
    for s in storages.iter().filter(|s| s.starts_with("__recip_version1.0_")) {
        for id in ["3001", "39FE"] {
            if let Some(v) = prop(cf, &format!("/{s}"), id, cx) {
                headers.push_str(&format!("Recipient: {v}\n"));
            }
        }
    }
    cx.part("headers", &headers, &[]);
    match prop(cf, "", "1000", cx) {
        Some(body) => cx.part("body", &body, &[]),
        None => {
            if let Some(Ok(html)) = stream(cf, "/__substg1.0_10130102", cx) {
                let (text, _) = crate::text::decode_all(&html);
                crate::markup::html_part("body", &text, cx);
            }
        }
    }
    for (i, s) in storages.iter().filter(|s| s.starts_with("__attach_version1.0_")).enumerate() {
        let dir = format!("/{s}");
        let name = prop(cf, &dir, "3707", cx)
            .or_else(|| prop(cf, &dir, "3704", cx))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("attachment {}", i + 1));
        match stream(cf, &format!("{dir}/__substg1.0_37010102"), cx) {
            Some(data) => cx.member(&name, data),
            None if cf.is_storage(format!("{dir}/__substg1.0_3701000D")) => cx.member(
                &name,
                Err(Error::Unsupported {
                    format: "msg",
                    reason: "embedded Outlook item (not read in this version)".into(),
                }),
            ),
            None => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    struct Collect(String, Vec<(String, Vec<u8>)>);
    impl crate::Sink for Collect {
        fn window(&mut self, w: &crate::Window) {
            self.0.push_str(w.part);
            self.0.push_str(": ");
            self.0.push_str(w.text);
        }
        fn member(&mut self, name: &str, data: Result<Vec<u8>, Error>, _: &crate::Budget) {
            self.1.push((name.to_string(), data.unwrap()));
        }
    }

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
    }

    /// An Outlook message laid out as Outlook stores one (MS-OXMSG), written by the cfb crate.
    #[test]
    fn outlook_message_properties_and_attachments() {
        let mut cf = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        let mut put = |path: &str, data: &[u8]| cf.create_stream(path).unwrap().write_all(data).unwrap();
        put("/__properties_version1.0", &[0; 32]);
        put("/__substg1.0_0037001F", &utf16("給与データ"));
        put("/__substg1.0_1000001F", &utf16("マイナンバー 6214 9832 0257"));
        put("/__substg1.0_0C1F001F", &utf16("keiri@example.co.jp"));
        cf.create_storage("/__attach_version1.0_#00000000").unwrap();
        let mut put = |path: &str, data: &[u8]| cf.create_stream(path).unwrap().write_all(data).unwrap();
        put("/__attach_version1.0_#00000000/__substg1.0_3707001F", &utf16("list.csv"));
        put("/__attach_version1.0_#00000000/__substg1.0_37010102", b"a,b\n");
        let data = cf.into_inner().into_inner();
        assert_eq!(crate::detect(&data).unwrap(), Format::Msg);
        let mut sink = Collect(String::new(), Vec::new());
        let budget = crate::Budget::new(crate::Limits::default());
        let x = crate::extract(&data, &crate::TextOptions::default(), &budget, &mut sink).unwrap();
        assert_eq!(x.format, "msg");
        assert!(sink.0.contains("headers: From: keiri@example.co.jp\nSubject: 給与データ"), "{}", sink.0);
        assert!(sink.0.contains("body: マイナンバー 6214 9832 0257"), "{}", sink.0);
        assert_eq!(sink.1, vec![("list.csv".to_string(), b"a,b\n".to_vec())]);
    }
}
