//! Labels in mail (.eml): the `msip_labels` header Exchange writes, `Key=Value; Key=Value`.
//! A rewrite replaces that one header and keeps every other byte, the body included.

use crate::meta::MsipLabel;
use crate::{Change, Error, Found, Store};

/// Splits a message into its header block (with the blank line) and the rest.
fn header_end(data: &[u8]) -> usize {
    let crlf = memchr::memmem::find(data, b"\r\n\r\n").map(|i| i + 4);
    let lf = memchr::memmem::find(data, b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(data.len()),
    }
}

/// The header lines (each with its continuation lines) as byte ranges.
fn fields(head: &[u8]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut at = 0;
    while at < head.len() {
        let end = head[at..].iter().position(|&b| b == b'\n').map_or(head.len(), |i| at + i + 1);
        let continues = matches!(head[at], b' ' | b'\t');
        match out.last_mut() {
            Some(last) if continues => last.1 = end,
            _ => out.push((at, end)),
        }
        at = end;
    }
    out
}

fn is_msip(line: &[u8]) -> bool {
    line.len() > 11
        && line[..11].eq_ignore_ascii_case(b"msip_labels")
        && line[11..].trim_ascii_start().starts_with(b":")
}

fn value(line: &[u8]) -> String {
    let s = String::from_utf8_lossy(line);
    let v = s.split_once(':').map_or("", |(_, v)| v);
    v.replace("\r\n", "").replace('\n', "")
}

pub(crate) fn read(data: &[u8]) -> Result<Vec<Found>, Error> {
    let head = &data[..header_end(data)];
    let labels = fields(head)
        .into_iter()
        .filter(|&(a, b)| is_msip(&head[a..b]))
        .flat_map(|(a, b)| MsipLabel::parse_header(&value(&head[a..b])));
    Ok(labels.map(|label| Found { label, store: Store::MailHeader }).collect())
}

pub(crate) fn write(data: &[u8], change: &Change, current: &[Found]) -> Result<Vec<u8>, Error> {
    let end = header_end(data);
    let head = &data[..end];
    let newline: &[u8] = if head.windows(2).any(|w| w == b"\r\n") { b"\r\n" } else { b"\n" };
    let keep = change.labels_after(current);
    let mut out = Vec::with_capacity(data.len() + 512);
    let spans = fields(head);
    let blank = spans.iter().position(|&(a, b)| head[a..b].trim_ascii().is_empty()).unwrap_or(spans.len());
    for (i, &(a, b)) in spans.iter().enumerate() {
        if i == blank && !keep.is_empty() {
            out.extend_from_slice(&folded(&keep, newline));
        }
        if !is_msip(&head[a..b]) {
            out.extend_from_slice(&head[a..b]);
        }
    }
    if blank == spans.len() && !keep.is_empty() {
        // Headers only: the last one may lack its line end, and must not swallow ours.
        if !out.is_empty() && !out.ends_with(b"\n") {
            out.extend_from_slice(newline);
        }
        out.extend_from_slice(&folded(&keep, newline));
    }
    out.extend_from_slice(&data[end..]);
    Ok(out)
}

/// `msip_labels: k=v;` folded one pair per line, as Exchange does, to stay under 998 octets.
fn folded(labels: &[MsipLabel], newline: &[u8]) -> Vec<u8> {
    let mut out = b"msip_labels:".to_vec();
    for l in labels {
        for (k, v) in l.to_pairs() {
            out.extend_from_slice(b" ");
            out.extend_from_slice(format!("{k}={v};").as_bytes());
            out.extend_from_slice(newline);
        }
    }
    if out.ends_with(newline) {
        out.truncate(out.len() - newline.len());
    }
    // Fold: every pair after the first starts a continuation line.
    out.extend_from_slice(newline);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> MsipLabel {
        MsipLabel::new(
            "2096f6a2-d2f7-48be-b329-b73aaa526e5d",
            "cb46c030-1825-4e81-a295-151c039dbf02",
            "Confidential",
            crate::Method::Privileged,
        )
    }

    #[test]
    fn folded_header_is_one_field() {
        let l = sample();
        let h = folded(std::slice::from_ref(&l), b"\r\n");
        assert_eq!(fields(&h).len(), 1, "{}", String::from_utf8_lossy(&h));
        let back = MsipLabel::parse_header(&value(&h));
        assert_eq!(back, vec![l]);
    }

    #[test]
    fn a_message_of_headers_only_gets_its_own_label_line() {
        // Found by fuzzing: the last header had no line end, and the label became part of it.
        let l = sample();
        let change = Change::new(&l.site_id, Some(&l), crate::Metadata::Auto, &[]);
        let msg = b"From: a@example.com\nSubject: s\n continued";
        let out = write(msg, &change, &[]).unwrap();
        let found = read(&out).unwrap();
        assert_eq!(found.len(), 1, "{}", String::from_utf8_lossy(&out));
        assert!(out.starts_with(msg));
    }
}
