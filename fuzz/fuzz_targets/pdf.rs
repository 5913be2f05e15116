//! The PDF reader (pdf_oxide behind the watchdog).
#![no_main]
#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut input = b"%PDF-1.7\n".to_vec();
    input.extend_from_slice(data);
    common::run(&input)
});
