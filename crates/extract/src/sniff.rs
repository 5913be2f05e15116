//! Content sniffing: what is this item, and if text, in which encoding?

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};

/// What the first bytes of an item say it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sniffed {
    /// Text in `encoding`, after a byte-order mark of `bom` bytes.
    Text { encoding: &'static Encoding, bom: usize },
    /// Not text: `format` is a short name (`zip`, `pdf`, `png`, `binary`, ...).
    Binary { format: &'static str, reason: &'static str },
}

/// Magic numbers of common binary formats: (prefix, format, reason).
const MAGIC: &[(&[u8], &str, &str)] = &[
    (b"PK\x03\x04", "zip", "zip container (read with extract, not as text)"),
    (b"PK\x05\x06", "zip", "empty zip archive"),
    (b"%PDF-", "pdf", "PDF document (read with extract, not as text)"),
    (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", "cfb", "OLE2 compound file (legacy Office, .msg)"),
    (b"\x1F\x8B", "gz", "gzip compressed data"),
    (b"\x89PNG\r\n\x1A\n", "png", "PNG image"),
    (b"\xFF\xD8\xFF", "jpeg", "JPEG image"),
    (b"GIF8", "gif", "GIF image"),
    (b"\x7FELF", "elf", "ELF executable"),
    (b"MZ", "exe", "Windows executable"),
    (b"7z\xBC\xAF\x27\x1C", "7z", "7-Zip archive"),
    (b"Rar!\x1A\x07", "rar", "RAR archive"),
    (b"age-encryption.org/", "age", "age-encrypted file"),
    (b"SQLite format 3\0", "sqlite", "SQLite database"),
];

/// Sniffs the first bytes of an item (64 KiB is plenty; fewer is fine for small files).
pub fn sniff(head: &[u8]) -> Sniffed {
    if head.starts_with(b"\xEF\xBB\xBF") {
        return Sniffed::Text { encoding: UTF_8, bom: 3 };
    }
    if head.starts_with(b"\xFF\xFE") {
        return Sniffed::Text { encoding: UTF_16LE, bom: 2 };
    }
    if head.starts_with(b"\xFE\xFF") {
        return Sniffed::Text { encoding: UTF_16BE, bom: 2 };
    }
    for (magic, format, reason) in MAGIC {
        if head.starts_with(magic) {
            return Sniffed::Binary { format, reason };
        }
    }
    if memchr::memchr(0, head).is_some() {
        return utf16_without_bom(head)
            .unwrap_or(Sniffed::Binary { format: "binary", reason: "binary file (NUL bytes)" });
    }
    let controls = head.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B)).count();
    if controls * 20 > head.len() {
        return Sniffed::Binary { format: "binary", reason: "binary file (control bytes)" };
    }
    // ISO-2022-JP is seven-bit, so it also reads as UTF-8: its escape into JIS X 0208 tells
    if head.is_ascii()
        && (memchr::memmem::find(head, b"\x1b$B").is_some() || memchr::memmem::find(head, b"\x1b$@").is_some())
    {
        return Sniffed::Text { encoding: encoding_rs::ISO_2022_JP, bom: 0 };
    }
    match std::str::from_utf8(head) {
        Ok(_) => return Sniffed::Text { encoding: UTF_8, bom: 0 },
        // a multi-byte character cut by the end of the head is still UTF-8
        Err(e) if e.error_len().is_none() => return Sniffed::Text { encoding: UTF_8, bom: 0 },
        Err(_) => {}
    }
    if mostly_utf8(head) {
        return Sniffed::Text { encoding: UTF_8, bom: 0 };
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
    det.feed(head, head.len() < 64 * 1024);
    Sniffed::Text { encoding: det.guess(Some(b"jp"), chardetng::Utf8Detection::Allow), bom: 0 }
}

/// BOM-less UTF-16: ASCII-range text has a zero byte in every other position.
fn utf16_without_bom(head: &[u8]) -> Option<Sniffed> {
    let pairs = head.len() / 2;
    if pairs < 2 {
        return None;
    }
    let zero_even = head.chunks_exact(2).filter(|p| p[0] == 0 && p[1] != 0).count();
    let zero_odd = head.chunks_exact(2).filter(|p| p[1] == 0 && p[0] != 0).count();
    if zero_odd * 10 > pairs * 7 {
        Some(Sniffed::Text { encoding: UTF_16LE, bom: 0 })
    } else if zero_even * 10 > pairs * 7 {
        Some(Sniffed::Text { encoding: UTF_16BE, bom: 0 })
    } else {
        None
    }
}

/// UTF-8 with a few broken bytes (a truncated copy, one stray Latin-1 byte) is still best read
/// as UTF-8, with replacement characters, than as a legacy encoding.
fn mostly_utf8(head: &[u8]) -> bool {
    let mut bad = 0usize;
    let mut rest = head;
    while let Err(e) = std::str::from_utf8(rest) {
        let Some(len) = e.error_len() else { break };
        bad += len;
        rest = &rest[e.valid_up_to() + len..];
    }
    let non_ascii = head.iter().filter(|b| !b.is_ascii()).count();
    bad * 10 < non_ascii.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(head: &[u8]) -> &'static str {
        match sniff(head) {
            Sniffed::Text { encoding, .. } => encoding.name(),
            Sniffed::Binary { format, .. } => format,
        }
    }

    #[test]
    fn recognises_encodings_and_binaries() {
        let text = "個人番号は6214 9832 0257です。電話番号もあります。住所は東京都千代田区です。";
        assert_eq!(enc(text.as_bytes()), "UTF-8");
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(text);
        assert_eq!(enc(&sjis), "Shift_JIS");
        let (euc, _, _) = encoding_rs::EUC_JP.encode(text);
        assert_eq!(enc(&euc), "EUC-JP");
        let (jis, _, _) = encoding_rs::ISO_2022_JP.encode(text);
        assert_eq!(enc(&jis), "ISO-2022-JP");
        let le: Vec<u8> = "plain ascii text".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        assert_eq!(enc(&le), "UTF-16LE");
        assert_eq!(enc(b"PK\x03\x04rest"), "zip");
        assert_eq!(enc(b"\x00\x01\x02\x03\xFF\x00\x10"), "binary");
    }
}
