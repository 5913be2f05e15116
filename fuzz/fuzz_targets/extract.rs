//! Any bytes, through format detection and whichever parser they reach (seed it with corpus/).
#![no_main]
#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run(data));
