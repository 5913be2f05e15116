//! `mamori-protect`: protected files, client side. A file is encrypted with age under a file key
//! that only the key service can release: the one age stanza holds the file key sealed under a
//! per-document key the key service keeps, bound to the hash of the signed rights in the header.
//! Opening asks the key service (or uses a cached offline license), then streams the payload in
//! bounded memory. Design: `shared/design/reference/protection.md` §6–§8.
#![forbid(unsafe_code)]

pub mod client;
pub mod container;
mod license;
mod pipe;
pub mod trust;

pub use client::{Client, Embedded, Http, Track, Transport};
pub use container::{is_protected, peek, Header};

use age::secrecy::ExposeSecret;
use age_core::format::{FileKey, Stanza};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use mamori_keys::api::{KeyRequest, ProtectRequest, Purpose, StanzaJson};
use mamori_keys::rights::{hex, Right, Rights};
use mamori_keys::seal::{seal_file_key, Key};
use mamori_keys::STANZA_TAG;
use std::cell::RefCell;
use std::collections::HashSet;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("not a mamori protected file")]
    NotProtected,
    #[error("damaged protected file: {0}")]
    Corrupt(String),
    #[error("already protected (document {doc_id})")]
    AlreadyProtected { doc_id: String },
    /// The key service said no; `code` is stable (`revoked`, `not_granted`, …).
    #[error("{message} [{code}]")]
    Refused { status: u16, code: String, message: String },
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("this file belongs to key service {file_ks}, but {via} is {ours}")]
    OtherKeyService { file_ks: String, ours: String, via: String },
    #[error("{}: {reason}", path.display())]
    Config { path: PathBuf, reason: String },
    #[error("{} exists; choose another output or remove it first", .0.display())]
    Exists(PathBuf),
    #[error("decryption failed: {0}")]
    Decrypt(String),
    #[error(transparent)]
    Keys(#[from] mamori_keys::Error),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

impl Error {
    /// The key service's refusal code, if this is one.
    pub fn refusal(&self) -> Option<&str> {
        match self {
            Error::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// The age recipient that seals the file key under the per-document key, for these rights.
struct KsRecipient {
    doc_id: String,
    ks_id: String,
    kek: Key,
    rights_hash: [u8; 32],
}

impl age::Recipient for KsRecipient {
    fn wrap_file_key(&self, file_key: &FileKey) -> Result<(Vec<Stanza>, HashSet<String>), age::EncryptError> {
        let body = seal_file_key(&self.kek, &self.rights_hash, file_key.expose_secret());
        let stanza = Stanza {
            tag: STANZA_TAG.to_string(),
            args: vec!["v1".to_string(), self.doc_id.clone(), self.ks_id.clone()],
            body,
        };
        Ok((vec![stanza], HashSet::new()))
    }
}

/// The age identity that gets the file key from the key service (or an offline license) when
/// the decryptor shows it the `mamori.dev/ks` stanza. age's trait cannot carry our error, so it
/// waits in `failed` for the caller.
struct KsIdentity<'a> {
    doc_id: &'a str,
    fetch: &'a dyn Fn(&[u8]) -> Result<FileKey, Error>,
    failed: RefCell<Option<Error>>,
}

impl age::Identity for KsIdentity<'_> {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        if stanza.tag != STANZA_TAG {
            return None;
        }
        if stanza.args.get(1).map(String::as_str) != Some(self.doc_id) {
            *self.failed.borrow_mut() =
                Some(Error::Corrupt("the encrypted part belongs to another document than the header".into()));
            return Some(Err(age::DecryptError::KeyDecryptionFailed));
        }
        match (self.fetch)(&stanza.body) {
            Ok(k) => Some(Ok(k)),
            Err(e) => {
                *self.failed.borrow_mut() = Some(e);
                Some(Err(age::DecryptError::KeyDecryptionFailed))
            }
        }
    }
}

pub(crate) fn stanza_of(s: &StanzaJson) -> Result<Stanza, Error> {
    let body = B64.decode(&s.body).map_err(|_| Error::Corrupt("a returned key stanza is not base64".into()))?;
    Ok(Stanza { tag: s.tag.clone(), args: s.args.clone(), body })
}

/// Protects `input` into `output`: asks the key service for a document, writes its signed
/// header, then the age stream. Memory stays bounded whatever the size.
pub fn protect(
    client: &Client,
    request: &ProtectRequest,
    input: impl Read + Send,
    output: &mut (impl Write + Send),
) -> Result<Rights, Error> {
    let answer = client.protect(request)?;
    let header_bytes = answer.rights_header.as_bytes();
    let (header, rights) = verified_header(client, &mut header_of(header_bytes).as_slice())?;
    let decoded = Zeroizing::new(B64.decode(&answer.doc_kek).unwrap_or_default());
    let kek: Key = Zeroizing::new(
        decoded
            .as_slice()
            .try_into()
            .map_err(|_| Error::Corrupt("the key service gave no 32-byte document key".into()))?,
    );
    let recipient = KsRecipient {
        doc_id: rights.doc_id.clone(),
        ks_id: rights.ks_id.clone(),
        kek,
        rights_hash: header.rights_hash(),
    };
    let io = |source| Error::Io { path: PathBuf::from("(output)"), source };
    container::write_header(output, header_bytes).map_err(io)?;
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
        .map_err(|e| Error::Decrypt(e.to_string()))?;
    pipe::pipelined(input, output, |r, w| {
        let mut w = encryptor.wrap_output(w).map_err(io)?;
        std::io::copy(r, &mut w).map_err(io)?;
        w.finish().map_err(io)?;
        Ok(rights)
    })
}

/// A complete container header around an envelope, so one parser reads both.
fn header_of(envelope: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(envelope.len() + 16);
    container::write_header(&mut v, envelope).expect("writing to memory");
    v
}

/// What an open learned.
#[derive(Clone, Debug)]
pub struct Opened {
    pub rights: Rights,
    /// What the opener may do.
    pub granted: Vec<Right>,
    /// True when a cached offline license opened it, without asking the key service.
    pub offline: bool,
}

/// Reads and verifies the header of the file at the start of `input`.
pub fn verified_header(client: &Client, input: &mut impl Read) -> Result<(Header, Rights), Error> {
    let header = container::read_header(input)?;
    let keys = client.trusted_keys(&header.rights.ks_id, &header.envelope.kid)?;
    let rights = header.verify(&keys)?;
    Ok((header, rights))
}

/// Decrypts the protected `input` into `output` for `purpose`. The header is verified before any
/// key request; the key service decides; age checks every chunk and the end of the stream.
pub fn open(
    client: &Client,
    purpose: Purpose,
    input: impl Read + Send,
    output: &mut (impl Write + Send),
) -> Result<Opened, Error> {
    let mut input = BufReader::with_capacity(1 << 16, input);
    let (header, rights) = verified_header(client, &mut input)?;
    open_payload(client, purpose, &header, rights, input, output)
}

fn open_payload(
    client: &Client,
    purpose: Purpose,
    header: &Header,
    rights: Rights,
    input: impl Read + Send,
    output: &mut (impl Write + Send),
) -> Result<Opened, Error> {
    let rights_sha256 = hex(&header.rights_hash());
    let granted = RefCell::new(Vec::new());
    let offline = RefCell::new(false);
    let fetch = |body: &[u8]| -> Result<FileKey, Error> {
        if purpose == Purpose::View {
            if let Some((key, rights)) = license::use_cached(client, &header.rights, &rights_sha256)? {
                *granted.borrow_mut() = rights;
                *offline.borrow_mut() = true;
                return Ok(key);
            }
        }
        let ephemeral = age::x25519::Identity::generate();
        let answer = client.key(
            &rights.doc_id,
            &KeyRequest {
                rights_sha256: rights_sha256.clone(),
                stanza_body: B64.encode(body),
                recipient: ephemeral.to_public().to_string(),
                purpose,
            },
        )?;
        if let Some(l) = &answer.license {
            license::store(client, &rights.doc_id, l)?;
        }
        *granted.borrow_mut() = answer.rights.clone();
        let stanza = stanza_of(&answer.stanza)?;
        match age::Identity::unwrap_stanza(&ephemeral, &stanza) {
            Some(Ok(k)) => Ok(k),
            _ => Err(Error::Corrupt("the key service's answer does not open with the key it was sent".into())),
        }
    };
    let identity = KsIdentity { doc_id: &rights.doc_id, fetch: &fetch, failed: RefCell::new(None) };
    pipe::pipelined(input, output, |r, w| {
        let decryptor = age::Decryptor::new(r).map_err(|e| Error::Corrupt(format!("the encrypted part: {e}")))?;
        let mut reader = match decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)) {
            Ok(r) => r,
            Err(e) => return Err(identity.failed.take().unwrap_or(Error::Decrypt(e.to_string()))),
        };
        std::io::copy(&mut reader, w)
            .map_err(|e| Error::Decrypt(format!("the encrypted part is damaged or cut short: {e}")))?;
        Ok(())
    })?;
    Ok(Opened { rights, granted: granted.into_inner(), offline: offline.into_inner() })
}

/// What a header tells anyone, without keys: for `status` and `scan`.
pub fn protection_of(h: &Header) -> mamori_model::Protection {
    protection(&h.rights)
}

/// What a document's rights say of it, in the words of the model (as [`protection_of`]).
pub fn protection(r: &Rights) -> mamori_model::Protection {
    mamori_model::Protection {
        content_id: r.doc_id.clone(),
        owner: r.owner.clone(),
        issuer: r.ks_id.clone(),
        label_id: r.label.as_ref().map(|l| l.id.clone()),
        label_name: r.label.as_ref().map(|l| l.name.clone()),
    }
}

/// Where `protect FILE` writes: beside the file with `.mamori` appended, or over it.
pub fn protected_name(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".mamori");
    PathBuf::from(s)
}

/// Where `unprotect FILE` restores to: the name without `.mamori`, or the file itself.
pub fn unprotected_name(path: &Path) -> PathBuf {
    match path.to_str().and_then(|s| s.strip_suffix(".mamori")) {
        Some(s) if !s.is_empty() && !s.ends_with('/') => PathBuf::from(s),
        _ => path.to_path_buf(),
    }
}

/// Writes `target` through a temp file in its directory, renamed over it only when `fill`
/// succeeded and the data is on disk. `replace: false` refuses an existing target.
pub fn write_atomically<T>(
    target: &Path,
    replace: bool,
    mode_from: Option<&Path>,
    fill: impl FnOnce(&mut std::fs::File) -> Result<T, Error>,
) -> Result<T, Error> {
    let io = |source| Error::Io { path: target.to_path_buf(), source };
    let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !replace && target.symlink_metadata().is_ok() {
        return Err(Error::Exists(target.to_path_buf()));
    }
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut tmp =
        tempfile::Builder::new().prefix(&format!(".{name}.")).suffix(".mamori-tmp").tempfile_in(dir).map_err(io)?;
    if let Some(perm) = mode_from.and_then(|p| std::fs::metadata(p).ok()).map(|m| m.permissions()) {
        std::fs::set_permissions(tmp.path(), perm).map_err(io)?;
    }
    let out = fill(tmp.as_file_mut())?;
    tmp.as_file().sync_all().map_err(io)?;
    if replace {
        tmp.persist(target).map_err(|e| io(e.error))?;
    } else {
        tmp.persist_noclobber(target).map_err(|e| io(e.error))?;
    }
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(out)
}
