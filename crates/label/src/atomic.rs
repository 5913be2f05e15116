//! Replacing a file without ever losing it: write a temp file in the same directory, fsync,
//! rename over the original, fsync the directory. A crash at any point leaves either the old
//! file or the new one, never a truncated mix.

use crate::Error;
use std::fs;
use std::io::Write;
use std::path::Path;

/// Refuses a file another program holds open for editing, as Office and LibreOffice mark it.
pub(crate) fn check_unlocked(path: &Path) -> Result<(), Error> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Ok(());
    };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let libreoffice = dir.join(format!(".~lock.{name}#"));
    if libreoffice.exists() {
        return Err(Error::Refused {
            reason: format!("locked: open in LibreOffice ({} exists)", libreoffice.display()),
        });
    }
    // Office's owner file replaces the first two characters of the name (for long names).
    let office = [format!("~${name}"), format!("~${}", name.chars().skip(2).collect::<String>())];
    if let Some(f) = office.iter().map(|o| dir.join(o)).find(|o| o.exists()) {
        return Err(Error::Refused { reason: format!("locked: open in Microsoft Office ({} exists)", f.display()) });
    }
    Ok(())
}

/// Replaces `path` with `data`, keeping its permissions (and its modification time when
/// `keep_mtime`). Fails, leaving the original untouched, if the file is read-only or changed
/// since `seen` (its length and mtime when it was read).
pub(crate) fn replace(path: &Path, data: &[u8], seen: &fs::Metadata, keep_mtime: bool) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::io(path, e);
    if seen.permissions().readonly() {
        return Err(Error::Refused { reason: "the file is read-only".into() });
    }
    // A symbolic link stays a link: the file it points to is the one replaced.
    let path = &fs::canonicalize(path).map_err(io)?;
    // A rename would split hard links: the other names would keep the unlabeled file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if seen.nlink() > 1 {
            return Err(Error::Refused {
                reason: format!("the file has {} hard links; labeling would split them", seen.nlink()),
            });
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".mamori-tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::Refused { reason: format!("cannot write in {}: {e}", dir.display()) })?;
    tmp.write_all(data).map_err(io)?;
    let file = tmp.as_file();
    file.set_permissions(seen.permissions()).map_err(io)?;
    keep_owner(file, seen)?;
    copy_xattrs(path, tmp.path());
    if keep_mtime {
        if let Ok(m) = seen.modified() {
            file.set_modified(m).map_err(io)?;
        }
    }
    file.sync_all().map_err(io)?;
    let now = fs::metadata(path).map_err(io)?;
    if now.len() != seen.len() || now.modified().ok() != seen.modified().ok() {
        return Err(Error::Refused { reason: "the file changed while it was being labeled; try again".into() });
    }
    tmp.persist(path).map_err(|e| io(e.error))?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The new file keeps the original's owner and group; if that is not allowed (someone else's
/// file, writable through its group), the file is refused rather than handed to us.
#[cfg(unix)]
fn keep_owner(file: &fs::File, seen: &fs::Metadata) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt;
    let now = file.metadata().map_err(|e| Error::Refused { reason: e.to_string() })?;
    if now.uid() == seen.uid() && now.gid() == seen.gid() {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(seen.uid()), Some(seen.gid())).map_err(|e| Error::Refused {
        reason: format!("cannot keep the file's owner ({}:{}): {e}", seen.uid(), seen.gid()),
    })
}

#[cfg(not(unix))]
fn keep_owner(_: &fs::File, _: &fs::Metadata) -> Result<(), Error> {
    Ok(())
}

/// Extended attributes (other labels, SELinux contexts, tags) move to the new file; those the
/// filesystem or our privileges refuse are left behind.
fn copy_xattrs(from: &Path, to: &Path) {
    let Ok(names) = xattr::list(from) else { return };
    for name in names {
        if let Ok(Some(value)) = xattr::get(from, &name) {
            let _ = xattr::set(to, &name, &value);
        }
    }
}
