//! HTML and generic XML: the text a reader sees (and, for XML, attribute values, where data
//! files keep much of theirs), without tags, with character references resolved.

use crate::xml::{value, walk, Node, TextBuf};
use crate::{Cx, Error};

pub(crate) fn html(text: &str, cx: &mut Cx) -> Result<(), Error> {
    html_part("", text, cx);
    Ok(())
}

/// Hands out the text of an HTML document or fragment as the part `part`.
pub(crate) fn html_part(part: &str, html: &str, cx: &mut Cx) {
    cx.part(part, &html_text(html), &[]);
}

/// Elements after which a reader sees a line break.
const BLOCK: &[&str] = &[
    "p",
    "div",
    "br",
    "tr",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "title",
    "section",
    "article",
    "header",
    "footer",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "pre",
    "blockquote",
    "hr",
    "form",
    "option",
];

/// Attributes whose values a person sees or fills in.
const SHOWN_ATTRS: &[&str] = &["value", "alt", "title", "placeholder", "content", "href"];

/// A tolerant tag stripper: HTML in the wild is rarely well-formed enough for an XML parser.
pub(crate) fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        push_text(&mut out, &rest[..lt]);
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |e| &after[e + 3..]);
            continue;
        }
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[1..end];
        rest = rest.get(end + 1..).unwrap_or("");
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if !tag.starts_with('/') && (name == "script" || name == "style") {
            rest = &rest[closing_tag(rest, &name).unwrap_or(rest.len())..];
            continue;
        }
        let lower = tag.to_ascii_lowercase();
        for a in SHOWN_ATTRS {
            if let Some(v) = attr_value(tag, &lower, a) {
                out.push(' ');
                push_text(&mut out, v);
                out.push(' ');
            }
        }
        if (name == "td" || name == "th") && !tag.starts_with('/') {
            out.push('\t');
        } else if BLOCK.contains(&name.as_str()) && !out.ends_with('\n') {
            out.push('\n');
        }
    }
    push_text(&mut out, rest);
    out
}

/// Where `</name` starts in `html`, in any case, without copying the rest of the document.
fn closing_tag(html: &str, name: &str) -> Option<usize> {
    let bytes = html.as_bytes();
    memchr::memmem::find_iter(bytes, b"</")
        .find(|&i| bytes.get(i + 2..i + 2 + name.len()).is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes())))
}

/// The quoted value of `name="..."` in a start tag; `lower` is the tag in lower case.
fn attr_value<'a>(tag: &'a str, lower: &str, name: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(i) = lower[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        let before_ok = at > 0 && lower.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = tag[from..].trim_start();
        if let (true, Some(r)) = (before_ok, rest.strip_prefix('=')) {
            let r = r.trim_start();
            let q = r.chars().next()?;
            if q == '"' || q == '\'' {
                return r[1..].find(q).map(|e| &r[1..1 + e]);
            }
        }
    }
    None
}

/// Appends text with character references resolved.
fn push_text(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        // `;` is ASCII: its byte position is a char boundary
        let semi = rest.as_bytes()[..rest.len().min(12)].iter().position(|&b| b == b';');
        let resolved = semi.and_then(|e| entity(&rest[1..e]).map(|c| (c, e)));
        match resolved {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let n = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(n);
    }
    if let Some(c) = crate::xml::predefined(name) {
        return Some(c);
    }
    Some(match name {
        "nbsp" | "ensp" | "emsp" | "thinsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "yen" => '¥',
        "copy" => '©',
        _ => return None,
    })
}

/// Generic XML: text and attribute values, one per line. A document that does not parse is
/// scanned as the plain text it also is.
pub(crate) fn xml(text: &str, cx: &mut Cx) -> Result<(), Error> {
    let mut buf = TextBuf::default();
    let parsed = walk(text, false, cx.budget, |node| match node {
        Node::Open { elem, .. } => {
            for a in elem.attributes().flatten() {
                let v = value(&a);
                if !v.trim().is_empty() {
                    buf.newline();
                    buf.push(&v);
                    buf.newline();
                }
            }
        }
        Node::Close { .. } => buf.newline(),
        Node::Text(t) => buf.push(t),
    });
    match parsed {
        Ok(()) => cx.part("", &buf.text, &[]),
        Err(Error::OverBudget(m)) => return Err(Error::OverBudget(m)),
        Err(_) => cx.part("", text, &[]),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_text_drops_tags_scripts_and_resolves_references() {
        let html = "<html><head><style>p{}</style><script>var a='<p>';</script></head><body><p>My&nbsp;Number: \
                    6214&#32;9832 0257</p><input value=\"4111-1111\"><!-- 1234 --><table><tr><td>a</td><td>b</td></tr></table></body></html>";
        let t = html_text(html);
        assert!(t.contains("My Number: 6214 9832 0257"), "{t:?}");
        assert!(t.contains("4111-1111"));
        assert!(!t.contains("var a") && !t.contains("1234") && !t.contains("p{}"));
        assert!(t.contains("\ta\tb"), "{t:?}");
        // found by fuzzing: a multi-byte character right after an unterminated reference
        assert_eq!(html_text("&nbsp;8854ﾋ"), " 8854ﾋ");
    }
}
