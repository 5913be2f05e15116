//! Streaming decode of a text item into overlapping windows.

use crate::table::Delimited;
use crate::{sniff, Error, Mark, Sniffed};
use encoding_rs::{CoderResult, Encoding};
use mamori_model::Layout;
use std::io::Read;

/// How text is cut into windows.
#[derive(Clone, Debug)]
pub struct TextOptions {
    /// Target size of one window of decoded text, in bytes.
    pub window: usize,
    /// Bytes of context each window shares with its neighbour on each side: at least the
    /// longest match plus its keyword window.
    pub context: usize,
    /// Items larger than this (on disk) are skipped; `None` for no limit.
    pub max_size: Option<u64>,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions { window: 8 << 20, context: 16 << 10, max_size: None }
    }
}

/// A stretch of decoded text. Matches starting in `report` are this window's to report; the
/// rest is context shared with the neighbours.
pub struct Window<'a> {
    pub text: &'a str,
    /// Offset of `text[0]` in the whole decoded text (UTF-8 bytes).
    pub base: u64,
    /// 1-based line number of `text[0]`.
    pub line: u64,
    pub report: std::ops::Range<usize>,
    /// Which part of the item the text came from (`word/footer1.xml`, `slide 3 notes`); empty
    /// for plain text.
    pub part: &'a str,
    /// Finer places inside `text`, in offset order.
    pub marks: &'a [Mark],
    /// The tables in `text`: each cell's column header and row label, when known.
    pub layout: Option<&'a Layout>,
}

impl Window<'_> {
    /// Where the text at `offset` came from: the last mark at or before it, else the part.
    pub fn place(&self, offset: usize) -> Option<&str> {
        let i = self.marks.partition_point(|m| m.offset <= offset);
        match i {
            0 if self.part.is_empty() => None,
            0 => Some(self.part),
            _ => Some(&self.marks[i - 1].place),
        }
    }
}

/// What was read.
#[derive(Clone, Debug)]
pub struct TextInfo {
    /// The encoding's WHATWG name (`UTF-8`, `Shift_JIS`, `EUC-JP`, `UTF-16LE`, ...).
    pub encoding: &'static str,
    /// True when some bytes were not valid in the encoding and were replaced.
    pub lossy: bool,
    /// Bytes read from the item.
    pub bytes: u64,
}

impl TextInfo {
    /// The encoding as reported: its name, and whether bytes were replaced.
    pub fn label(&self) -> String {
        if self.lossy {
            format!("{} (invalid bytes replaced)", self.encoding)
        } else {
            self.encoding.to_string()
        }
    }
}

/// Decodes a whole text item held in memory (markup, mail) with the sniffed encoding.
pub(crate) fn decode_all(data: &[u8]) -> (String, String) {
    let (encoding, bom) = match sniff(&data[..data.len().min(64 << 10)]) {
        Sniffed::Text { encoding, bom } => (encoding, bom),
        Sniffed::Binary { .. } => (encoding_rs::UTF_8, 0),
    };
    let (text, lossy) = encoding.decode_without_bom_handling(&data[bom..]);
    let info = TextInfo { encoding: encoding.name(), lossy, bytes: data.len() as u64 };
    (text.into_owned(), info.label())
}

/// Reads an item, sniffs it, and calls `on_window` for each window of its text.
pub fn read_text<R: Read>(
    mut reader: R,
    opts: &TextOptions,
    mut on_window: impl FnMut(&Window),
) -> Result<TextInfo, Error> {
    let window = opts.window.max(opts.context * 4).max(4096);
    let chunk = (window / 2).clamp(64 << 10, 4 << 20);
    // Most files are small: start with 64 KiB and grow to the full chunk only for a file that
    // fills it. (A 4 MiB zeroed buffer per file cost more than the scan once the allocator
    // served it from the heap, after other big blocks had been freed.)
    let mut raw = vec![0u8; 64 << 10];
    let mut filled = fill(&mut reader, &mut raw)?;
    let mut total = filled as u64;
    let head = &raw[..filled.min(64 << 10)];
    let (encoding, bom): (&'static Encoding, usize) = match sniff(head) {
        Sniffed::Text { encoding, bom } => (encoding, bom),
        Sniffed::Binary { format, reason } => {
            return Err(Error::Unsupported { format, reason: reason.to_string() });
        }
    };
    opts.check_size(total)?;
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut text = String::with_capacity(if filled < raw.len() { filled * 3 } else { window + chunk * 3 });
    let mut lossy = false;
    let mut base = 0u64; // decoded bytes before text[0]
    let mut line = 1u64;
    let mut report_from = 0usize; // where this window's own part starts
    let mut input_start = bom;
    // a CSV/TSV file's header, read from its first window, labels the cells of every window
    let mut table: Option<Option<Delimited>> = None;
    loop {
        let last = filled < raw.len();
        let mut input = &raw[input_start..filled];
        loop {
            // decode_to_string writes only into spare capacity; OutputFull brings us back here
            text.reserve(decoder.max_utf8_buffer_length(input.len()).unwrap_or(chunk * 3));
            let (res, read, replaced) = decoder.decode_to_string(input, &mut text, last);
            lossy |= replaced;
            input = &input[read..];
            if res == CoderResult::InputEmpty {
                break;
            }
        }
        // hand out full windows, keeping 2 × context as the next window's prefix
        while text.len() >= window + 2 * opts.context || (last && !text.is_empty()) {
            let end =
                if last && text.len() < window + 2 * opts.context { text.len() } else { floor_char(&text, window) };
            let is_last = last && end == text.len();
            let report_to = if is_last { end } else { floor_char(&text, end - opts.context) };
            let table = table.get_or_insert_with(|| Delimited::sniff(&text[..end]));
            let layout = table.as_ref().map(|t| t.layout(&text[..end], base == 0));
            on_window(&Window {
                text: &text[..end],
                base,
                line,
                report: report_from..report_to.max(report_from),
                part: "",
                marks: &[],
                layout: layout.as_ref(),
            });
            if is_last {
                text.clear();
                break;
            }
            let keep_from = floor_char(&text, end - 2 * opts.context);
            line += memchr::memchr_iter(b'\n', &text.as_bytes()[..keep_from]).count() as u64;
            base += keep_from as u64;
            report_from = report_to.max(report_from) - keep_from;
            text.drain(..keep_from);
        }
        if last {
            break;
        }
        raw.resize(chunk, 0);
        filled = fill(&mut reader, &mut raw)?;
        total += filled as u64;
        opts.check_size(total)?;
        input_start = 0;
    }
    Ok(TextInfo { encoding: encoding.name(), lossy, bytes: total })
}

impl TextOptions {
    /// `OverBudget` when `size` bytes exceed `max_size`. Callers that know a file's size can
    /// ask before reading it.
    pub fn check_size(&self, size: u64) -> Result<(), Error> {
        match self.max_size {
            Some(max) if size > max => Err(Error::OverBudget(format!("larger than the size limit of {max} bytes"))),
            _ => Ok(()),
        }
    }
}

/// Reads until `buf` is full or the input ends.
fn fill<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

pub(crate) fn floor_char(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (text, base, line, report range) of each window.
    type Seen = Vec<(String, u64, u64, std::ops::Range<usize>)>;

    fn windows(data: &[u8], window: usize, context: usize) -> (Seen, TextInfo) {
        let mut out = Vec::new();
        let opts = TextOptions { window, context, max_size: None };
        let info =
            read_text(data, &opts, |w| out.push((w.text.to_string(), w.base, w.line, w.report.clone()))).unwrap();
        (out, info)
    }

    #[test]
    fn report_regions_tile_the_text_exactly() {
        let text: String = (0..20000).map(|i| format!("行{i} line\n")).collect();
        let (ws, info) = windows(text.as_bytes(), 40000, 1000);
        assert!(ws.len() > 3, "{}", ws.len());
        assert_eq!(info.encoding, "UTF-8");
        let mut covered = 0u64;
        for (t, base, line, r) in &ws {
            assert_eq!(base + r.start as u64, covered, "gap or overlap");
            assert_eq!(&text[*base as usize..*base as usize + t.len()], t.as_str());
            let expect_line = text[..*base as usize].matches('\n').count() as u64 + 1;
            assert_eq!(*line, expect_line);
            covered = base + r.end as u64;
        }
        assert_eq!(covered, text.len() as u64);
    }

    #[test]
    fn decodes_shift_jis_across_chunks() {
        let text = "マイナンバー 6214 9832 0257。".repeat(50000);
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
        let (ws, info) = windows(&sjis, 100_000, 2000);
        assert_eq!(info.encoding, "Shift_JIS");
        assert!(!info.lossy);
        let joined: String = ws.iter().map(|(t, _, _, r)| &t[r.clone()]).collect();
        assert_eq!(joined, text);
    }

    #[test]
    fn binary_and_size_limits_are_reasons() {
        let err = read_text(&b"\x7FELF\x02\x01"[..], &TextOptions::default(), |_| {}).unwrap_err();
        assert!(matches!(err, Error::Unsupported { format: "elf", .. }));
        let opts = TextOptions { max_size: Some(10), ..TextOptions::default() };
        let err = read_text(&b"plain text longer than ten bytes"[..], &opts, |_| {}).unwrap_err();
        assert!(matches!(err, Error::OverBudget(_)));
    }

    #[test]
    fn empty_input_is_empty_text() {
        let (ws, info) = windows(b"", 4096, 100);
        assert!(ws.is_empty());
        assert_eq!(info.bytes, 0);
    }
}
