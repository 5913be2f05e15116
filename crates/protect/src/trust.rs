//! Key service signing keys this machine trusts, pinned at first contact (as ssh pins host keys)
//! in `<home>/known-ks/<ks_id>.json`, so `mamori rights` verifies a header with no network.

use crate::Error;
use ed25519_dalek::VerifyingKey;
use mamori_keys::api::KsInfo;
use mamori_keys::rights::parse_verifying_key;
use std::path::{Path, PathBuf};

fn path(home: &Path, ks_id: &str) -> Result<PathBuf, Error> {
    if ks_id.is_empty() || !ks_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(Error::Corrupt(format!("key service id {ks_id:?} is not a plain name")));
    }
    Ok(home.join("known-ks").join(format!("{ks_id}.json")))
}

/// The pinned keys of `ks_id` (none if it was never contacted).
pub fn load(home: &Path, ks_id: &str) -> Result<Vec<(String, VerifyingKey)>, Error> {
    let p = path(home, ks_id)?;
    let bytes = match std::fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::Io { path: p, source: e }),
    };
    let info: KsInfo =
        serde_json::from_slice(&bytes).map_err(|e| Error::Config { path: p.clone(), reason: e.to_string() })?;
    info.signing_keys
        .iter()
        .map(|k| Ok((k.kid.clone(), parse_verifying_key(&k.public_key).map_err(Error::Keys)?)))
        .collect()
}

/// Adds the keys of `info` to what is pinned for its key service. A kid already pinned keeps its
/// key: a service cannot swap the key behind a kid this machine trusts.
pub fn pin(home: &Path, info: &KsInfo) -> Result<(), Error> {
    let p = path(home, &info.ks_id)?;
    let pinned = load(home, &info.ks_id)?;
    for k in &info.signing_keys {
        let key = parse_verifying_key(&k.public_key).map_err(Error::Keys)?;
        if pinned.iter().any(|(kid, old)| *kid == k.kid && *old != key) {
            return Err(Error::Corrupt(format!(
                "key service {} now shows a different key for {}; remove {} only if you know why",
                info.ks_id,
                k.kid,
                p.display()
            )));
        }
    }
    let mut merged = info.clone();
    for (kid, key) in pinned {
        if !merged.signing_keys.iter().any(|k| k.kid == kid) {
            merged
                .signing_keys
                .push(mamori_keys::api::KsPublicKey { kid, public_key: mamori_keys::rights::verifying_key_text(&key) });
        }
    }
    let dir = p.parent().expect("a known-ks path has a parent");
    std::fs::create_dir_all(dir).map_err(|e| Error::Io { path: dir.to_path_buf(), source: e })?;
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::Io { path: dir.to_path_buf(), source: e })?;
    std::fs::write(tmp.path(), serde_json::to_vec_pretty(&merged).expect("serializes"))
        .map_err(|e| Error::Io { path: p.clone(), source: e })?;
    tmp.persist(&p).map_err(|e| Error::Io { path: p.clone(), source: e.error })?;
    Ok(())
}
