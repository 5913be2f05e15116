//! Just enough XML for metadata parts: a flat list of elements with their byte spans, so a
//! rewrite can splice new elements in and keep every other byte of the part as it was.

use quick_xml::events::Event;
use quick_xml::Reader;

/// One element: qualified name, attributes (qualified name, unescaped value), its direct text,
/// and where it sits in the source.
#[derive(Debug)]
pub(crate) struct Elem {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub depth: usize,
    /// Offset of `<` of the start tag.
    pub start: usize,
    /// Offset just after the start tag (== `end` for an empty element).
    pub open_end: usize,
    /// Offset of `</` of the end tag (== `end` for an empty element).
    pub close_start: usize,
    /// Offset just after the element.
    pub end: usize,
}

impl Elem {
    pub fn local(&self) -> &str {
        local(&self.name)
    }

    pub fn attr(&self, local_name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| local(k) == local_name).map(|(_, v)| v.as_str())
    }
}

pub(crate) fn local(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname)
}

/// Parses `xml` into its elements in document order. A DOCTYPE is refused: metadata parts have
/// none, and it is how entity attacks start.
pub(crate) fn elements(xml: &str) -> Result<Vec<Elem>, String> {
    // The reader skips a byte-order mark without counting it; spans are offsets into `xml`.
    let base = if xml.starts_with('\u{feff}') { 3 } else { 0 };
    let mut reader = Reader::from_str(&xml[base..]);
    let mut out: Vec<Elem> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    loop {
        let start = base + reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| format!("XML error at byte {start}: {e}"))?;
        let pos = base + reader.buffer_position() as usize;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let mut attrs = Vec::new();
                for a in e.attributes().with_checks(false) {
                    let a = a.map_err(|e| format!("XML attribute error: {e}"))?;
                    let value = quick_xml::escape::unescape(&a.value).map_err(|e| e.to_string())?;
                    attrs.push((a.key.as_ref().to_string(), value.into_owned()));
                }
                let empty = matches!(event, Event::Empty(_));
                out.push(Elem {
                    name: e.name().as_ref().to_string(),
                    attrs,
                    text: String::new(),
                    depth: open.len(),
                    start,
                    open_end: pos,
                    close_start: pos,
                    end: pos,
                });
                if !empty {
                    open.push(out.len() - 1);
                }
            }
            Event::End(_) => {
                let i = open.pop().ok_or("unbalanced end tag")?;
                out[i].close_start = start;
                out[i].end = pos;
            }
            Event::Text(t) => {
                if let Some(&i) = open.last() {
                    out[i].text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(&i) = open.last() {
                    out[i].text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(&i) = open.last() {
                    let c = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => quick_xml::escape::unescape(&format!("&{};", r.xml10_content()))
                            .map_err(|e| e.to_string())?
                            .into_owned(),
                    };
                    out[i].text.push_str(&c);
                }
            }
            Event::DocType(_) => return Err("a DOCTYPE in a metadata part (refused: entity attacks)".into()),
            Event::Eof => break,
            _ => {}
        }
    }
    if !open.is_empty() {
        return Err("the XML ends inside an element".into());
    }
    Ok(out)
}

/// Escapes text or an attribute value.
pub(crate) fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}

/// The prefix the document binds to namespace `ns` (`Some("")` for the default namespace).
pub(crate) fn prefix_of<'a>(root: &'a Elem, ns: &str) -> Option<&'a str> {
    root.attrs.iter().find(|(_, v)| v == ns).map(|(k, _)| k.strip_prefix("xmlns:").unwrap_or(""))
}

/// The start tag of an empty element (`<a k="v"/>`) without its `/>`, to reopen it as
/// `<a k="v">...</a>`.
pub(crate) fn open_of_empty<'a>(xml: &'a str, e: &Elem) -> &'a str {
    xml[e.start..e.end].trim_end_matches("/>").trim_end()
}

/// Inserts `insert` just before the end tag of the root element (expanding `<root/>` when the
/// root is empty).
pub(crate) fn append_to_root(xml: &str, root: &Elem, insert: &str) -> String {
    if root.open_end == root.end && root.close_start == root.end {
        let open = open_of_empty(xml, root);
        format!("{}{open}>{insert}</{}>{}", &xml[..root.start], root.name, &xml[root.end..])
    } else {
        format!("{}{insert}{}", &xml[..root.close_start], &xml[root.close_start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_text_are_exact() {
        let xml = r#"<?xml version="1.0"?><a x="1&amp;2"><b>t&lt;&#x41;</b><c/></a>"#;
        let els = elements(xml).unwrap();
        assert_eq!(els.len(), 3);
        assert_eq!(els[0].attr("x"), Some("1&2"));
        assert_eq!(&xml[els[1].start..els[1].end], "<b>t&lt;&#x41;</b>");
        assert_eq!(els[1].text, "t<A");
        assert_eq!(&xml[els[2].start..els[2].end], "<c/>");
        assert_eq!(append_to_root(xml, &els[0], "<d/>"), xml.replace("</a>", "<d/></a>"));
        let empty = "<a k='v'/>";
        assert_eq!(append_to_root(empty, &elements(empty).unwrap()[0], "<d/>"), "<a k='v'><d/></a>");
    }

    #[test]
    fn spans_count_the_byte_order_mark() {
        // Found by fuzzing: a custom.xml with a BOM was spliced three bytes early.
        let xml = "\u{feff}<a><b>x</b></a>";
        let els = elements(xml).unwrap();
        assert_eq!(&xml[els[1].start..els[1].end], "<b>x</b>");
        assert_eq!(&xml[els[0].close_start..], "</a>");
    }

    #[test]
    fn doctype_is_refused() {
        assert!(elements("<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>").unwrap_err().contains("DOCTYPE"));
    }
}
