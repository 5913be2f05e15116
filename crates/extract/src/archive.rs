//! Archives: zip, tar and gzip. Members become nested items; sizes, ratios and counts are
//! checked against the budget before and while anything is expanded.

use crate::{Budget, Cx, Error};
use std::io::Cursor;

pub(crate) type Zip<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

pub(crate) fn open_zip<'a>(data: &'a [u8], budget: &Budget) -> Result<Zip<'a>, Error> {
    let zip = zip::ZipArchive::new(Cursor::new(data)).map_err(|e| Error::Corrupt(format!("zip: {e}")))?;
    if zip.len() as u64 > budget.limits.max_members {
        return Err(Error::OverBudget(format!(
            "{} members, over the limit of {}",
            zip.len(),
            budget.limits.max_members
        )));
    }
    Ok(zip)
}

/// Expands one zip member within the budget.
pub(crate) fn zip_member(zip: &mut Zip, index: usize, budget: &Budget) -> Result<Vec<u8>, Error> {
    budget.check_time()?;
    let file = match zip.by_index(index) {
        Ok(f) => f,
        Err(zip::result::ZipError::UnsupportedArchive(m)) if m.contains("assword") || m.contains("ncrypt") => {
            return Err(Error::Encrypted("password-protected zip member".into()))
        }
        Err(e) => return Err(Error::Corrupt(format!("zip member: {e}"))),
    };
    if file.encrypted() {
        return Err(Error::Encrypted("password-protected zip member".into()));
    }
    budget.check_declared(file.size(), file.compressed_size())?;
    let compressed = file.compressed_size();
    budget.read_member(file, compressed)
}

/// Expands a member by name, if the archive has it.
pub(crate) fn zip_named(zip: &mut Zip, name: &str, budget: &Budget) -> Option<Result<Vec<u8>, Error>> {
    let index = zip.index_for_name(name)?;
    Some(zip_member(zip, index, budget))
}

pub(crate) fn zip(data: &[u8], cx: &mut Cx) -> Result<(), Error> {
    let mut zip = open_zip(data, cx.budget)?;
    for i in 0..zip.len() {
        let (name, is_dir) = match zip.by_index_raw(i) {
            Ok(f) => (f.name().map(|n| n.into_owned()).unwrap_or_else(|_| format!("member {i}")), f.is_dir()),
            Err(e) => {
                cx.problem(&format!("member {i}"), e);
                continue;
            }
        };
        if is_dir {
            continue;
        }
        let data = zip_member(&mut zip, i, cx.budget);
        cx.member(&name, data);
    }
    Ok(())
}

pub(crate) fn tar(data: &[u8], cx: &mut Cx) -> Result<(), Error> {
    let mut archive = tar::Archive::new(data);
    let entries = archive.entries().map_err(|e| Error::Corrupt(format!("tar: {e}")))?;
    let mut count = 0u64;
    for entry in entries {
        cx.budget.check_time()?;
        count += 1;
        if count > cx.budget.limits.max_members {
            return Err(Error::OverBudget(format!("more members than the limit of {}", cx.budget.limits.max_members)));
        }
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                cx.problem("tar", format!("truncated or corrupt after {} members: {e}", count - 1));
                break;
            }
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().map(|p| p.display().to_string()).unwrap_or_else(|_| format!("member {count}"));
        let size = entry.size();
        let data = cx.budget.check_declared(size, size).and_then(|_| cx.budget.read_member(&mut entry, size));
        cx.member(&name, data);
    }
    Ok(())
}

/// A gzip stream holds one member, named by its header or `data`.
pub(crate) fn gz(data: &[u8], cx: &mut Cx) -> Result<(), Error> {
    let mut decoder = flate2::read::GzDecoder::new(data);
    let name = decoder
        .header()
        .and_then(|h| h.filename())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "data".into());
    let body = cx.budget.read_member(&mut decoder, data.len() as u64);
    cx.member(&name, body);
    Ok(())
}

/// Reads a whole member into a string: parts of Office packages are UTF-8 XML.
pub(crate) fn utf8(data: Vec<u8>) -> String {
    String::from_utf8(data).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Resolves a relationship target against the folder of the part that points at it.
pub(crate) fn resolve(base_dir: &str, target: &str) -> String {
    if let Some(abs) = target.strip_prefix('/') {
        return abs.to_string();
    }
    let mut parts: Vec<&str> = base_dir.split('/').filter(|p| !p.is_empty()).collect();
    for seg in target.split('/') {
        match seg {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            s => parts.push(s),
        }
    }
    parts.join("/")
}
