//! The two seals of the design: a document's file key under its per-document key (bound to the
//! rights hash), and key service secrets under the master key (bound to the row they live in).

use crate::Error;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, XChaCha20Poly1305};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// A 32-byte secret key, wiped on drop.
pub type Key = Zeroizing<[u8; 32]>;

pub fn random_key() -> Key {
    let mut k = Zeroizing::new([0u8; 32]);
    getrandom::fill(k.as_mut()).expect("the operating system's random source works");
    k
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the operating system's random source works");
    b
}

fn aad_of(rights_hash: &[u8; 32]) -> Vec<u8> {
    [b"mamori/ks/v1\0".as_slice(), rights_hash].concat()
}

/// Seals a 16-byte age file key under a per-document key. Each such key seals exactly one file
/// key, so the nonce may be zero (age's X25519 stanza does the same).
pub fn seal_file_key(kek: &Key, rights_hash: &[u8; 32], file_key: &[u8; 16]) -> Vec<u8> {
    ChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(kek.as_slice()))
        .encrypt(&[0u8; 12].into(), Payload { msg: file_key, aad: &aad_of(rights_hash) })
        .expect("sealing 16 bytes cannot fail")
}

/// The file key, if `body` was sealed under `kek` for exactly these rights.
pub fn open_file_key(kek: &Key, rights_hash: &[u8; 32], body: &[u8]) -> Option<Zeroizing<[u8; 16]>> {
    let plain = Zeroizing::new(
        ChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(kek.as_slice()))
            .decrypt(&[0u8; 12].into(), Payload { msg: body, aad: &aad_of(rights_hash) })
            .ok()?,
    );
    Some(Zeroizing::new(plain.as_slice().try_into().ok()?))
}

/// The key service's master key: seals every per-document key and signing key at rest, so a copy
/// of the database alone opens nothing. It lives in a file of its own, mode 0600.
pub struct MasterKey(Key);

impl MasterKey {
    /// The master key file that goes with a store at `db`: `<db>.master-key`.
    pub fn path_for(db: &Path) -> PathBuf {
        let mut p = db.as_os_str().to_owned();
        p.push(".master-key");
        PathBuf::from(p)
    }

    /// Reads the key at `path`, making one if there is none yet.
    pub fn load_or_create(path: &Path) -> Result<MasterKey, Error> {
        let io = |source| Error::Io { path: path.to_path_buf(), source };
        match std::fs::read(path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                crate::identity::check_private(path)
                    .map_err(|reason| Error::BadIdentity { path: path.to_path_buf(), reason })?;
                let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| Error::BadIdentity {
                    path: path.to_path_buf(),
                    reason: format!("a master key is 32 bytes, this file has {}", bytes.len()),
                })?;
                Ok(MasterKey(Zeroizing::new(key)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = random_key();
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
                crate::identity::write_private(dir, path, key.as_ref()).map_err(io)?;
                // Two processes may race to create it: whoever renamed last won, so read it back.
                MasterKey::load_or_create(path)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Seals `secret` for the row `row` (e.g. `doc:<id>`), so it cannot be moved to another row.
    pub fn seal(&self, row: &str, secret: &[u8]) -> Vec<u8> {
        let nonce = random_bytes::<24>();
        let mut out = nonce.to_vec();
        out.extend(
            XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(self.0.as_slice()))
                .encrypt(&nonce.into(), Payload { msg: secret, aad: row.as_bytes() })
                .expect("sealing cannot fail"),
        );
        out
    }

    pub fn open(&self, row: &str, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (nonce, body) = sealed.split_at_checked(24)?;
        let nonce: [u8; 24] = nonce.try_into().ok()?;
        XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(self.0.as_slice()))
            .decrypt(&nonce.into(), Payload { msg: body, aad: row.as_bytes() })
            .ok()
            .map(Zeroizing::new)
    }

    pub fn open_key(&self, row: &str, sealed: &[u8]) -> Option<Key> {
        let v = self.open(row, sealed)?;
        Some(Zeroizing::new(v.as_slice().try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_key_opens_only_for_its_rights_and_key() {
        let (kek, fk, h) = (random_key(), [9u8; 16], [1u8; 32]);
        let body = seal_file_key(&kek, &h, &fk);
        assert_eq!(body.len(), 32);
        assert_eq!(*open_file_key(&kek, &h, &body).unwrap(), fk);
        assert!(open_file_key(&kek, &[2u8; 32], &body).is_none());
        assert!(open_file_key(&random_key(), &h, &body).is_none());
    }

    #[test]
    fn master_seals_are_bound_to_their_row_and_the_key_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = MasterKey::path_for(&dir.path().join("ks.db"));
        let m = MasterKey::load_or_create(&path).unwrap();
        let sealed = m.seal("doc:1", b"secret");
        let again = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(&**again.open("doc:1", &sealed).unwrap(), b"secret");
        assert!(again.open("doc:2", &sealed).is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
