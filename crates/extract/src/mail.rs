//! Mail (.eml, RFC 5322 / MIME, `mail-parser`): headers people read, bodies as text, and
//! attachments as nested items (`mail.eml!invoice.xlsx`).

use crate::{Cx, Error};
use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{Address, Encoding, MessageParser, MessagePart, MimeHeaders};

pub(crate) fn eml(data: &[u8], cx: &mut Cx) -> Result<(), Error> {
    let msg = crate::guarded("mail", || {
        MessageParser::default().parse(data).ok_or_else(|| Error::Corrupt("not a readable mail message".into()))
    })?;
    let mut headers = String::new();
    for (name, addr) in
        [("From", msg.from()), ("To", msg.to()), ("Cc", msg.cc()), ("Bcc", msg.bcc()), ("Reply-To", msg.reply_to())]
    {
        if let Some(a) = addr {
            headers.push_str(&format!("{name}: {}\n", addresses(a)));
        }
    }
    if let Some(s) = msg.subject() {
        headers.push_str(&format!("Subject: {s}\n"));
    }
    // the relays and the sender's client address: where the mail came from
    for h in msg.headers() {
        let name = h.name.as_str();
        if name.eq_ignore_ascii_case("Received") || name.eq_ignore_ascii_case("X-Originating-IP") {
            if let Some(raw) = data.get(h.offset_start as usize..h.offset_end as usize) {
                let value = String::from_utf8_lossy(raw);
                headers.push_str(&format!("{name}: {}\n", value.split_whitespace().collect::<Vec<_>>().join(" ")));
            }
        }
    }
    cx.part("headers", &headers, &[]);
    for i in 0..msg.text_body_count() {
        if let Some(body) = msg.body_text(i) {
            cx.part("body", &body, &[]);
        }
    }
    for (i, part) in msg.attachments().enumerate() {
        let mut name = part.attachment_name().map(str::to_string).unwrap_or_else(|| format!("attachment {}", i + 1));
        if part.is_message() && !name.ends_with(".eml") {
            name.push_str(".eml");
        }
        let raw = undeclared_text(data, part);
        let contents = raw.as_deref().unwrap_or_else(|| part.contents());
        let data = cx.budget.read_member(contents, contents.len() as u64);
        cx.member(&name, data);
    }
    Ok(())
}

/// The bytes of a text attachment that names no charset (a `text/csv` from a Japanese
/// mailer is Shift_JIS more often than not), undone only from its transfer encoding: the
/// parser would read them as Latin-1 and the sniffer could no longer tell.
fn undeclared_text(data: &[u8], part: &MessagePart) -> Option<Vec<u8>> {
    let declared = part.content_type().and_then(|ct| ct.attribute("charset")).is_some();
    if !part.is_text() || declared {
        return None;
    }
    let raw = data.get(part.raw_body_offset() as usize..part.raw_end_offset() as usize)?;
    match part.encoding {
        Encoding::Base64 => base64_decode(raw),
        Encoding::QuotedPrintable => quoted_printable_decode(raw),
        Encoding::None => Some(raw.to_vec()),
    }
}

fn addresses(a: &Address) -> String {
    a.iter()
        .map(|x| match (x.name(), x.address()) {
            (Some(n), Some(ad)) => format!("{n} <{ad}>"),
            (None, Some(ad)) => ad.to_string(),
            (Some(n), None) => n.to_string(),
            (None, None) => String::new(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use crate::{extract, Budget, Limits, Sink, TextOptions, Window};

    #[derive(Default)]
    struct Texts(String);

    impl Sink for Texts {
        fn window(&mut self, w: &Window) {
            self.0.push_str(w.text);
        }
        fn member(&mut self, _: &str, _: Result<Vec<u8>, crate::Error>, _: &Budget) {}
    }

    fn body_of(charset: &str, encoding: &'static encoding_rs::Encoding) -> String {
        let body = "お世話になっております。マイナンバー：6214 9832 0257 をお送りします。";
        let (bytes, _, _) = encoding.encode(body);
        let mut mail = format!(
            "From: a@example.co.jp\r\nTo: b@example.co.jp\r\nSubject: test\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        )
        .into_bytes();
        mail.extend_from_slice(&bytes);
        let mut texts = Texts::default();
        extract(&mail, &TextOptions::default(), &Budget::new(Limits::default()), &mut texts).unwrap();
        texts.0
    }

    #[derive(Default)]
    struct Members(Vec<(String, Vec<u8>)>);

    impl Sink for Members {
        fn window(&mut self, _: &Window) {}
        fn member(&mut self, name: &str, data: Result<Vec<u8>, crate::Error>, _: &Budget) {
            self.0.push((name.to_string(), data.unwrap()));
        }
    }

    #[test]
    fn an_attachment_without_a_charset_keeps_its_bytes() {
        use base64::Engine;
        let (csv, _, _) = encoding_rs::SHIFT_JIS.encode("氏名,在留カード番号\r\n山田,AB12345678CD\r\n");
        let b64 = base64::engine::general_purpose::STANDARD.encode(&csv);
        let mail = format!(
            "From: a@example.co.jp\r\nSubject: list\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
             Content-Type: text/plain; charset=UTF-8\r\n\r\nsee attached\r\n--b\r\n\
             Content-Type: text/csv; name=\"list.csv\"\r\nContent-Disposition: attachment; filename=\"list.csv\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n"
        );
        let mut members = Members::default();
        extract(mail.as_bytes(), &TextOptions::default(), &Budget::new(Limits::default()), &mut members).unwrap();
        assert_eq!(members.0.len(), 1);
        assert_eq!(members.0[0].0, "list.csv");
        assert_eq!(&members.0[0].1[..], &csv[..], "the Shift_JIS bytes as sent");
    }

    #[test]
    fn japanese_mail_bodies_are_decoded_in_their_charset() {
        for (charset, enc) in [
            ("ISO-2022-JP", encoding_rs::ISO_2022_JP),
            ("Shift_JIS", encoding_rs::SHIFT_JIS),
            ("EUC-JP", encoding_rs::EUC_JP),
        ] {
            let text = body_of(charset, enc);
            assert!(text.contains("マイナンバー：6214 9832 0257"), "{charset}: {text:?}");
        }
    }
}
