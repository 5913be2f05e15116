//! Helpers shared by the end-to-end test files.
#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

pub fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// True if each program (a name and the command line that proves it works) is here;
/// otherwise the test fails under `CI=true` and is skipped, loudly, elsewhere.
pub fn programs_present(test: &str, programs: &[(&str, &[&str])]) -> bool {
    let works =
        |argv: &[&str]| std::process::Command::new(argv[0]).args(&argv[1..]).output().is_ok_and(|o| o.status.success());
    let missing: Vec<&str> = programs.iter().filter(|(_, argv)| !works(argv)).map(|(name, _)| *name).collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!("missing {}: run scripts/install-test-tools", missing.join(", "));
    assert!(std::env::var("CI").is_err(), "{msg}");
    eprintln!("SKIPPED {test}: {msg}");
    false
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

/// Every stream of a compound file (.doc, .xls, .ppt) as (path, content).
pub fn cfb_streams(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut cf = cfb::open(path).unwrap();
    let names: Vec<PathBuf> = cf.walk().filter(|e| e.is_stream()).map(|e| e.path().to_path_buf()).collect();
    names
        .into_iter()
        .map(|n| {
            let mut data = Vec::new();
            cf.open_stream(&n).unwrap().read_to_end(&mut data).unwrap();
            (n.display().to_string(), data)
        })
        .collect()
}
