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
