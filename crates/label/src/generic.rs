//! Labels on any other file: an extended attribute, `user.mamori.label`, holding the same
//! `MSIP_Label_<id>_<Attr>=value; ...` pairs as the mail header. It follows the file through
//! `cp -a`, `rsync -X` and tar `--xattrs`; where the filesystem has no extended attributes the
//! file can only be labeled by protecting it.

use crate::meta::MsipLabel;
use crate::{Change, Error, Found, Store};
use std::path::Path;

pub const ATTRIBUTE: &str = "user.mamori.label";

fn unsupported(format: &str) -> Error {
    Error::Unsupported {
        format: format.to_string(),
        reason: "the filesystem does not support extended attributes; protect it instead".into(),
    }
}

pub(crate) fn read(path: &Path) -> Result<Vec<Found>, Error> {
    match xattr::get(path, ATTRIBUTE) {
        Ok(Some(v)) => Ok(MsipLabel::parse_header(&String::from_utf8_lossy(&v))
            .into_iter()
            .map(|label| Found { label, store: Store::Xattr })
            .collect()),
        // No attribute, or a filesystem without them: either way, no label.
        Ok(None) | Err(_) => Ok(Vec::new()),
    }
}

pub(crate) fn write(path: &Path, format: &str, change: &Change, current: &[Found]) -> Result<(), Error> {
    if !xattr::SUPPORTED_PLATFORM {
        return Err(unsupported(format));
    }
    let labels = change.labels_after(current);
    let result = if labels.is_empty() {
        xattr::remove(path, ATTRIBUTE)
    } else {
        xattr::set(path, ATTRIBUTE, MsipLabel::header_value(&labels).as_bytes())
    };
    result.map_err(|e| match e.raw_os_error() {
        Some(95) => unsupported(format), // EOPNOTSUPP
        _ => Error::io(path, e),
    })
}
