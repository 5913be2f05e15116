//! Tables in text: which header and which row label each cell has.
//!
//! In a roster the keyword is the column header (`個人番号`, `SSN`) and the values sit in rows
//! far below it, out of any keyword window. Extractors write tables as rows of delimited cells
//! (spreadsheets, Word/ODF/HTML tables with tabs, CSV/TSV with their delimiter), so one reader
//! of delimited lines gives every format the same [`Layout`]: each cell's span with its column
//! header and its row label. The detection engine takes that as data.

use mamori_model::{LabeledSpan, Layout};
use std::collections::HashMap;

/// Longest cell taken as a header or a row label: longer text is a sentence, not a name.
const MAX_LABEL_CHARS: usize = 48;
/// Lines looked at to decide whether plain text is a delimited table.
const SNIFF_LINES: usize = 30;
/// Columns of a row given labels: a hostile line of a million commas must not become a
/// million spans (a real sheet this wide has no header over most of it anyway).
const MAX_COLUMNS: usize = 1024;
/// Spans one layout may hold (24 MiB): past it, the rest of the text goes unlabeled.
const MAX_SPANS: usize = 1 << 20;

/// True when a cell reads as a name for other cells (`電話番号`, `Card no.`) rather than a
/// value: some letter, no long run of digits, short.
fn is_label(cell: &str) -> bool {
    let t = cell.trim();
    let mut run = 0;
    for b in t.bytes() {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        if run >= 5 {
            return false;
        }
    }
    !t.is_empty() && t.chars().any(char::is_alphabetic) && t.chars().count() <= MAX_LABEL_CHARS
}

/// True when a row reads as a header: two or more filled cells, every one a label.
fn is_header(cells: &[&str]) -> bool {
    let filled: Vec<&&str> = cells.iter().filter(|c| !c.trim().is_empty()).collect();
    filled.len() >= 2 && filled.iter().all(|c| is_label(c))
}

/// The fields of one line, as byte ranges into it. With `quoted`, a field in double quotes
/// may hold the delimiter (`"Tokyo, Japan"`), and its range leaves the quotes out.
fn fields(line: &str, delim: u8, quoted: bool, out: &mut Vec<(usize, usize)>) {
    out.clear();
    let b = line.as_bytes();
    let mut i = 0;
    loop {
        if quoted && b.get(i) == Some(&b'"') {
            let start = i + 1;
            let mut j = start;
            while j < b.len() {
                if b[j] == b'"' {
                    if b.get(j + 1) == Some(&b'"') {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            out.push((start, j.min(b.len())));
            i = memchr::memchr(delim, &b[j.min(b.len())..]).map_or(b.len(), |k| j + k);
        } else {
            let end = memchr::memchr(delim, &b[i..]).map_or(b.len(), |k| i + k);
            out.push((i, end));
            i = end;
        }
        if i >= b.len() {
            break;
        }
        i += 1; // past the delimiter
    }
}

/// Builds a [`Layout`], labels stored once.
#[derive(Default)]
struct Builder {
    layout: Layout,
    index: HashMap<String, u32>,
}

impl Builder {
    fn label(&mut self, text: &str) -> u32 {
        let t = text.trim();
        if let Some(&i) = self.index.get(t) {
            return i;
        }
        let i = self.layout.labels.len() as u32;
        self.layout.labels.push(t.to_string());
        self.index.insert(t.to_string(), i);
        i
    }

    /// The spans of one data row at `base`: each filled cell with its column's header and the
    /// row's label (its first filled cell, when that is a label).
    fn row(&mut self, line: &str, base: usize, cells: &[(usize, usize)], header: &[Option<u32>]) {
        let first = cells.iter().position(|&(s, e)| !line[s..e].trim().is_empty());
        let row = first.filter(|_| cells.len() >= 2).and_then(|i| {
            let (s, e) = cells[i];
            is_label(&line[s..e]).then(|| (i, self.label(&line[s..e])))
        });
        for (i, &(s, e)) in cells.iter().enumerate().take(MAX_COLUMNS) {
            if s >= e || line[s..e].trim().is_empty() {
                continue;
            }
            let column = header.get(i).copied().flatten();
            let row = row.filter(|&(ri, _)| ri != i).map(|(_, l)| l);
            if (column.is_some() || row.is_some()) && self.layout.spans.len() < MAX_SPANS {
                self.layout.spans.push(LabeledSpan { start: base + s, end: base + e, column, row });
            }
        }
    }
}

/// The tables in a document's text: blocks of consecutive lines with tab-separated cells
/// (how spreadsheets, Word, ODF and HTML tables are written out). A block whose first line
/// is a header labels the columns of the lines below it. A PDF gives a table column by column
/// instead: a label line, then one value a line; the label names each value of that list.
pub(crate) fn document_layout(text: &str) -> Layout {
    let mut b = Builder::default();
    let mut header: Option<Vec<Option<u32>>> = None; // inside a block: its column labels
    let mut list: Option<u32> = None; // inside a list: its label
    let mut cells = Vec::new();
    let mut base = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        if memchr::memchr(b'\t', content.as_bytes()).is_none() {
            header = None;
            let value = content.trim();
            if value.is_empty() || is_label(value) || value.chars().count() > MAX_LABEL_CHARS {
                list = is_label(value).then(|| b.label(value));
            } else if let Some(label) = list.filter(|_| b.layout.spans.len() < MAX_SPANS) {
                let start = base + (value.as_ptr() as usize - content.as_ptr() as usize);
                b.layout.spans.push(LabeledSpan { start, end: start + value.len(), column: Some(label), row: None });
            }
            base += line.len();
            continue;
        }
        list = None;
        fields(content, b'\t', false, &mut cells);
        match &header {
            None => {
                let texts: Vec<&str> = cells.iter().map(|&(s, e)| &content[s..e]).collect();
                if is_header(&texts) {
                    header = Some(cells.iter().map(|&(s, e)| Some(b.label(&content[s..e]))).collect());
                } else {
                    header = Some(Vec::new());
                    b.row(content, base, &cells, &[]);
                }
            }
            Some(h) => {
                let h = h.clone();
                b.row(content, base, &cells, &h);
            }
        }
        base += line.len();
    }
    b.layout
}

/// Plain text that is one delimited table (CSV, TSV, semicolon- or pipe-separated): its
/// delimiter and its header, read from the start of the file and applied to every window.
pub(crate) struct Delimited {
    delim: u8,
    header: Vec<String>,
}

impl Delimited {
    /// Decides from the first lines whether `head` (the start of a file) is a delimited table
    /// with a header: the same number of fields (two or more) on nearly every line, under a
    /// first line that reads as a header.
    pub fn sniff(head: &str) -> Option<Delimited> {
        let lines: Vec<&str> = head.lines().take(SNIFF_LINES + 1).filter(|l| !l.trim().is_empty()).collect();
        // the last line may be cut short by the end of the window
        let lines = if lines.len() > SNIFF_LINES { &lines[..SNIFF_LINES] } else { &lines[..] };
        if lines.len() < 2 {
            return None;
        }
        let mut cells = Vec::new();
        for delim in [b'\t', b',', b';', b'|'] {
            let mut counts = Vec::with_capacity(lines.len());
            for l in lines {
                fields(l, delim, true, &mut cells);
                counts.push(cells.len());
            }
            let n = counts[0];
            let agree = counts.iter().filter(|&&c| c == n).count();
            if n < 2 || agree * 10 < lines.len() * 9 {
                continue;
            }
            fields(lines[0], delim, true, &mut cells);
            let texts: Vec<&str> = cells.iter().map(|&(s, e)| &lines[0][s..e]).collect();
            if !is_header(&texts) {
                return None;
            }
            return Some(Delimited { delim, header: texts.iter().map(|t| t.trim().to_string()).collect() });
        }
        None
    }

    /// The layout of one window of the file. `whole_lines` says the window starts at a line's
    /// start (the first window); otherwise its first, partial line is left to the window
    /// before it, which holds it whole.
    pub fn layout(&self, text: &str, whole_lines: bool) -> Layout {
        let mut b = Builder::default();
        let header: Vec<Option<u32>> = self.header.iter().map(|h| Some(b.label(h))).collect();
        let mut cells = Vec::new();
        let mut base =
            if whole_lines { 0 } else { memchr::memchr(b'\n', text.as_bytes()).map_or(text.len(), |i| i + 1) };
        for line in text[base..].split_inclusive('\n') {
            let content = line.trim_end_matches(['\n', '\r']);
            fields(content, self.delim, true, &mut cells);
            if cells.len() >= 2 {
                b.row(content, base, &cells, &header);
            }
            base += line.len();
        }
        b.layout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels_of(layout: &Layout, text: &str, value: &str) -> (Option<String>, Option<String>) {
        let at = text.find(value).unwrap();
        let s = layout.span_of(at, at + value.len()).expect("a span");
        let name = |i: Option<u32>| i.map(|i| layout.labels[i as usize].clone());
        (name(s.column), name(s.row))
    }

    #[test]
    fn csv_header_labels_cells_far_below() {
        let mut text = String::from("社員番号,氏名,\"個人番号\",電話番号\n");
        for i in 0..500 {
            text.push_str(&format!("{i:06},\"山田, 太郎\",1234 5678 {i:04},090-0000-{i:04}\n"));
        }
        let d = Delimited::sniff(&text).expect("a table");
        let layout = d.layout(&text, true);
        assert_eq!(labels_of(&layout, &text, "1234 5678 0499"), (Some("個人番号".into()), None));
        assert_eq!(labels_of(&layout, &text, "090-0000-0498"), (Some("電話番号".into()), None));
        // a later window starting mid-line knows the header too
        let cut = text.find("000400").unwrap() - 3;
        let tail = &text[cut..];
        let layout = d.layout(tail, false);
        assert_eq!(labels_of(&layout, tail, "1234 5678 0450").0.as_deref(), Some("個人番号"));
    }

    #[test]
    fn prose_and_headerless_data_are_not_tables() {
        assert!(Delimited::sniff("Dear team,\nthe numbers are in, as promised.\nRegards\n").is_none());
        assert!(Delimited::sniff("1000000001,2023-05-27,85655\n1000000002,2023-05-28,1200\n").is_none());
    }

    #[test]
    fn document_tables_and_row_labels() {
        let text = "Staff list\nName\tPassport No.\tPhone\nA. Sato\tTK1234567\t03-1234-5678\n\nend\n個人番号\t6214 9832 0257\n";
        let layout = document_layout(text);
        assert_eq!(labels_of(&layout, text, "TK1234567"), (Some("Passport No.".into()), Some("A. Sato".into())));
        // a one-row block with a label first: the label names its row's value
        assert_eq!(labels_of(&layout, text, "6214 9832 0257"), (None, Some("個人番号".into())));
        assert!(layout.span_of(text.find("Staff").unwrap(), text.find("Staff").unwrap() + 5).is_none());
    }

    #[test]
    fn a_label_names_the_list_below_it() {
        let text = "取引先一覧\n法人番号\n1312402197729\n2445901726587\n\n備考\nなし\n";
        let layout = document_layout(text);
        assert_eq!(labels_of(&layout, text, "2445901726587").0.as_deref(), Some("法人番号"));
        assert_eq!(labels_of(&layout, text, "1312402197729").0.as_deref(), Some("法人番号"));
        // a label line is a label, not a value of the list above it
        assert!(layout.span_of(text.find("備考").unwrap(), text.find("備考").unwrap() + 6).is_none());
    }

    #[test]
    fn a_hostile_row_is_bounded() {
        let text = format!("名前,番号\n{}\n", "a,".repeat(200_000));
        let d = Delimited::sniff("名前,番号\n山田,1\n佐藤,2\n").unwrap();
        let layout = d.layout(&text, true);
        assert!(layout.spans.len() <= MAX_COLUMNS + 2, "{}", layout.spans.len());
    }

    #[test]
    fn quoted_fields_keep_their_delimiters() {
        let mut out = Vec::new();
        let line = r#"a,"b, c","say ""hi""",d"#;
        fields(line, b',', true, &mut out);
        let got: Vec<&str> = out.iter().map(|&(s, e)| &line[s..e]).collect();
        assert_eq!(got, ["a", "b, c", r#"say ""hi"""#, "d"]);
    }
}
