//! The RTF reader.
#![no_main]
#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut input = b"{\\rtf1".to_vec();
    input.extend_from_slice(data);
    common::run(&input)
});
