//! Folding of full-width and look-alike characters to ASCII, with a map back to the original.
//!
//! Patterns are ASCII-only (Unicode `\d` and `\b` make the regex engine ~100x slower on
//! Japanese text), so `１２３４－５６７８` must become `1234-5678` before matching. Every folded
//! character becomes one ASCII byte; between folds bytes are copied unchanged, so a sparse list
//! of checkpoints maps any offset back to the original text.

use std::borrow::Cow;

/// Text ready for matching, and the way back to the original offsets.
pub struct Folded<'a> {
    pub text: Cow<'a, str>,
    /// (folded offset, original offset) after each fold, ascending; empty when nothing folded.
    checkpoints: Vec<(usize, usize)>,
}

impl Folded<'_> {
    /// The original byte offset of a folded byte offset.
    pub fn original(&self, pos: usize) -> usize {
        if self.checkpoints.is_empty() {
            return pos;
        }
        let i = self.checkpoints.partition_point(|&(n, _)| n <= pos);
        if i == 0 {
            pos
        } else {
            let (n, o) = self.checkpoints[i - 1];
            o + (pos - n)
        }
    }
}

/// The character a character folds to, if any. `prev_digit` tells whether the previous
/// folded character was a digit: the prolonged sound marks `ー` and `ｰ` are a dash only there.
#[inline]
fn fold_char(c: char, prev_digit: bool) -> Option<char> {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0),
        '\u{3000}' | '\u{00A0}' | '\u{2002}'..='\u{200A}' | '\u{202F}' => Some(' '),
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' => Some('-'),
        '\u{30FC}' | '\u{FF70}' if prev_digit => Some('-'),
        '\u{FF66}'..='\u{FF9D}' => char::from_u32(HALF_WIDTH_KANA[(c as u32 - 0xFF66) as usize] as u32 + 0x3000),
        _ => None,
    }
}

/// Full-width katakana (less 0x3000) of the half-width forms U+FF66..=U+FF9D, in order:
/// `ﾏｲﾅﾝﾊﾞｰ` is read as `マイナンバー`, so Japanese keywords match as legacy systems write them.
const HALF_WIDTH_KANA: [u16; 56] = [
    0xF2, 0xA1, 0xA3, 0xA5, 0xA7, 0xA9, 0xE3, 0xE5, 0xE7, 0xC3, 0xFC, 0xA2, 0xA4, 0xA6, 0xA8, 0xAA, 0xAB, 0xAD, 0xAF,
    0xB1, 0xB3, 0xB5, 0xB7, 0xB9, 0xBB, 0xBD, 0xBF, 0xC1, 0xC4, 0xC6, 0xC8, 0xCA, 0xCB, 0xCC, 0xCD, 0xCE, 0xCF, 0xD2,
    0xD5, 0xD8, 0xDB, 0xDE, 0xDF, 0xE0, 0xE1, 0xE2, 0xE4, 0xE6, 0xE8, 0xE9, 0xEA, 0xEB, 0xEC, 0xED, 0xEF, 0xF3,
];

/// A full-width katakana with the half-width voiced (`ﾞ`) or semi-voiced (`ﾟ`) mark that
/// follows it, as one character.
fn voiced(base: char, mark: char) -> Option<char> {
    let b = base as u32;
    let voiceable = matches!(b, 0x30AB..=0x30C2) && b % 2 == 1
        || matches!(b, 0x30C4 | 0x30C6 | 0x30C8)
        || matches!(b, 0x30CF | 0x30D2 | 0x30D5 | 0x30D8 | 0x30DB);
    match mark {
        '\u{FF9E}' if b == 0x30A6 => Some('\u{30F4}'),
        '\u{FF9E}' if voiceable => char::from_u32(b + 1),
        '\u{FF9F}' if matches!(b, 0x30CF | 0x30D2 | 0x30D5 | 0x30D8 | 0x30DB) => char::from_u32(b + 2),
        _ => None,
    }
}

/// Folds `text`. ASCII text is borrowed as is; otherwise only the places where a foldable
/// character can start are visited.
pub fn fold(text: &str) -> Folded<'_> {
    if text.is_ascii() {
        return Folded { text: Cow::Borrowed(text), checkpoints: Vec::new() };
    }
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut checkpoints = Vec::new();
    let mut copied = 0; // original bytes consumed into `out`
                        // 0xE3 leads most kana, so its two foldable characters are searched for whole.
    let mut candidates = memchr::memchr3_iter(0xEF, 0xE2, 0xC2, bytes)
        .chain(memchr::memmem::find_iter(bytes, "\u{3000}".as_bytes()))
        .chain(memchr::memmem::find_iter(bytes, "\u{30FC}".as_bytes()))
        .collect::<Vec<_>>();
    if candidates.is_empty() {
        return Folded { text: Cow::Borrowed(text), checkpoints };
    }
    candidates.sort_unstable();
    for pos in candidates {
        if pos < copied || !text.is_char_boundary(pos) {
            continue;
        }
        let c = text[pos..].chars().next().unwrap();
        let prev_digit = match out.as_deref() {
            Some(o) if copied == pos => o.as_bytes().last().is_some_and(u8::is_ascii_digit),
            _ => pos > 0 && bytes[pos - 1].is_ascii_digit(),
        };
        if let Some(mut a) = fold_char(c, prev_digit) {
            let mut len = c.len_utf8();
            if let Some(v) = text[pos + len..].chars().next().and_then(|m| voiced(a, m)) {
                a = v;
                len += 3; // the marks are three bytes
            }
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[copied..pos]);
            o.push(a);
            copied = pos + len;
            checkpoints.push((o.len(), copied));
        }
    }
    match out {
        None => Folded { text: Cow::Borrowed(text), checkpoints: Vec::new() },
        Some(mut o) => {
            o.push_str(&text[copied..]);
            Folded { text: Cow::Owned(o), checkpoints }
        }
    }
}

/// Folds a keyword or example value the same way as text.
pub fn fold_str(s: &str) -> String {
    fold(s).text.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_full_width_and_maps_back() {
        let s = "番号は１２３４－５６７８です";
        let f = fold(s);
        assert_eq!(f.text, "番号は1234-5678です");
        let start = f.text.find('1').unwrap();
        let end = f.text.find('で').unwrap();
        let (os, oe) = (f.original(start), f.original(end));
        assert_eq!(&s[os..oe], "１２３４－５６７８");
    }

    #[test]
    fn prolonged_mark_is_a_dash_only_after_digits() {
        assert_eq!(fold("03ー1234ー5678").text, "03-1234-5678");
        assert_eq!(fold("データ").text, "データ");
        assert_eq!(fold("ｅｘａｍｐｌｅ＠ｍａｉｌ").text, "example@mail");
    }

    #[test]
    fn half_width_katakana_reads_as_full_width() {
        let s = "ﾏｲﾅﾝﾊﾞｰ：1234 ﾊﾟｽﾎﾟｰﾄ ｳﾞ";
        let f = fold(s);
        assert_eq!(f.text, "マイナンバー:1234 パスポート ヴ");
        let start = f.text.find('1').unwrap();
        assert_eq!(&s[f.original(start)..f.original(start + 4)], "1234");
        assert_eq!(fold("03ｰ1234").text, "03-1234");
    }

    #[test]
    fn ascii_is_borrowed() {
        assert!(matches!(fold("plain").text, Cow::Borrowed(_)));
    }
}
