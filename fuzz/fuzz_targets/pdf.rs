//! The PDF reader (pdf_oxide behind the watchdog).
#![no_main]
#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run_after(b"%PDF-1.7\n", data));
