//! Signed requests: every call to the key service carries who signs it, when, a one-time nonce,
//! and an Ed25519 signature over the method, path, those two and the body's hash.

use crate::rights::{hex, verifying_key_text};
use crate::Identity;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, VerifyingKey};
use sha2::{Digest, Sha256};

/// The headers, by name, as they travel over HTTP.
pub const PRINCIPAL: &str = "mamori-principal";
pub const KEY_ID: &str = "mamori-key-id";
pub const TIMESTAMP: &str = "mamori-timestamp";
pub const NONCE: &str = "mamori-nonce";
pub const SIGNATURE: &str = "mamori-signature";

/// How far a request's clock may be from the key service's, either way (OpenTDF's default).
pub const SKEW_SECONDS: i64 = 60;

/// The signature headers of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    pub principal: String,
    /// `ed25519:<hex>` of the key that signed.
    pub key_id: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// 16 random bytes, base64url.
    pub nonce: String,
    /// base64url.
    pub signature: String,
}

fn string_to_sign(method: &str, path: &str, timestamp: i64, nonce: &str, body: &[u8]) -> Vec<u8> {
    format!("mamori-req/v1\n{method}\n{path}\n{timestamp}\n{nonce}\n{}", hex(&Sha256::digest(body))).into_bytes()
}

impl Signed {
    pub fn sign(id: &Identity, method: &str, path: &str, body: &[u8], now_seconds: i64) -> Signed {
        let nonce = B64.encode(crate::seal::random_bytes::<16>());
        let sig = id.signing_key().sign(&string_to_sign(method, path, now_seconds, &nonce, body));
        Signed {
            principal: id.principal().to_string(),
            key_id: verifying_key_text(&id.signing_key().verifying_key()),
            timestamp: now_seconds,
            nonce,
            signature: B64.encode(sig.to_bytes()),
        }
    }

    pub fn headers(&self) -> [(&'static str, String); 5] {
        [
            (PRINCIPAL, self.principal.clone()),
            (KEY_ID, self.key_id.clone()),
            (TIMESTAMP, self.timestamp.to_string()),
            (NONCE, self.nonce.clone()),
            (SIGNATURE, self.signature.clone()),
        ]
    }

    /// Reads the headers through `get`; `None` if one is missing or malformed.
    pub fn from_headers<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Option<Signed> {
        Some(Signed {
            principal: get(PRINCIPAL)?.to_string(),
            key_id: get(KEY_ID)?.to_string(),
            timestamp: get(TIMESTAMP)?.parse().ok()?,
            nonce: get(NONCE)?.to_string(),
            signature: get(SIGNATURE)?.to_string(),
        })
    }

    /// Whether `key` signed exactly this method, path and body.
    pub fn verify(&self, key: &VerifyingKey, method: &str, path: &str, body: &[u8]) -> bool {
        let Some(sig) = B64.decode(&self.signature).ok().and_then(|s| <[u8; 64]>::try_from(s).ok()) else {
            return false;
        };
        let nonce_ok = B64.decode(&self.nonce).is_ok_and(|n| n.len() == 16);
        nonce_ok
            && key
                .verify_strict(
                    &string_to_sign(method, path, self.timestamp, &self.nonce, body),
                    &Signature::from_bytes(&sig),
                )
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_covers_method_path_time_nonce_and_body() {
        let id = Identity::generate("alice@example.com").unwrap();
        let vk = id.signing_key().verifying_key();
        let s = Signed::sign(&id, "POST", "/v1/documents/x/key", b"{}", 1000);
        let headers = s.headers();
        let back = Signed::from_headers(|k| headers.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str())).unwrap();
        assert_eq!(back, s);
        assert!(s.verify(&vk, "POST", "/v1/documents/x/key", b"{}"));
        assert!(!s.verify(&vk, "POST", "/v1/documents/y/key", b"{}"));
        assert!(!s.verify(&vk, "POST", "/v1/documents/x/key", b"{ }"));
        assert!(!Signed { timestamp: 1001, ..s.clone() }.verify(&vk, "POST", "/v1/documents/x/key", b"{}"));
        let other = Signed::sign(&id, "POST", "/v1/documents/x/key", b"{}", 1000);
        assert_ne!(other.nonce, s.nonce);
        assert!(!Signed { nonce: other.nonce, ..s }.verify(&vk, "POST", "/v1/documents/x/key", b"{}"));
    }
}
