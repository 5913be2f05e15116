//! Helpers shared by the end-to-end test files.
#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

pub fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// A scratch directory on the build disk (extended attributes work there; tmpfs may lack them).
pub fn scratch() -> tempfile::TempDir {
    tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

/// Every zip member as (name, compression, crc, raw compressed bytes): what "copied byte for
/// byte" means.
pub fn raw_members(path: &Path) -> Vec<(String, String, u32, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(fs::File::open(path).unwrap()).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index_raw(i).unwrap();
            let mut raw = Vec::new();
            f.read_to_end(&mut raw).unwrap();
            (f.name().unwrap().to_string(), format!("{:?}", f.compression()), f.crc32(), raw)
        })
        .collect()
}
