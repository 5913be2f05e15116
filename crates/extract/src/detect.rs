//! What an item is, by content: magic numbers, zip member names, compound-file streams, and
//! for text, whether it is markup or mail.

use crate::{sniff, Error, Sniffed};
use std::io::{Cursor, Read};

/// The formats mamori extracts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Html,
    Xml,
    Eml,
    Rtf,
    Pdf,
    Docx,
    Docm,
    Xlsx,
    Xlsm,
    Pptx,
    Pptm,
    Odt,
    Ods,
    Odp,
    Doc,
    Xls,
    Ppt,
    Msg,
    Zip,
    Tar,
    Gz,
}

impl Format {
    /// The name reported as `format` in scan output.
    pub fn name(self) -> &'static str {
        use Format::*;
        match self {
            Text => "text",
            Html => "html",
            Xml => "xml",
            Eml => "eml",
            Rtf => "rtf",
            Pdf => "pdf",
            Docx => "docx",
            Docm => "docm",
            Xlsx => "xlsx",
            Xlsm => "xlsm",
            Pptx => "pptx",
            Pptm => "pptm",
            Odt => "odt",
            Ods => "ods",
            Odp => "odp",
            Doc => "doc",
            Xls => "xls",
            Ppt => "ppt",
            Msg => "msg",
            Zip => "zip",
            Tar => "tar",
            Gz => "gz",
        }
    }
}

/// What the first bytes of an item say about how to read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Head {
    /// Plain text: can be streamed in windows.
    Text,
    /// HTML, XML or mail: parsed whole when it fits the member limit, else streamed as text.
    Markup(Format),
    /// A document or container: must be read whole.
    Whole(Container),
    /// Not something mamori reads.
    Unsupported { format: &'static str, reason: &'static str },
    /// A mamori protected file: its content is encrypted; its header says what it is.
    Protected,
}

/// The kinds of item read whole, by their magic numbers; what is inside a zip or a compound
/// file takes [`detect`] on the whole item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    Zip,
    /// An OLE compound file: Office 97-2003 or Outlook.
    Compound,
    Gzip,
    Rtf,
    Pdf,
    Tar,
}

impl Container {
    pub fn name(self) -> &'static str {
        match self {
            Container::Zip => "zip",
            Container::Compound => "compound file",
            Container::Gzip => "gz",
            Container::Rtf => "rtf",
            Container::Pdf => "pdf",
            Container::Tar => "tar",
        }
    }

    fn of(head: &[u8]) -> Option<Container> {
        let starts = |m: &[u8]| head.starts_with(m);
        Some(if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
            Container::Zip
        } else if starts(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
            Container::Compound
        } else if starts(b"\x1F\x8B") {
            Container::Gzip
        } else if starts(b"{\\rtf") {
            Container::Rtf
        } else if is_pdf(head) {
            Container::Pdf
        } else if is_tar(head) {
            Container::Tar
        } else {
            return None;
        })
    }
}

/// Classifies an item by its first bytes (64 KiB is plenty).
pub fn detect_head(head: &[u8]) -> Head {
    if head.starts_with(mamori_model::PROTECTED_MAGIC) {
        return Head::Protected;
    }
    if let Some(c) = Container::of(head) {
        return Head::Whole(c);
    }
    match sniff(head) {
        Sniffed::Binary { format, reason } => Head::Unsupported { format, reason },
        Sniffed::Text { encoding, bom } => {
            let (text, _) = encoding.decode_without_bom_handling(&head[bom..head.len().min(bom + 4096)]);
            match markup_kind(&text) {
                Some(f) => Head::Markup(f),
                None => Head::Text,
            }
        }
    }
}

/// The format of a whole item.
pub fn detect(data: &[u8]) -> Result<Format, Error> {
    let head = &data[..data.len().min(64 << 10)];
    match detect_head(head) {
        Head::Text => Ok(Format::Text),
        Head::Markup(f) => Ok(f),
        Head::Unsupported { format, reason } => Err(Error::Unsupported { format, reason: reason.to_string() }),
        Head::Protected => Err(Error::Unsupported {
            format: "mamori",
            reason: "protected by mamori: the content is encrypted".to_string(),
        }),
        Head::Whole(Container::Zip) => zip_kind(data),
        Head::Whole(Container::Compound) => crate::guarded("compound file", || cfb_kind(data)),
        Head::Whole(Container::Gzip) => Ok(Format::Gz),
        Head::Whole(Container::Rtf) => Ok(Format::Rtf),
        Head::Whole(Container::Pdf) => Ok(Format::Pdf),
        Head::Whole(Container::Tar) => Ok(Format::Tar),
    }
}

/// PDF readers accept the header anywhere in the first 1024 bytes.
fn is_pdf(head: &[u8]) -> bool {
    memchr::memmem::find(&head[..head.len().min(1024)], b"%PDF-").is_some()
}

fn is_tar(head: &[u8]) -> bool {
    head.len() >= 512 && &head[257..262] == b"ustar"
}

fn markup_kind(text: &str) -> Option<Format> {
    let t = text.trim_start();
    let lower = t[..crate::text::floor_char(t, 1024)].to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") || lower.contains("<html") {
        return Some(Format::Html);
    }
    if lower.starts_with("<?xml") {
        return Some(Format::Xml);
    }
    is_mail(t).then_some(Format::Eml)
}

/// A mail message starts with a block of RFC 5322 headers, several of them ones every mail has.
fn is_mail(text: &str) -> bool {
    const COMMON: &[&str] = &[
        "from",
        "to",
        "cc",
        "subject",
        "date",
        "received",
        "return-path",
        "message-id",
        "mime-version",
        "content-type",
        "delivered-to",
        "reply-to",
    ];
    let mut common = 0;
    // Only whole lines: the sample is cut at 4 KiB, often in the middle of a long header block.
    let whole = text.rfind('\n').map_or("", |i| &text[..=i]);
    for line in whole.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((name, _)) = line.split_once(':') else { return false };
        // RFC 5322 field names: printable ASCII but the colon (`msip_labels`, `X-MS-Has-Attach`).
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return false;
        }
        common += COMMON.contains(&name.to_ascii_lowercase().as_str()) as usize;
    }
    common >= 3
}

/// OOXML by its main content type, ODF by its `mimetype` member, else a plain zip.
fn zip_kind(data: &[u8]) -> Result<Format, Error> {
    let mut zip = zip::ZipArchive::new(Cursor::new(data)).map_err(|e| Error::Corrupt(format!("zip: {e}")))?;
    if let Some(mime) = small_member(&mut zip, "mimetype") {
        let kind = match mime.trim() {
            "application/vnd.oasis.opendocument.text" | "application/vnd.oasis.opendocument.text-template" => {
                Some(Format::Odt)
            }
            "application/vnd.oasis.opendocument.spreadsheet"
            | "application/vnd.oasis.opendocument.spreadsheet-template" => Some(Format::Ods),
            "application/vnd.oasis.opendocument.presentation"
            | "application/vnd.oasis.opendocument.presentation-template" => Some(Format::Odp),
            _ => None,
        };
        if let Some(k) = kind {
            return Ok(k);
        }
    }
    if let Some(types) = small_member(&mut zip, "[Content_Types].xml") {
        const MAIN: &[(&str, Format)] = &[
            ("application/vnd.ms-word.document.macroEnabled.main+xml", Format::Docm),
            ("application/vnd.ms-word.template.macroEnabledTemplate.main+xml", Format::Docm),
            ("wordprocessingml.document.main+xml", Format::Docx),
            ("wordprocessingml.template.main+xml", Format::Docx),
            ("application/vnd.ms-excel.sheet.macroEnabled.main+xml", Format::Xlsm),
            ("application/vnd.ms-excel.template.macroEnabled.main+xml", Format::Xlsm),
            ("spreadsheetml.sheet.main+xml", Format::Xlsx),
            ("spreadsheetml.template.main+xml", Format::Xlsx),
            ("application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml", Format::Pptm),
            ("application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml", Format::Pptm),
            ("application/vnd.ms-powerpoint.template.macroEnabled.main+xml", Format::Pptm),
            ("presentationml.presentation.main+xml", Format::Pptx),
            ("presentationml.slideshow.main+xml", Format::Pptx),
            ("presentationml.template.main+xml", Format::Pptx),
        ];
        if let Some((_, f)) = MAIN.iter().find(|(ct, _)| types.contains(ct)) {
            return Ok(*f);
        }
        if types.contains("application/vnd.ms-excel.sheet.binary.macroEnabled.main") {
            return Err(Error::Unsupported {
                format: "xlsb",
                reason: "Excel binary workbook (.xlsb) is not extracted in this version".into(),
            });
        }
    }
    Ok(Format::Zip)
}

/// A small member's text, if present and readable.
fn small_member(zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Option<String> {
    let file = zip.by_name(name).ok()?;
    let mut s = String::new();
    file.take(1 << 20).read_to_string(&mut s).ok()?;
    Some(s)
}

/// Legacy Office and Outlook by the streams of the compound file.
fn cfb_kind(data: &[u8]) -> Result<Format, Error> {
    let cf = cfb::CompoundFile::open(Cursor::new(data)).map_err(|e| Error::Corrupt(format!("compound file: {e}")))?;
    let has = |name: &str| cf.exists(format!("/{name}"));
    if has("EncryptedPackage") {
        return Err(Error::Encrypted("password-protected Office document (EncryptedPackage)".into()));
    }
    if has("WordDocument") {
        return Ok(Format::Doc);
    }
    if has("Workbook") || has("Book") {
        return Ok(Format::Xls);
    }
    if has("PowerPoint Document") {
        return Ok(Format::Ppt);
    }
    let msg = cf.read_root_storage().any(|e| {
        let n = e.name();
        n.starts_with("__substg1.0_") || n.starts_with("__properties_version1.0")
    });
    if msg {
        return Ok(Format::Msg);
    }
    Err(Error::Unsupported { format: "cfb", reason: "OLE2 compound file of a kind mamori does not read".into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_mail_by_content() {
        let h = |s: &str| detect_head(s.as_bytes());
        assert_eq!(h("<!DOCTYPE html><html><body>x</body></html>"), Head::Markup(Format::Html));
        assert_eq!(h("<?xml version=\"1.0\"?><a>1</a>"), Head::Markup(Format::Xml));
        let mail = "From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\nDate: Mon, 1 Jan 2024\r\n\r\nbody";
        assert_eq!(h(mail), Head::Markup(Format::Eml));
        // Exchange's label header has an underscore (a regression: it made labeled mail "text").
        let labeled =
            "From: a@example.com\nTo: b@example.com\nSubject: hi\nmsip_labels: MSIP_Label_x_Enabled=true;\n\nbody";
        assert_eq!(h(labeled), Head::Markup(Format::Eml));
        // A header block longer than the sample: the cut line is not judged (found by fuzzing).
        let head = "From: a@example.com\nTo: b@example.com\nSubject: hi\nX-Pad: ";
        let pad = "a".repeat(4096 - head.len() - 1 - 10);
        let long = format!("{head}{pad}\nX-Microsoft-Antispam: 1\n\nbody");
        assert_eq!(&long[4086..4096], "X-Microsof", "the sample ends before the colon");
        assert_eq!(h(&long), Head::Markup(Format::Eml));
        assert_eq!(h("Subject: notes\nplain text that is not mail\n"), Head::Text);
        assert_eq!(h("{\\rtf1\\ansi hello}"), Head::Whole(Container::Rtf));
        assert!(matches!(h("\x7FELF\x02\x01\x01\0"), Head::Unsupported { format: "elf", .. }));
        assert_eq!(detect_head(b"\x89MAMORI\n\0\x01\0\0"), Head::Protected);
    }
}
