//! PDF text, page by page (`pdf_oxide`). PDF parsers meet the most hostile input of all, so
//! extraction runs on a watchdog thread, behind panic catching, within the item's time left.

use crate::xml::TextBuf;
use crate::{Cx, Error};
use std::sync::mpsc;

pub(crate) fn extract(data: &[u8], cx: &mut Cx) -> Result<(), Error> {
    let (tx, rx) = mpsc::channel();
    let bytes = data.to_vec();
    std::thread::Builder::new()
        .name("mamori-pdf".into())
        .spawn(move || {
            let result = crate::guarded("PDF", || pages(bytes));
            let _ = tx.send(result);
        })
        .map_err(Error::Io)?;
    let pages = match rx.recv_timeout(cx.budget.remaining()) {
        Ok(r) => r?,
        // the thread is left to finish on its own; its result is dropped
        Err(_) => {
            return Err(Error::OverBudget(format!(
                "PDF took longer than the time limit of {} s",
                cx.budget.limits.timeout.as_secs_f64()
            )))
        }
    };
    let mut buf = TextBuf::default();
    for (i, page) in pages.into_iter().enumerate() {
        match page {
            Ok(text) => {
                buf.newline();
                buf.mark(format!("page {}", i + 1));
                buf.push(&text);
            }
            Err(e) => cx.problem(&format!("page {}", i + 1), e),
        }
    }
    cx.part("", &buf.text, &buf.marks);
    Ok(())
}

/// The text of every page, or why the document cannot be read at all.
fn pages(bytes: Vec<u8>) -> Result<Vec<Result<String, String>>, Error> {
    let doc = pdf_oxide::PdfDocument::from_bytes(bytes).map_err(|e| Error::Corrupt(format!("PDF: {e}")))?;
    if doc.is_encrypted() && !matches!(doc.authenticate(b""), Ok(true)) {
        return Err(Error::Encrypted("password-protected PDF".into()));
    }
    let count = doc.page_count().map_err(|e| Error::Corrupt(format!("PDF: {e}")))?;
    Ok((0..count).map(|i| doc.extract_text(i).map_err(|e| e.to_string())).collect())
}
