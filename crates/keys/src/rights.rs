//! Usage rights, and the signed envelope that carries them (and offline licenses) inside every
//! protected file. The signature covers the exact bytes of the body, so nobody re-serializes JSON
//! to check it.

use crate::Error;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// One usage right, as RMS names them. Only `view` (and `export`, for unprotect) gates the key;
/// the others are honoured by mamori's own tools, as Office honours RMS rights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Right {
    View,
    Edit,
    Print,
    Copy,
    Export,
    /// Full control: every other right, plus revoking and tracking the document.
    Owner,
}

impl Right {
    pub const ALL: [Right; 6] = [Right::View, Right::Edit, Right::Print, Right::Copy, Right::Export, Right::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            Right::View => "view",
            Right::Edit => "edit",
            Right::Print => "print",
            Right::Copy => "copy",
            Right::Export => "export",
            Right::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Result<Right, Error> {
        Right::ALL.into_iter().find(|r| r.as_str() == s.trim()).ok_or_else(|| Error::Invalid {
            what: "right",
            reason: format!("{s:?} is not one of view, edit, print, copy, export, owner"),
        })
    }
}

/// Rights given to a principal, a group, or `everyone@<domain>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Who: a principal name, a group name, or `everyone@<domain>`.
    pub p: String,
    /// What.
    pub r: Vec<Right>,
}

impl Grant {
    /// Parses `PRINCIPAL=RIGHT,RIGHT` as `--grant` takes it.
    pub fn parse(s: &str) -> Result<Grant, Error> {
        let bad = |reason: String| Error::Invalid { what: "grant", reason };
        let (p, r) = s.split_once('=').ok_or_else(|| bad(format!("{s:?} is not PRINCIPAL=RIGHT,RIGHT")))?;
        if p.trim().is_empty() {
            return Err(bad(format!("{s:?} names nobody")));
        }
        let r = r.split(',').map(Right::parse).collect::<Result<Vec<_>, _>>()?;
        Ok(Grant { p: p.trim().to_string(), r })
    }

    /// Whether this grant names `principal`, one of its `groups`, or its whole domain.
    pub fn names(&self, principal: &str, groups: &[String]) -> bool {
        let p = self.p.to_ascii_lowercase();
        if p == principal.to_ascii_lowercase() || groups.iter().any(|g| g.eq_ignore_ascii_case(&p)) {
            return true;
        }
        match (p.strip_prefix("everyone@"), principal.rsplit_once('@')) {
            (Some(domain), Some((_, theirs))) => domain.eq_ignore_ascii_case(theirs),
            _ => false,
        }
    }
}

/// The label a document was protected under, as the header shows it without keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelRef {
    pub id: String,
    pub name: String,
}

/// The rights the key service signs into a document's header. Made once, at protect time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rights {
    pub v: u32,
    pub doc_id: String,
    pub ks_id: String,
    pub issued_at: Timestamp,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<LabelRef>,
    pub grants: Vec<Grant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<Timestamp>,
    /// Days an offline use license may be cached; 0 means every open asks the key service.
    #[serde(default)]
    pub offline_days: u32,
    /// The original file name, so unprotect can restore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_hint: Option<String>,
}

impl Rights {
    /// What `principal` (member of `groups`) may do. The owner may do everything.
    pub fn granted(&self, principal: &str, groups: &[String]) -> BTreeSet<Right> {
        let mut out: BTreeSet<Right> =
            self.grants.iter().filter(|g| g.names(principal, groups)).flat_map(|g| g.r.iter().copied()).collect();
        if self.owner.eq_ignore_ascii_case(principal) || out.contains(&Right::Owner) {
            out.extend(Right::ALL);
        }
        out
    }

    pub fn expired(&self, now: Timestamp) -> bool {
        self.not_after.is_some_and(|t| now >= t)
    }
}

/// SHA-256 of the signed rights bytes: what the key wrap is bound to.
pub fn rights_hash(rights: &[u8]) -> [u8; 32] {
    Sha256::digest(rights).into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// `ed25519:<hex>`, as identities and the key service print verifying keys.
pub fn verifying_key_text(key: &VerifyingKey) -> String {
    format!("ed25519:{}", hex(key.as_bytes()))
}

pub fn parse_verifying_key(s: &str) -> Result<VerifyingKey, Error> {
    let bad = || Error::Invalid { what: "signing key", reason: format!("{s:?} is not ed25519:<64 hex digits>") };
    let bytes: [u8; 32] = s.strip_prefix("ed25519:").and_then(unhex).and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| bad())
}

/// An age X25519 recipient (`age1…`).
pub fn parse_recipient(s: &str) -> Result<age::x25519::Recipient, Error> {
    s.parse()
        .map_err(|_| Error::Invalid { what: "recipient", reason: format!("{s:?} is not an age1… X25519 recipient") })
}

/// What an envelope carries.
pub const RIGHTS: &str = "mamori-rights/v1";
pub const LICENSE: &str = "mamori-license/v1";

/// A body signed by a key service key: `sig = Ed25519(typ || 0x00 || body)`, so a license can
/// never pass for rights or the other way round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub typ: String,
    pub alg: String,
    pub kid: String,
    /// base64url of the body bytes.
    pub body: String,
    /// base64url of the signature.
    pub sig: String,
}

fn signed_bytes(typ: &str, body: &[u8]) -> Vec<u8> {
    [typ.as_bytes(), b"\0", body].concat()
}

impl Envelope {
    pub fn sign(typ: &str, kid: &str, key: &SigningKey, body: &[u8]) -> Envelope {
        Envelope {
            typ: typ.to_string(),
            alg: "Ed25519".to_string(),
            kid: kid.to_string(),
            body: B64.encode(body),
            sig: B64.encode(key.sign(&signed_bytes(typ, body)).to_bytes()),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an envelope serializes")
    }

    pub fn parse(bytes: &[u8]) -> Result<Envelope, Error> {
        serde_json::from_slice(bytes).map_err(|e| Error::Invalid { what: "signed header", reason: e.to_string() })
    }

    /// The body, if the envelope is of type `typ` and signed by the key `key_of` gives for its kid.
    pub fn verify(&self, typ: &str, key_of: impl Fn(&str) -> Option<VerifyingKey>) -> Result<Vec<u8>, Error> {
        let bad = |reason: String| Error::BadSignature { reason };
        if self.typ != typ || self.alg != "Ed25519" {
            return Err(bad(format!("expected a {typ} envelope signed with Ed25519, found {} {}", self.typ, self.alg)));
        }
        let key = key_of(&self.kid).ok_or_else(|| Error::UnknownKey { kid: self.kid.clone() })?;
        let body = B64.decode(&self.body).map_err(|_| bad("the body is not base64url".into()))?;
        let sig: [u8; 64] = B64
            .decode(&self.sig)
            .ok()
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| bad("the signature is not 64 bytes of base64url".into()))?;
        key.verify_strict(&signed_bytes(typ, &body), &Signature::from_bytes(&sig))
            .map_err(|_| bad(format!("the signature does not verify with key {}", self.kid)))?;
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rights() -> Rights {
        Rights {
            v: 1,
            doc_id: "d".into(),
            ks_id: "ks".into(),
            issued_at: Timestamp::UNIX_EPOCH,
            owner: "alice@example.com".into(),
            label: None,
            grants: vec![
                Grant::parse("bob@example.com=view,print").unwrap(),
                Grant::parse("finance@example.com=edit").unwrap(),
                Grant::parse("everyone@partner.example=copy").unwrap(),
            ],
            not_after: None,
            offline_days: 0,
            name_hint: None,
        }
    }

    #[test]
    fn grants_name_principals_groups_and_domains() {
        let r = rights();
        let set = |p: &str, g: &[&str]| {
            let g: Vec<String> = g.iter().map(|s| s.to_string()).collect();
            r.granted(p, &g).into_iter().map(Right::as_str).collect::<Vec<_>>().join(",")
        };
        assert_eq!(set("Bob@Example.com", &[]), "view,print");
        assert_eq!(set("carol@example.com", &["finance@example.com"]), "edit");
        assert_eq!(set("dave@partner.example", &[]), "copy");
        assert_eq!(set("mallory@example.net", &[]), "");
        assert_eq!(set("alice@example.com", &[]), "view,edit,print,copy,export,owner");
        assert!(Grant::parse("bob").is_err() && Grant::parse("bob=fly").is_err() && Grant::parse("=view").is_err());
    }

    #[test]
    fn envelopes_verify_only_unchanged_and_only_as_their_type() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let vk = key.verifying_key();
        let body = serde_json::to_vec(&rights()).unwrap();
        let env = Envelope::sign(RIGHTS, "k1", &key, &body);
        let bytes = env.to_bytes();
        let back = Envelope::parse(&bytes).unwrap();
        assert_eq!(back.verify(RIGHTS, |k| (k == "k1").then_some(vk)).unwrap(), body);
        assert!(matches!(back.verify(LICENSE, |_| Some(vk)), Err(Error::BadSignature { .. })));
        assert!(matches!(back.verify(RIGHTS, |_| None), Err(Error::UnknownKey { .. })));
        let mut other = back.clone();
        other.body =
            B64.encode(serde_json::to_vec(&Rights { owner: "mallory@example.com".into(), ..rights() }).unwrap());
        assert!(matches!(other.verify(RIGHTS, |_| Some(vk)), Err(Error::BadSignature { .. })));
        assert_eq!(parse_verifying_key(&verifying_key_text(&vk)).unwrap(), vk);
    }
}
