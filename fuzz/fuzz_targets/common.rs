//! Shared by the fuzz targets: run the public entry point with tight limits.

use mamori_extract::{extract, Budget, Limits, Sink, TextOptions, Window};
use std::time::Duration;

struct Discard;

impl Sink for Discard {
    fn window(&mut self, w: &Window) {
        // what a scanner does with a window: look at every byte, and at the places
        std::hint::black_box(w.text.len());
        for m in w.marks {
            std::hint::black_box(w.place(m.offset));
        }
    }
    fn member(&mut self, _: &str, data: Result<Vec<u8>, mamori_extract::Error>, budget: &Budget) {
        // recurse as the scanner does
        if let (Ok(d), Ok(b)) = (data, budget.nested()) {
            let _ = extract(&d, &TextOptions::default(), &b, &mut Discard);
        }
    }
}

pub fn run(data: &[u8]) {
    let limits = Limits {
        max_member_size: 16 << 20,
        max_total_size: 64 << 20,
        timeout: Duration::from_secs(10),
        ..Limits::default()
    };
    let _ = extract(data, &TextOptions { window: 1 << 16, context: 1 << 10, max_size: None }, &Budget::new(limits), &mut Discard);
}

/// Runs `data` behind `prefix`: the magic or headers that route it to one parser.
#[allow(dead_code)] // not every target uses it
pub fn run_after(prefix: &[u8], data: &[u8]) {
    let mut input = prefix.to_vec();
    input.extend_from_slice(data);
    run(&input)
}
