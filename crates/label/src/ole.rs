//! Labels in Office 97-2003 files (.doc, .xls, .ppt): `MSIP_Label_<id>_<Attr>` user-defined
//! properties in the `\005DocumentSummaryInformation` stream ([MS-OLEPS]), where Office keeps
//! custom properties of binary documents and where LibreOffice maps docx custom properties.
//! A rewrite replaces that one stream; every other stream keeps its content.

use crate::meta::MsipLabel;
use crate::{Change, Error, Found, Store};
use std::io::{Cursor, Read, Write};

const STREAM: &str = "/\u{5}DocumentSummaryInformation";
/// FMTID_DocSummaryInformation and FMTID_UserDefinedProperties, as stored (little-endian GUIDs).
const DOC_SUMMARY: [u8; 16] =
    [0x02, 0xD5, 0xCD, 0xD5, 0x9C, 0x2E, 0x1B, 0x10, 0x93, 0x97, 0x08, 0x00, 0x2B, 0x2C, 0xF9, 0xAE];
const USER_DEFINED: [u8; 16] =
    [0x05, 0xD5, 0xCD, 0xD5, 0x9C, 0x2E, 0x1B, 0x10, 0x93, 0x97, 0x08, 0x00, 0x2B, 0x2C, 0xF9, 0xAE];
const VT_I2: u16 = 0x02;
const VT_I4: u16 = 0x03;
const VT_BOOL: u16 = 0x0B;
const VT_LPSTR: u16 = 0x1E;
const VT_LPWSTR: u16 = 0x1F;
const CP_UTF16: u16 = 1200;
const CP_UTF8: u16 = 65001;
/// Property streams are small; a bigger one is not one.
const MAX_STREAM: u64 = 4 << 20;

fn corrupt(why: &str) -> Error {
    Error::Corrupt { reason: format!("DocumentSummaryInformation: {why}") }
}

fn u16at(s: &[u8], at: usize) -> Result<u16, Error> {
    s.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]])).ok_or_else(|| corrupt("truncated"))
}

fn u32at(s: &[u8], at: usize) -> Result<u32, Error> {
    s.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok_or_else(|| corrupt("truncated"))
}

fn encoding(codepage: u16) -> &'static encoding_rs::Encoding {
    use encoding_rs::*;
    match codepage {
        CP_UTF8 => UTF_8,
        932 => SHIFT_JIS,
        936 => GBK,
        949 => EUC_KR,
        950 => BIG5,
        1250 => WINDOWS_1250,
        1251 => WINDOWS_1251,
        1253 => WINDOWS_1253,
        1254 => WINDOWS_1254,
        1255 => WINDOWS_1255,
        1256 => WINDOWS_1256,
        1257 => WINDOWS_1257,
        1258 => WINDOWS_1258,
        10000 => MACINTOSH,
        _ => WINDOWS_1252,
    }
}

fn utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    String::from_utf16_lossy(&units).trim_end_matches('\0').to_string()
}

/// The parsed stream: the header and first section as they were, and the user-defined
/// properties as (name, raw typed value).
struct Props {
    head: Vec<u8>,
    first: Vec<u8>,
    codepage: u16,
    /// Values mamori cannot measure hold their type instead.
    user: Vec<(String, Result<Vec<u8>, u16>)>,
}

fn section_of<'a>(s: &'a [u8], fmtid: &[u8; 16]) -> Result<Option<&'a [u8]>, Error> {
    let n = u32at(s, 24)?.min(2) as usize;
    for i in 0..n {
        let at = 28 + 20 * i;
        if s.get(at..at + 16) == Some(fmtid) {
            let off = u32at(s, at + 16)? as usize;
            let size = u32at(s, off)? as usize;
            return s
                .get(off..off.saturating_add(size))
                .map(Some)
                .ok_or_else(|| corrupt("a section runs past the stream"));
        }
    }
    Ok(None)
}

/// (property id, offset in the section) of every property of a section.
fn entries(sec: &[u8]) -> Result<Vec<(u32, usize)>, Error> {
    let n = u32at(sec, 4)?;
    if n > 10_000 {
        return Err(corrupt("too many properties"));
    }
    (0..n as usize).map(|i| Ok((u32at(sec, 8 + 8 * i)?, u32at(sec, 12 + 8 * i)? as usize))).collect()
}

/// The raw bytes of one typed value (type, padding, value, padding to 4), or the type when it
/// is one mamori cannot measure (vectors, arrays, streams), so a rewrite can refuse rather than
/// drop it.
fn typed(sec: &[u8], off: usize) -> Result<Result<Vec<u8>, u16>, Error> {
    let ty = u16at(sec, off)?;
    let len = match ty {
        // I2, I4, R4, ERROR, BOOL, I1, UI1, UI2, UI4, INT, UINT: one 4-byte slot.
        0x02..=0x04 | 0x0A | 0x0B | 0x10..=0x13 | 0x16 | 0x17 => 8,
        // R8, CY, DATE, I8, UI8, FILETIME: 8 bytes.
        0x05..=0x07 | 0x14 | 0x15 | 0x40 => 12,
        // CLSID: 16 bytes.
        0x48 => 20,
        // LPSTR, BSTR, BLOB, CF: a byte count, then the bytes.
        VT_LPSTR | 0x08 | 0x41 | 0x47 => 8 + u32at(sec, off + 4)? as usize,
        VT_LPWSTR => 8 + 2 * u32at(sec, off + 4)? as usize,
        other => return Ok(Err(other)),
    };
    let len = len.div_ceil(4) * 4;
    sec.get(off..off + len).map(|b| Ok(b.to_vec())).ok_or_else(|| corrupt("a value runs past its section"))
}

fn value_text(raw: &[u8], codepage: u16) -> Option<String> {
    let ty = u16::from_le_bytes([*raw.first()?, *raw.get(1)?]);
    let n = u32::from_le_bytes(raw.get(4..8)?.try_into().ok()?) as usize;
    Some(match ty {
        VT_LPSTR if codepage == CP_UTF16 => utf16(raw.get(8..8 + n)?),
        VT_LPSTR => {
            encoding(codepage).decode_without_bom_handling(raw.get(8..8 + n)?).0.trim_end_matches('\0').to_string()
        }
        VT_LPWSTR => utf16(raw.get(8..8 + 2 * n)?),
        VT_BOOL => (u16::from_le_bytes([raw[4], raw[5]]) != 0).to_string(),
        VT_I4 => (n as i32).to_string(),
        VT_I2 => i16::from_le_bytes([raw[4], raw[5]]).to_string(),
        _ => return None,
    })
}

fn parse(s: &[u8]) -> Result<Props, Error> {
    if u16at(s, 0)? != 0xFFFE {
        return Err(corrupt("not a property set stream"));
    }
    let first = section_of(s, &DOC_SUMMARY)?.map(<[u8]>::to_vec).unwrap_or_else(empty_first_section);
    let mut props = Props { head: s[..24].to_vec(), first, codepage: CP_UTF8, user: Vec::new() };
    let Some(sec) = section_of(s, &USER_DEFINED)? else { return Ok(props) };
    let list = entries(sec)?;
    if let Some(&(_, off)) = list.iter().find(|(pid, _)| *pid == 1) {
        props.codepage = u16at(sec, off + 4)?;
    }
    let mut names: Vec<(u32, String)> = Vec::new();
    if let Some(&(_, off)) = list.iter().find(|(pid, _)| *pid == 0) {
        let mut at = off + 4;
        for _ in 0..u32at(sec, off)?.min(10_000) {
            let (pid, len) = (u32at(sec, at)?, u32at(sec, at + 4)? as usize);
            at += 8;
            let name = if props.codepage == CP_UTF16 {
                let n = utf16(sec.get(at..at + 2 * len).ok_or_else(|| corrupt("a name runs past its section"))?);
                at += (2 * len).div_ceil(4) * 4;
                n
            } else {
                let b = sec.get(at..at + len).ok_or_else(|| corrupt("a name runs past its section"))?;
                at += len;
                encoding(props.codepage).decode_without_bom_handling(b).0.trim_end_matches('\0').to_string()
            };
            names.push((pid, name));
        }
    }
    for (pid, off) in list.into_iter().filter(|(pid, _)| *pid >= 2) {
        if let Some((_, name)) = names.iter().find(|(p, _)| *p == pid) {
            props.user.push((name.clone(), typed(sec, off)?));
        }
    }
    Ok(props)
}

/// A DocumentSummaryInformation section holding only a code page (UTF-8), for a file without one.
fn empty_first_section() -> Vec<u8> {
    let mut s = Vec::new();
    for v in [24u32, 1, 1, 16] {
        s.extend_from_slice(&v.to_le_bytes());
    }
    s.extend_from_slice(&VT_I2.to_le_bytes());
    s.extend_from_slice(&[0, 0]);
    s.extend_from_slice(&CP_UTF8.to_le_bytes());
    s.extend_from_slice(&[0, 0]);
    s
}

fn stream(data: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    let mut cf = cfb::CompoundFile::open(Cursor::new(data))
        .map_err(|e| Error::Corrupt { reason: format!("compound file: {e}") })?;
    if !cf.is_stream(STREAM) {
        return Ok(None);
    }
    let mut s = Vec::new();
    cf.open_stream(STREAM)
        .and_then(|st| st.take(MAX_STREAM).read_to_end(&mut s))
        .map_err(|e| Error::Corrupt { reason: format!("DocumentSummaryInformation: {e}") })?;
    Ok(Some(s))
}

pub(crate) fn read(data: &[u8]) -> Result<Vec<Found>, Error> {
    let Some(s) = stream(data)? else { return Ok(Vec::new()) };
    let props = parse(&s)?;
    let pairs: Vec<(String, String)> = props
        .user
        .iter()
        .filter_map(|(k, raw)| Some((k.clone(), value_text(raw.as_ref().ok()?, props.codepage)?)))
        .collect();
    Ok(MsipLabel::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .into_iter()
        .map(|label| Found { label, store: Store::OleProperties })
        .collect())
}

/// A string value: VT_LPSTR in the section's code page when it encodes there exactly, else
/// VT_LPWSTR (a Japanese label name in a cp1252 file).
fn string_value(v: &str, codepage: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let (bytes, _, lossy) = encoding(codepage).encode(v);
    if codepage != CP_UTF16 && !lossy {
        out.extend_from_slice(&VT_LPSTR.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(bytes.len() as u32 + 1).to_le_bytes());
        out.extend_from_slice(&bytes);
        out.push(0);
    } else {
        let units: Vec<u16> = v.encode_utf16().chain([0]).collect();
        out.extend_from_slice(&VT_LPWSTR.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(units.len() as u32).to_le_bytes());
        units.iter().for_each(|u| out.extend_from_slice(&u.to_le_bytes()));
    }
    out.resize(out.len().div_ceil(4) * 4, 0);
    out
}

/// The user-defined section: dictionary, code page, then the values, each 4-aligned.
fn user_section(codepage: u16, user: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut dict = (user.len() as u32).to_le_bytes().to_vec();
    for (i, (name, _)) in user.iter().enumerate() {
        dict.extend_from_slice(&(i as u32 + 2).to_le_bytes());
        if codepage == CP_UTF16 {
            let units: Vec<u16> = name.encode_utf16().chain([0]).collect();
            dict.extend_from_slice(&(units.len() as u32).to_le_bytes());
            units.iter().for_each(|u| dict.extend_from_slice(&u.to_le_bytes()));
            dict.resize(dict.len().div_ceil(4) * 4, 0);
        } else {
            let (bytes, _, _) = encoding(codepage).encode(name);
            dict.extend_from_slice(&(bytes.len() as u32 + 1).to_le_bytes());
            dict.extend_from_slice(&bytes);
            dict.push(0);
        }
    }
    dict.resize(dict.len().div_ceil(4) * 4, 0);
    let mut cp = VT_I2.to_le_bytes().to_vec();
    cp.extend_from_slice(&[0, 0]);
    cp.extend_from_slice(&codepage.to_le_bytes());
    cp.extend_from_slice(&[0, 0]);
    let values: Vec<&[u8]> =
        std::iter::once(dict.as_slice()).chain([cp.as_slice()]).chain(user.iter().map(|(_, v)| v.as_slice())).collect();
    let header = 8 + 8 * values.len();
    let mut out = Vec::new();
    let size = header + values.iter().map(|v| v.len()).sum::<usize>();
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    let mut off = header;
    for (i, v) in values.iter().enumerate() {
        out.extend_from_slice(&(i as u32).to_le_bytes());
        out.extend_from_slice(&(off as u32).to_le_bytes());
        off += v.len();
    }
    values.iter().for_each(|v| out.extend_from_slice(v));
    out
}

pub(crate) fn write(data: &[u8], change: &Change) -> Result<Vec<u8>, Error> {
    let mut props = match stream(data)? {
        Some(s) => parse(&s)?,
        None => {
            let mut head = vec![0xFE, 0xFF, 0, 0];
            head.extend_from_slice(&0x0002_0006u32.to_le_bytes());
            head.extend_from_slice(&[0; 16]);
            Props { head, first: empty_first_section(), codepage: CP_UTF8, user: Vec::new() }
        }
    };
    props.user.retain(|(k, _)| !change.drops(k));
    let mut user: Vec<(String, Vec<u8>)> = Vec::with_capacity(props.user.len() + 7);
    for (k, raw) in props.user {
        // Never drop a property people set: refuse the file instead.
        let raw = raw.map_err(|ty| Error::Unsupported {
            format: "Office 97-2003 file".into(),
            reason: format!("its custom property {k:?} has a type (0x{ty:04x}) mamori cannot copy"),
        })?;
        user.push((k, raw));
    }
    for (k, v) in change.label.as_ref().map(MsipLabel::to_pairs).unwrap_or_default() {
        let value = string_value(&v, props.codepage);
        user.push((k, value));
    }
    let user = user_section(props.codepage, &user);
    let mut s = props.head.clone();
    s.extend_from_slice(&2u32.to_le_bytes());
    let first_at = 28 + 40;
    s.extend_from_slice(&DOC_SUMMARY);
    s.extend_from_slice(&(first_at as u32).to_le_bytes());
    s.extend_from_slice(&USER_DEFINED);
    s.extend_from_slice(&((first_at + props.first.len()) as u32).to_le_bytes());
    s.extend_from_slice(&props.first);
    s.extend_from_slice(&user);

    let io = |e: std::io::Error| Error::Corrupt { reason: format!("compound file: {e}") };
    let mut cf = cfb::CompoundFile::open(Cursor::new(data.to_vec())).map_err(io)?;
    cf.create_stream(STREAM).and_then(|mut st| st.write_all(&s)).map_err(io)?;
    cf.flush().map_err(io)?;
    Ok(cf.into_inner().into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_round_trip_in_any_code_page() {
        for cp in [CP_UTF8, 1252, CP_UTF16, 932] {
            let user = vec![
                ("Client".to_string(), string_value("山田商事", cp)),
                (
                    format!("{}{}_Name", crate::meta::PREFIX, "0f57ecdd-7847-409e-973a-2864fb8938a6"),
                    string_value("Restricted", cp),
                ),
            ];
            let p = parse(&stream_with(cp, &user)).unwrap();
            assert_eq!(p.codepage, cp);
            let texts: Vec<(String, String)> =
                p.user.iter().map(|(k, v)| (k.clone(), value_text(v.as_ref().unwrap(), cp).unwrap())).collect();
            assert_eq!(texts[0], ("Client".to_string(), "山田商事".to_string()), "cp {cp}");
            assert_eq!(texts[1].1, "Restricted");
        }
    }

    fn stream_with(cp: u16, user: &[(String, Vec<u8>)]) -> Vec<u8> {
        let mut s = vec![0xFE, 0xFF, 0, 0, 6, 0, 2, 0];
        s.extend_from_slice(&[0; 16]);
        s.extend_from_slice(&2u32.to_le_bytes());
        let first = empty_first_section();
        s.extend_from_slice(&DOC_SUMMARY);
        s.extend_from_slice(&68u32.to_le_bytes());
        s.extend_from_slice(&USER_DEFINED);
        s.extend_from_slice(&(68 + first.len() as u32).to_le_bytes());
        s.extend_from_slice(&first);
        s.extend_from_slice(&user_section(cp, user));
        s
    }

    #[test]
    fn other_properties_are_kept_and_unknown_kinds_refused() {
        let date = [0x40, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8].to_vec(); // VT_FILETIME
        let p = parse(&stream_with(CP_UTF8, &[("Reviewed".into(), date.clone())])).unwrap();
        assert_eq!(p.user[0].1.as_ref().unwrap(), &date, "a date is measured and kept whole");
        let vector = [0x1E, 0x10, 0, 0, 0, 0, 0, 0].to_vec(); // VT_VECTOR | VT_LPSTR
        let p = parse(&stream_with(CP_UTF8, &[("Tags".into(), vector)])).unwrap();
        assert_eq!(p.user[0].1, Err(0x101E));
    }

    #[test]
    fn truncated_streams_are_errors_not_panics() {
        let mut s = vec![0xFE, 0xFF, 0, 0, 6, 0, 2, 0];
        s.extend_from_slice(&[0; 16]);
        s.extend_from_slice(&1u32.to_le_bytes());
        s.extend_from_slice(&USER_DEFINED);
        s.extend_from_slice(&48u32.to_le_bytes());
        s.extend_from_slice(&[0xFF; 12]);
        assert!(parse(&s).is_err());
        for n in 0..s.len() {
            let _ = parse(&s[..n]);
        }
    }
}
