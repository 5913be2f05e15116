//! Rich Text Format: text with control words, destinations that hold no prose (fonts,
//! pictures, field codes) skipped, `\'hh` bytes decoded in the document's code page and `\uN`
//! characters with their fallbacks dropped.

use crate::{Cx, Error};
use encoding_rs::Encoding;

/// Destinations whose content is not text a person reads.
const SKIP: &[&str] = &[
    "fonttbl",
    "colortbl",
    "stylesheet",
    "info",
    "pict",
    "object",
    "objdata",
    "themedata",
    "colorschememapping",
    "datastore",
    "latentstyles",
    "listtable",
    "listoverridetable",
    "rsidtbl",
    "generator",
    "xmlnstbl",
    "mmathPr",
    "fldinst",
    "pgdsctbl",
    "filetbl",
    "revtbl",
    "bkmkstart",
    "bkmkend",
];

/// Deeper groups are flattened into their parent: hostile input cannot grow the stack.
const MAX_GROUPS: usize = 512;

#[derive(Clone, Copy)]
struct Group {
    skip: bool,
    /// Fallback characters that follow each `\uN`.
    uc: usize,
}

pub(crate) fn extract(data: &[u8], cx: &mut Cx) -> Result<(), Error> {
    let mut out = Out { text: String::new(), bytes: Vec::new(), encoding: encoding_rs::WINDOWS_1252 };
    let mut stack = vec![Group { skip: false, uc: 1 }];
    let mut pending_skip = 0usize; // fallback characters still to drop after \uN
    let mut i = 0;
    while i < data.len() {
        if i % (1 << 20) == 0 {
            cx.budget.check_time()?;
        }
        let top = *stack.last().unwrap_or(&Group { skip: false, uc: 1 });
        let b = data[i];
        match b {
            b'{' => {
                if stack.len() < MAX_GROUPS {
                    stack.push(top);
                }
                i += 1;
                // `{\*\dest ...}`: an optional destination this reader does not know
                if data[i..].starts_with(b"\\*") {
                    if let Some(g) = stack.last_mut() {
                        g.skip = true;
                    }
                }
            }
            b'}' => {
                if stack.len() > 1 {
                    stack.pop();
                }
                i += 1;
            }
            b'\r' | b'\n' => i += 1,
            b'\\' => {
                let (word, param, next) = control(data, i + 1);
                i = next;
                let emit_text = !top.skip;
                match word {
                    Word::Symbol(c) => {
                        if pending_skip > 0 {
                            pending_skip -= 1;
                        } else if emit_text {
                            out.push_char(c);
                        }
                    }
                    Word::Hex(byte) => {
                        if pending_skip > 0 {
                            pending_skip -= 1;
                        } else if emit_text {
                            out.bytes.push(byte);
                        }
                    }
                    Word::Name(name) => {
                        pending_skip = 0;
                        match name {
                            n if SKIP.contains(&n) => {
                                if let Some(g) = stack.last_mut() {
                                    g.skip = true;
                                }
                            }
                            // comments are optional destinations, and text a person reads
                            "annotation" => {
                                if let Some(g) = stack.last_mut() {
                                    g.skip = false;
                                }
                            }
                            "ansicpg" => out.encoding = codepage(param.unwrap_or(1252)),
                            "uc" => {
                                if let Some(g) = stack.last_mut() {
                                    g.uc = param.unwrap_or(1).clamp(0, 16) as usize;
                                }
                            }
                            "u" if emit_text => {
                                let n = param.unwrap_or(0);
                                let n = if n < 0 { n + 65536 } else { n };
                                out.push_char(char::from_u32(n as u32).unwrap_or('\u{FFFD}'));
                                pending_skip = top.uc;
                            }
                            "par" | "line" | "sect" | "page" | "row" if emit_text => out.push_char('\n'),
                            "tab" | "cell" if emit_text => out.push_char('\t'),
                            _ => {}
                        }
                    }
                }
            }
            _ => {
                if pending_skip > 0 {
                    pending_skip -= 1;
                } else if !top.skip {
                    out.bytes.push(b);
                }
                i += 1;
            }
        }
    }
    out.flush();
    cx.part("", &out.text, &[]);
    Ok(())
}

struct Out {
    text: String,
    /// Raw bytes in the document's code page, decoded together (double-byte code pages).
    bytes: Vec<u8>,
    encoding: &'static Encoding,
}

impl Out {
    fn flush(&mut self) {
        if !self.bytes.is_empty() {
            let (s, _, _) = self.encoding.decode(&self.bytes);
            self.text.push_str(&s);
            self.bytes.clear();
        }
    }

    fn push_char(&mut self, c: char) {
        self.flush();
        self.text.push(c);
    }
}

enum Word<'a> {
    Name(&'a str),
    Symbol(char),
    Hex(u8),
}

/// Parses a control word or symbol after a backslash at `i`: (word, parameter, next index).
fn control(data: &[u8], i: usize) -> (Word<'_>, Option<i32>, usize) {
    let Some(&c) = data.get(i) else { return (Word::Name(""), None, i) };
    if c == b'\'' {
        let hex = data.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        return match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(b) => (Word::Hex(b), None, i + 3),
            None => (Word::Name(""), None, i + 1),
        };
    }
    if !c.is_ascii_alphabetic() {
        let sym = match c {
            b'~' => ' ',
            b'_' => '-',
            b'\\' | b'{' | b'}' => c as char,
            b'\n' | b'\r' => '\n',
            _ => return (Word::Name(""), None, i + 1),
        };
        return (Word::Symbol(sym), None, i + 1);
    }
    let start = i;
    let mut j = i;
    while j < data.len() && data[j].is_ascii_alphabetic() && j - start < 32 {
        j += 1;
    }
    let name = std::str::from_utf8(&data[start..j]).unwrap_or("");
    let num_start = j;
    if j < data.len() && data[j] == b'-' {
        j += 1;
    }
    while j < data.len() && data[j].is_ascii_digit() && j - num_start < 10 {
        j += 1;
    }
    let param = std::str::from_utf8(&data[num_start..j]).ok().and_then(|s| s.parse().ok());
    if j < data.len() && data[j] == b' ' {
        j += 1;
    }
    (Word::Name(name), param, j)
}

fn codepage(cp: i32) -> &'static Encoding {
    let label = match cp {
        932 => "shift_jis".to_string(),
        936 => "gbk".to_string(),
        949 => "euc-kr".to_string(),
        950 => "big5".to_string(),
        65001 => "utf-8".to_string(),
        n => format!("windows-{n}"),
    };
    Encoding::for_label(label.as_bytes()).unwrap_or(encoding_rs::WINDOWS_1252)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtf_text_with_code_page_and_unicode() {
        let rtf = br"{\rtf1\ansi\ansicpg932{\fonttbl{\f0 MS Mincho;}}{\*\generator x;}\f0 \'8c\'c2\'90\'6c\'94\'d4\'8d\'86 6214\par 9832 0257 \u12354?\tab end}";
        let mut text = String::new();
        struct S<'a>(&'a mut String);
        impl crate::Sink for S<'_> {
            fn window(&mut self, w: &crate::Window) {
                self.0.push_str(w.text);
            }
            fn member(&mut self, _: &str, _: Result<Vec<u8>, Error>, _: &crate::Budget) {}
        }
        let budget = crate::Budget::new(crate::Limits::default());
        let mut sink = S(&mut text);
        let mut cx = Cx { budget: &budget, sink: &mut sink, problems: vec![] };
        extract(rtf, &mut cx).unwrap();
        assert_eq!(text, "個人番号 6214\n9832 0257 あ\tend");
    }
}
