//! The protected file: magic, version, flags, a length-prefixed signed rights header, then an
//! unmodified age v1 file. All integers big-endian.
//!
//! ```text
//! 0   8  "\x89MAMORI\n"   (high bit and LF catch text-mode mangling)
//! 8   2  version = 1
//! 10  2  flags = 0        (unknown bits are refused)
//! 12  4  N                (1 ..= 1 MiB)
//! 16  N  the rights envelope (JSON, signed by the key service)
//! 16+N   age-encryption.org/v1 …
//! ```

use crate::Error;
use mamori_keys::rights::{self, Envelope, Rights};
use std::io::{Read, Write};
use std::path::Path;

pub use mamori_model::PROTECTED_MAGIC as MAGIC;
pub const VERSION: u16 = 1;
const MAX_HEADER: u32 = 1 << 20;

/// Whether `head` (a file's first bytes) starts a mamori container.
pub fn is_protected(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// A container's header, read but not yet trusted: [`Header::verify`] checks the signature.
#[derive(Clone, Debug)]
pub struct Header {
    pub envelope: Envelope,
    /// The rights as the envelope carries them, not yet verified.
    pub rights: Rights,
    /// The exact bytes of the rights.
    pub rights_bytes: Vec<u8>,
    /// Where the age file starts.
    pub payload_offset: u64,
}

impl Header {
    pub fn rights_hash(&self) -> [u8; 32] {
        rights::rights_hash(&self.rights_bytes)
    }

    /// The rights, if the signature verifies with one of `keys` (kid, key).
    pub fn verify(&self, keys: &[(String, ed25519_dalek::VerifyingKey)]) -> Result<Rights, Error> {
        let body = self
            .envelope
            .verify(rights::RIGHTS, |kid| keys.iter().find(|(k, _)| k == kid).map(|(_, v)| *v))
            .map_err(Error::Keys)?;
        // The signature covers the body; reading it again only guards against a parser surprise.
        if body != self.rights_bytes {
            return Err(Error::Corrupt("the rights read do not match the signed rights".into()));
        }
        Ok(self.rights.clone())
    }
}

pub fn write_header(out: &mut impl Write, envelope: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(envelope.len()).ok().filter(|n| (1..=MAX_HEADER).contains(n));
    let len = len.ok_or_else(|| std::io::Error::other("a rights header must be 1 byte to 1 MiB"))?;
    out.write_all(MAGIC)?;
    out.write_all(&VERSION.to_be_bytes())?;
    out.write_all(&0u16.to_be_bytes())?;
    out.write_all(&len.to_be_bytes())?;
    out.write_all(envelope)
}

/// Reads the header from the start of `input`, leaving it at the age file.
pub fn read_header(input: &mut impl Read) -> Result<Header, Error> {
    let mut fixed = [0u8; 16];
    input.read_exact(&mut fixed).map_err(|_| Error::NotProtected)?;
    if !is_protected(&fixed) {
        return Err(Error::NotProtected);
    }
    let version = u16::from_be_bytes([fixed[8], fixed[9]]);
    let flags = u16::from_be_bytes([fixed[10], fixed[11]]);
    let len = u32::from_be_bytes([fixed[12], fixed[13], fixed[14], fixed[15]]);
    if version != VERSION {
        return Err(Error::Corrupt(format!("container version {version}; this mamori reads version {VERSION}")));
    }
    if flags != 0 {
        return Err(Error::Corrupt(format!("unknown container flags {flags:#06x}")));
    }
    if len == 0 || len > MAX_HEADER {
        return Err(Error::Corrupt(format!("a rights header of {len} bytes (1 byte to 1 MiB allowed)")));
    }
    let mut env = vec![0u8; len as usize];
    input.read_exact(&mut env).map_err(|_| Error::Corrupt("the file ends inside its rights header".into()))?;
    let envelope = Envelope::parse(&env).map_err(|e| Error::Corrupt(e.to_string()))?;
    let rights_bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &envelope.body)
        .map_err(|_| Error::Corrupt("the rights are not base64url".into()))?;
    let rights: Rights =
        serde_json::from_slice(&rights_bytes).map_err(|e| Error::Corrupt(format!("the rights do not parse: {e}")))?;
    Ok(Header { envelope, rights, rights_bytes, payload_offset: 16 + u64::from(len) })
}

/// The header of the file at `path`, or `None` if it is not a mamori container.
pub fn peek(path: &Path) -> Result<Option<Header>, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?;
    match read_header(&mut std::io::BufReader::new(file)) {
        Ok(h) => Ok(Some(h)),
        Err(Error::NotProtected) => Ok(None),
        Err(e) => Err(e),
    }
}
