//! The mail reader: headers every mail has, then the fuzzed rest of the message.
#![no_main]
#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut input = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: s\r\n".to_vec();
    input.extend_from_slice(data);
    common::run(&input)
});
