//! A small layer over quick-xml shared by the OOXML, ODF and XML extractors: local names, text
//! with character references resolved, and no entity expansion ever.

use crate::{Budget, Error};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// One step through a document.
pub(crate) enum Node<'e, 'a> {
    /// An element opens; `name` is its local name (no prefix). Empty elements open and close.
    Open {
        name: &'e str,
        elem: &'e BytesStart<'a>,
    },
    Close {
        name: &'e str,
    },
    Text(&'e str),
}

/// The local part of a qualified name (`w:t` → `t`).
pub(crate) fn local(qname: &str) -> &str {
    qname.rsplit_once(':').map_or(qname, |(_, l)| l)
}

/// An attribute's unescaped value by qualified name.
pub(crate) fn attr(elem: &BytesStart, qname: &str) -> Option<String> {
    elem.attributes().flatten().find(|a| a.key.0 == qname).map(|a| value(&a))
}

/// An attribute's value with references resolved (the raw value if they do not resolve).
pub(crate) fn value(a: &quick_xml::events::attributes::Attribute) -> String {
    match a.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
        Ok(v) => v.into_owned(),
        Err(_) => a.value.to_string(),
    }
}

/// Walks `xml`, calling `f` for every element and text. `office`: the part belongs to an
/// Office or ODF package, whose specs allow no DTD, so a DOCTYPE is reported as hostile
/// (entity expansion) instead of being ignored.
pub(crate) fn walk(xml: &str, office: bool, budget: &Budget, mut f: impl FnMut(Node)) -> Result<(), Error> {
    let mut reader = Reader::from_str(xml);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_dangling_amp = true;
    let mut events = 0u32;
    loop {
        events = events.wrapping_add(1);
        if events.is_multiple_of(8192) {
            budget.check_time()?;
        }
        let event = reader
            .read_event()
            .map_err(|e| Error::Corrupt(format!("malformed XML at byte {}: {e}", reader.error_position())))?;
        match event {
            Event::Start(e) => f(Node::Open { name: local(e.name().0), elem: &e }),
            Event::Empty(e) => {
                let name = local(e.name().0);
                f(Node::Open { name, elem: &e });
                f(Node::Close { name });
            }
            Event::End(e) => f(Node::Close { name: local(e.name().0) }),
            Event::Text(t) => f(Node::Text(&t)),
            Event::CData(t) => f(Node::Text(&t)),
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    _ => predefined(&r),
                };
                // any other entity is left out: expanding it is how entity bombs work
                if let Some(c) = c {
                    f(Node::Text(c.encode_utf8(&mut [0; 4])));
                }
            }
            Event::DocType(_) if office => {
                return Err(Error::Corrupt(
                    "DOCTYPE declaration, which Office files never have (entity expansion attack?); not read".into(),
                ))
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

/// The five entities every XML parser knows.
pub(crate) fn predefined(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => return None,
    })
}

/// Text to which separators are added only where a reader sees a break, so a number split
/// across runs stays whole.
#[derive(Default)]
pub(crate) struct TextBuf {
    pub text: String,
    pub marks: Vec<crate::Mark>,
}

impl TextBuf {
    pub fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }

    /// Ends a line, unless the text already ends with one.
    pub fn newline(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
    }

    /// Separates cells or tabs.
    pub fn tab(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with(['\n', '\t']) {
            self.text.push('\t');
        }
    }

    /// Moves to column `col` (0-based) of a table row whose last written cell was at
    /// `*last`: one tab per column, so empty cells keep the columns under their headers (at
    /// most 64, so a far-off cell does not write a page of tabs).
    pub fn move_to_column(&mut self, col: u32, last: &mut Option<u32>) {
        let gap = match *last {
            Some(l) => col.saturating_sub(l).min(64),
            None => col.min(64),
        };
        self.text.extend(std::iter::repeat_n('\t', gap as usize));
        *last = Some(col);
    }

    /// From here on, text comes from `place`.
    pub fn mark(&mut self, place: String) {
        self.marks.push(crate::Mark { offset: self.text.len(), place });
    }
}
