//! Mail (.eml, RFC 5322 / MIME, `mail-parser`): headers people read, bodies as text, and
//! attachments as nested items (`mail.eml!invoice.xlsx`).

use crate::{Cx, Error};
use mail_parser::{Address, MessageParser, MimeHeaders};

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
        let contents = part.contents();
        let data = cx.budget.read_member(contents, contents.len() as u64);
        cx.member(&name, data);
    }
    Ok(())
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
