//! The key service's requests and answers, as JSON. The same types travel in-process (embedded)
//! and over HTTP (`mamori serve`), so both paths reach the same decision code.

use crate::rights::{Grant, LabelRef, Right};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// `GET /v1/ks`: who the key service is and the keys that sign its headers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KsInfo {
    pub ks_id: String,
    pub api: String,
    pub signing_keys: Vec<KsPublicKey>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KsPublicKey {
    pub kid: String,
    /// `ed25519:<hex>`.
    pub public_key: String,
}

/// `POST /v1/documents`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ProtectRequest {
    #[serde(default)]
    pub label: Option<LabelRef>,
    #[serde(default)]
    pub grants: Vec<Grant>,
    #[serde(default)]
    pub not_after: Option<Timestamp>,
    #[serde(default)]
    pub offline_days: u32,
    #[serde(default)]
    pub name_hint: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProtectResponse {
    pub doc_id: String,
    /// The signed rights envelope (JSON text) that goes into the file's header.
    pub rights_header: String,
    /// The per-document key (base64), given once so the protector can seal its file key.
    pub doc_kek: String,
}

/// Why a key is asked for: `view` opens, `export` removes protection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    View,
    Export,
}

impl Purpose {
    pub fn right(self) -> Right {
        match self {
            Purpose::View => Right::View,
            Purpose::Export => Right::Export,
        }
    }

    pub fn action(self) -> &'static str {
        match self {
            Purpose::View => "open",
            Purpose::Export => "unprotect",
        }
    }
}

/// `POST /v1/documents/{id}/key`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyRequest {
    /// hex SHA-256 of the rights bytes in the requester's header.
    pub rights_sha256: String,
    /// base64 of the `mamori.dev/ks` stanza body.
    pub stanza_body: String,
    /// An ephemeral `age1…` recipient: the file key comes back sealed to it.
    pub recipient: String,
    pub purpose: Purpose,
}

/// An age stanza, as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StanzaJson {
    pub tag: String,
    pub args: Vec<String>,
    /// base64.
    pub body: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyResponse {
    /// The file key as a native age X25519 stanza to the request's recipient.
    pub stanza: StanzaJson,
    /// What the requester may do with the document.
    pub rights: Vec<Right>,
    /// A signed offline use license, when the document allows offline days.
    #[serde(default)]
    pub license: Option<String>,
}

/// An offline use license: the file key sealed to the principal's long-term age key, valid until
/// `exp`. Signed by the key service like rights.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct License {
    pub v: u32,
    pub doc_id: String,
    pub principal: String,
    pub rights: Vec<Right>,
    pub rights_sha256: String,
    pub iat: Timestamp,
    pub exp: Timestamp,
    pub stanza: StanzaJson,
}

/// Revoke, unrevoke: why.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Reason {
    #[serde(default)]
    pub reason: String,
}

/// `POST /v1/documents/{id}/shred`: the document id again, to confirm.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShredRequest {
    pub confirm: String,
}

/// `POST /v1/labels/revoke` and `/unrevoke`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LabelRequest {
    pub label_id: String,
    #[serde(default)]
    pub reason: String,
}

/// `POST /v1/principals/revoke` and `/unrevoke`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PrincipalRequest {
    pub name: String,
    #[serde(default)]
    pub reason: String,
}

/// A document's state, as revoke, unrevoke, shred and track report it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DocumentState {
    pub doc_id: String,
    pub owner: String,
    pub label: Option<String>,
    pub status: String,
    pub revoked_at: Option<Timestamp>,
    pub revoked_by: Option<String>,
    pub reason: Option<String>,
}

/// `POST /v1/documents/{id}/track` and `POST /v1/audit`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AuditRequest {
    #[serde(default)]
    pub doc_id: Option<String>,
    #[serde(default)]
    pub principal: Option<String>,
    #[serde(default)]
    pub since: Option<Timestamp>,
    #[serde(default)]
    pub after_id: Option<i64>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// An access-log row as clients see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: i64,
    pub ts: String,
    pub principal: Option<String>,
    pub doc_id: Option<String>,
    pub label_id: Option<String>,
    pub action: String,
    pub decision: String,
    pub reason: String,
    pub client: String,
    pub user_agent: String,
}

/// Every refusal: a stable code and a sentence for people.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Refusal {
    pub error: String,
    pub message: String,
}
