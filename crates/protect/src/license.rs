//! Offline use licenses, cached per user in `<home>/licenses/<doc_id>.json`. A license opens its
//! document without asking the key service until it expires: revocation waits that long, which
//! is why labels opt in (`offline_days`) and the default is 0.

use crate::{stanza_of, Client, Error};
use age_core::format::FileKey;
use mamori_keys::api::License;
use mamori_keys::rights::{self, Envelope, Right, Rights};
use std::path::PathBuf;

fn path(client: &Client, doc_id: &str) -> Option<PathBuf> {
    uuid::Uuid::parse_str(doc_id).ok().map(|u| client.home().join("licenses").join(format!("{u}.json")))
}

/// Keeps a license the key service gave.
pub(crate) fn store(client: &Client, doc_id: &str, license: &str) -> Result<(), Error> {
    let Some(p) = path(client, doc_id) else { return Ok(()) };
    let dir = p.parent().expect("has a parent");
    mamori_keys::create_private_dir(dir).map_err(|e| Error::Io { path: dir.to_path_buf(), source: e })?;
    crate::write_atomically(&p, true, None, |f| {
        std::io::Write::write_all(f, license.as_bytes()).map_err(|e| Error::Io { path: p.clone(), source: e })
    })
}

/// The file key and rights from a cached license, if one is valid now for this user and these
/// rights. A license that no longer verifies or has expired is deleted.
pub(crate) fn use_cached(
    client: &Client,
    rights: &Rights,
    rights_sha256: &str,
) -> Result<Option<(FileKey, Vec<Right>)>, Error> {
    let doc_id = rights.doc_id.as_str();
    let Some(p) = path(client, doc_id) else { return Ok(None) };
    let Ok(bytes) = std::fs::read(&p) else { return Ok(None) };
    let Ok(env) = Envelope::parse(&bytes) else { return Ok(None) };
    // Signed by the key service that issued the document, with a key pinned here.
    let keys = client.pinned_keys(&rights.ks_id)?;
    let Ok(body) = env.verify(rights::LICENSE, |kid| keys.iter().find(|(k, _)| k == kid).map(|(_, v)| *v)) else {
        let _ = std::fs::remove_file(&p);
        return Ok(None);
    };
    let Ok(l) = serde_json::from_slice::<License>(&body) else { return Ok(None) };
    let me = client.identity();
    let fits =
        l.doc_id == doc_id && l.rights_sha256 == rights_sha256 && l.principal.eq_ignore_ascii_case(me.principal());
    if !fits {
        return Ok(None);
    }
    if jiff::Timestamp::now() >= l.exp {
        let _ = std::fs::remove_file(&p);
        return Ok(None);
    }
    let stanza = stanza_of(&l.stanza)?;
    match age::Identity::unwrap_stanza(me.age_identity(), &stanza) {
        Some(Ok(key)) => Ok(Some((key, l.rights))),
        _ => Ok(None),
    }
}
