//! The digit-run scanner: one pass that finds every number-shaped candidate.
//!
//! Cards, My Numbers, corporate numbers, SSNs, phone and account numbers overlap (a 16-digit
//! card also has the shape of a 12-digit My Number), so a single leftmost-first regex would
//! hide some of them. Instead the text is cut once into maximal *runs*: digit groups joined by
//! single separators, bounded by non-alphanumeric characters. Each contiguous slice of a run's
//! groups is then offered to every number-shaped type, which checks the digit count and the
//! grouping before any validator runs.

/// A group of digits in a run: byte range in the text, and the separator after it (if any).
#[derive(Clone, Copy, Debug)]
pub struct Group {
    pub start: usize,
    pub end: usize,
    pub sep: u8,
}

const L: u64 = 0x0101_0101_0101_0101;

/// True when any byte of the word is an ASCII digit (bytes strictly between 0x2F and 0x3A).
#[inline]
fn has_digit(x: u64) -> bool {
    let lo7 = x & (L * 127);
    ((L * (127 + 0x3A)).wrapping_sub(lo7) & !x & (lo7 + L * (127 - 0x2F)) & (L * 128)) != 0
}

/// The position of the next ASCII digit at or after `from`, eight bytes at a time.
#[inline]
pub fn next_digit(b: &[u8], mut from: usize) -> Option<usize> {
    while from + 8 <= b.len() {
        let w = u64::from_le_bytes(b[from..from + 8].try_into().unwrap());
        if has_digit(w) {
            break;
        }
        from += 8;
    }
    b[from..].iter().position(u8::is_ascii_digit).map(|i| from + i)
}

/// Calls `f` with the groups of each maximal digit run whose ends are not glued to letters
/// or digits. `seps` are the bytes that may join two groups.
pub fn for_each_run(text: &[u8], seps: &[bool; 256], mut f: impl FnMut(&[Group])) {
    let mut groups: Vec<Group> = Vec::with_capacity(8);
    let mut pos = 0;
    while let Some(start) = next_digit(text, pos) {
        groups.clear();
        let mut i = start;
        loop {
            let gs = i;
            while i < text.len() && text[i].is_ascii_digit() {
                i += 1;
            }
            let sep =
                if i + 1 < text.len() && seps[text[i] as usize] && text[i + 1].is_ascii_digit() { text[i] } else { 0 };
            groups.push(Group { start: gs, end: i, sep });
            if sep == 0 {
                break;
            }
            i += 1;
        }
        pos = i;
        let glued_before = start > 0 && text[start - 1].is_ascii_alphanumeric();
        let glued_after = i < text.len() && text[i].is_ascii_alphanumeric();
        if !glued_before && !glued_after {
            f(&groups);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(s: &str) -> Vec<Vec<&str>> {
        let mut seps = [false; 256];
        seps[b' ' as usize] = true;
        seps[b'-' as usize] = true;
        let mut out = Vec::new();
        for_each_run(s.as_bytes(), &seps, |g| out.push(g.iter().map(|g| &s[g.start..g.end]).collect()));
        out
    }

    #[test]
    fn finds_runs_with_separators_and_skips_glued_ones() {
        assert_eq!(runs("番号は4111111111111111です"), vec![vec!["4111111111111111"]]);
        assert_eq!(runs("tel 03-1234-5678."), vec![vec!["03", "1234", "5678"]]);
        assert_eq!(runs("id x1234 and 99"), vec![vec!["99"]]);
        assert_eq!(runs("a 12  34"), vec![vec!["12"], vec!["34"]]);
    }

    #[test]
    fn swar_digit_test_is_exact() {
        for b in 0..=255u8 {
            let w = u64::from_le_bytes([b, b'a', 0xE3, 0xFF, b' ', b'/', b':', 0x80]);
            assert_eq!(has_digit(w), b.is_ascii_digit(), "byte {b}");
        }
    }
}
