//! The mail reader: headers every mail has, then the fuzzed rest of the message.
#![no_main]
#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run_after(b"From: a@example.com\r\nTo: b@example.com\r\nSubject: s\r\n", data));
