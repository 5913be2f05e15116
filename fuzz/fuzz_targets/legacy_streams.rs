//! The hand-written readers of legacy Office: the fuzzed bytes become the streams of a valid
//! compound file (Word, PowerPoint or Outlook, chosen by the first byte).
#![no_main]
#[path = "common.rs"]
mod common;

use std::io::Write;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    let mut cf = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).unwrap();
    let streams: &[&str] = match which % 3 {
        0 => &["/WordDocument", "/1Table", "/0Table"],
        1 => &["/PowerPoint Document"],
        _ => &["/__properties_version1.0", "/__substg1.0_1000001F", "/__substg1.0_0037001E"],
    };
    for s in streams {
        cf.create_stream(s).unwrap().write_all(body).unwrap();
    }
    if which % 3 == 2 {
        cf.create_storage("/__attach_version1.0_#00000000").unwrap();
        cf.create_stream("/__attach_version1.0_#00000000/__substg1.0_37010102").unwrap().write_all(body).unwrap();
    }
    common::run(&cf.into_inner().into_inner())
});
