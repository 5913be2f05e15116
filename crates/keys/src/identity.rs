//! A local identity: principal, Ed25519 signing key, age X25519 key; one TOML file, mode 0600,
//! in a home directory of mode 0700.

use crate::rights::{hex, unhex};
use crate::Error;
use age::secrecy::ExposeSecret;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

const FILE: &str = "identity.toml";

/// The mamori home: `$MAMORI_HOME`, else `$XDG_CONFIG_HOME/mamori`, else `~/.config/mamori`.
pub fn home() -> Result<PathBuf, Error> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(h) = var("MAMORI_HOME") {
        return Ok(h);
    }
    if let Some(c) = var("XDG_CONFIG_HOME") {
        return Ok(c.join("mamori"));
    }
    var("HOME").map(|h| h.join(".config").join("mamori")).ok_or(Error::NoHome)
}

/// A principal and its secret keys. `Debug` shows only the public half.
pub struct Identity {
    principal: String,
    signing: SigningKey,
    age: age::x25519::Identity,
}

/// What others may know of an identity: what `mamori id show` prints and what an administrator
/// registers with the key service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PublicIdentity {
    pub principal: String,
    /// `ed25519:<hex>` of the verifying key.
    pub signing_key: String,
    /// The age recipient (`age1…`).
    pub recipient: String,
}

/// The file as stored. Secrets are wiped when it drops.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    principal: String,
    /// `ed25519-secret:<hex>` of the 32-byte seed.
    signing_key: String,
    /// `AGE-SECRET-KEY-1…`.
    age_identity: String,
}

impl Drop for Stored {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.signing_key.zeroize();
        self.age_identity.zeroize();
    }
}

/// A 32-byte secret from hex; the decoded bytes are wiped on every path.
fn unhex32(s: &str) -> Option<Zeroizing<[u8; 32]>> {
    let bytes = Zeroizing::new(unhex(s)?);
    Some(Zeroizing::new(bytes.as_slice().try_into().ok()?))
}

/// Principal names are what grants and audit rows name: an e-mail address or a service name.
fn check_name(name: &str) -> Result<(), Error> {
    let bad = |reason| Err(Error::BadName { name: name.to_string(), reason });
    if name.is_empty() || name.len() > 256 {
        return bad("it must be 1 to 256 bytes");
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control() || c == ',' || c == '=') {
        return bad("it may not hold spaces, control characters, ',' or '='");
    }
    if name.starts_with("everyone@") {
        return bad("everyone@<domain> names a whole organisation, not one principal");
    }
    Ok(())
}

impl Identity {
    /// New keys from the operating system's CSPRNG.
    pub fn generate(principal: &str) -> Result<Identity, Error> {
        check_name(principal)?;
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut())
            .map_err(|e| Error::Io { path: PathBuf::from("(random)"), source: std::io::Error::other(e.to_string()) })?;
        Ok(Identity {
            principal: principal.to_string(),
            signing: SigningKey::from_bytes(&seed),
            age: age::x25519::Identity::generate(),
        })
    }

    pub fn principal(&self) -> &str {
        &self.principal
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    pub fn age_identity(&self) -> &age::x25519::Identity {
        &self.age
    }

    pub fn public(&self) -> PublicIdentity {
        PublicIdentity {
            principal: self.principal.clone(),
            signing_key: format!("ed25519:{}", hex(self.signing.verifying_key().as_bytes())),
            recipient: self.age.to_public().to_string(),
        }
    }

    /// The identity file in `home`.
    pub fn path(home: &Path) -> PathBuf {
        home.join(FILE)
    }

    /// Writes the identity to `home` (created with mode 0700), mode 0600, atomically. Refuses to
    /// replace an existing identity unless `replace`.
    pub fn save(&self, home: &Path, replace: bool) -> Result<PathBuf, Error> {
        let io = |path: &Path, source| Error::Io { path: path.to_path_buf(), source };
        let path = Identity::path(home);
        if !replace {
            if let Ok(existing) = Identity::load(home) {
                return Err(Error::Exists { path, principal: existing.principal });
            }
        }
        create_private_dir(home).map_err(|e| io(home, e))?;
        let stored = Stored {
            principal: self.principal.clone(),
            signing_key: format!("ed25519-secret:{}", hex(&*Zeroizing::new(self.signing.to_bytes()))),
            age_identity: self.age.to_string().expose_secret().to_string(),
        };
        let body = Zeroizing::new(toml::to_string(&stored).expect("an identity serializes"));
        let text = Zeroizing::new(format!(
            "# mamori identity of {}: secret keys. Never share or commit this file;\n\
             # `mamori id show` prints what others may know.\n{}",
            self.principal, *body
        ));
        write_private(home, &path, text.as_bytes()).map_err(|e| io(&path, e))?;
        Ok(path)
    }

    /// Reads the identity in `home`, refusing a file others can read.
    pub fn load(home: &Path) -> Result<Identity, Error> {
        let path = Identity::path(home);
        let bad = |reason: String| Error::BadIdentity { path: path.clone(), reason };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => Zeroizing::new(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NoIdentity { home: home.to_path_buf() })
            }
            Err(e) => return Err(Error::Io { path, source: e }),
        };
        check_private(&path).map_err(bad)?;
        let stored: Stored = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        check_name(&stored.principal).map_err(|e| bad(e.to_string()))?;
        let seed = stored
            .signing_key
            .strip_prefix("ed25519-secret:")
            .and_then(unhex32)
            .ok_or_else(|| bad("signing_key is not ed25519-secret:<64 hex digits>".into()))?;
        let age: age::x25519::Identity =
            stored.age_identity.parse().map_err(|_| bad("age_identity is not an AGE-SECRET-KEY-1…".into()))?;
        Ok(Identity { principal: stored.principal.clone(), signing: SigningKey::from_bytes(&seed), age })
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity").field("public", &self.public()).finish_non_exhaustive()
    }
}

/// Writes `bytes` to `path` (in `dir`) with mode 0600, atomically: a secret is never half written
/// nor readable by others, even for a moment.
pub(crate) fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = tempfile::Builder::new().prefix(".mamori-secret.").permissions(private_file()).tempfile_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(unix)]
fn private_file() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o600)
}

#[cfg(not(unix))]
fn private_file() -> std::fs::Permissions {
    std::fs::metadata(".").map(|m| m.permissions()).expect("the working directory exists")
}

#[cfg(unix)]
/// Creates `dir` (and its parents) with mode 0700 if it does not exist.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// An identity file readable by others is refused, as ssh refuses such a key.
#[cfg(unix)]
pub(crate) fn check_private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).map_err(|e| e.to_string())?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(format!("mode {:o} lets others read the secret keys; run chmod 600 on it", mode & 0o777));
    }
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn check_private(_: &Path) -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_round_trips_and_keeps_its_secrets_to_itself() {
        let home = tempfile::tempdir().unwrap();
        let home = home.path().join("mamori");
        let id = Identity::generate("alice@example.com").unwrap();
        let path = id.save(&home, false).unwrap();
        let back = Identity::load(&home).unwrap();
        assert_eq!(back.public(), id.public());
        assert_eq!(back.signing_key().to_bytes(), id.signing_key().to_bytes());
        let debug = format!("{back:?}");
        let secret = id.age_identity().to_string().expose_secret().to_string();
        assert!(!debug.contains(&secret) && !debug.contains(&hex(&id.signing_key().to_bytes())), "{debug}");
        assert!(id.public().recipient.starts_with("age1"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(std::fs::metadata(&home).unwrap().permissions().mode() & 0o777, 0o700);
        }
        // A signature made with the loaded key verifies with the published key.
        use ed25519_dalek::Signer;
        let sig = back.signing_key().sign(b"mamori-req/v1");
        id.signing_key().verifying_key().verify_strict(b"mamori-req/v1", &sig).unwrap();
    }

    #[test]
    fn an_existing_identity_is_not_replaced_without_asking() {
        let home = tempfile::tempdir().unwrap();
        Identity::generate("alice@example.com").unwrap().save(home.path(), false).unwrap();
        let e = Identity::generate("bob@example.com").unwrap().save(home.path(), false).unwrap_err();
        assert!(e.to_string().contains("alice@example.com") && e.to_string().contains("--force"), "{e}");
        Identity::generate("bob@example.com").unwrap().save(home.path(), true).unwrap();
        assert_eq!(Identity::load(home.path()).unwrap().principal(), "bob@example.com");
    }

    #[test]
    fn bad_names_and_damaged_or_exposed_files_are_refused() {
        for name in ["", "a b", "everyone@example.com", "x=y"] {
            assert!(Identity::generate(name).is_err(), "{name:?}");
        }
        let home = tempfile::tempdir().unwrap();
        assert!(matches!(Identity::load(home.path()), Err(Error::NoIdentity { .. })));
        let id = Identity::generate("alice@example.com").unwrap();
        let path = id.save(home.path(), false).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(Identity::load(home.path()).unwrap_err().to_string().contains("chmod 600"));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap().replace("ed25519-secret:", "ed25519-secret:zz");
        std::fs::write(&path, text).unwrap();
        assert!(Identity::load(home.path()).unwrap_err().to_string().contains("signing_key"));
    }
}
