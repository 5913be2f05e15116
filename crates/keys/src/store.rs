//! What the key service keeps, behind one trait so SQLite (embedded, one machine) and a shared
//! database (several replicas) hold the same rows. Nothing above this trait keeps state of its
//! own: replay nonces, revocations and group membership are read from the store on every call,
//! so a change committed by one process holds for all of them at the next request.

use crate::Error;
use serde::Serialize;

/// Milliseconds since the Unix epoch; every time in the store is one.
pub type Millis = i64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    /// `ed25519:<hex>`.
    pub signing_key: String,
    /// `age1…`: offline licenses are sealed to it.
    pub recipient: String,
    pub admin: bool,
    pub disabled: bool,
    /// Set by `revoke --principal`: every open by this principal is refused from then on.
    pub access_revoked_at: Option<Millis>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DocStatus {
    Active,
    Revoked,
    Shredded,
}

impl DocStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DocStatus::Active => "active",
            DocStatus::Revoked => "revoked",
            DocStatus::Shredded => "shredded",
        }
    }

    pub fn parse(s: &str) -> Option<DocStatus> {
        [DocStatus::Active, DocStatus::Revoked, DocStatus::Shredded].into_iter().find(|d| d.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    pub doc_id: String,
    pub owner: String,
    pub label_id: Option<String>,
    pub label_name: Option<String>,
    /// The exact signed rights bytes; grants are evaluated from these.
    pub rights: Vec<u8>,
    pub rights_hash: [u8; 32],
    /// The per-document key sealed under the master key; `None` once shredded.
    pub kek: Option<Vec<u8>>,
    pub status: DocStatus,
    pub issued_at: Millis,
    pub revoked_at: Option<Millis>,
    pub revoked_by: Option<String>,
    pub revoke_reason: Option<String>,
}

/// A key service signing key; the private half sealed under the master key.
#[derive(Clone, Debug)]
pub struct KsKey {
    pub kid: String,
    /// `ed25519:<hex>`.
    pub public_key: String,
    pub private_sealed: Vec<u8>,
    pub retired_at: Option<Millis>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Deny,
}

/// One row of the access log: every attempt, allowed or denied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    pub id: i64,
    #[serde(serialize_with = "as_rfc3339")]
    pub ts: Millis,
    pub principal: Option<String>,
    pub doc_id: Option<String>,
    pub label_id: Option<String>,
    /// protect, open, export, revoke, unrevoke, shred, track, audit, revoke-label, …
    pub action: String,
    pub decision: Decision,
    /// Why: `ok`, or the refusal (`not_granted`, `revoked`, `replay`, …).
    pub reason: String,
    pub client: String,
    pub user_agent: String,
}

fn as_rfc3339<S: serde::Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&millis_text(*ms))
}

pub fn millis_text(ms: Millis) -> String {
    jiff::Timestamp::from_millisecond(ms).map(|t| format!("{t:.3}")).unwrap_or_else(|_| ms.to_string())
}

/// Which audit rows to read, newest last.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub doc_id: Option<String>,
    pub principal: Option<String>,
    pub since: Option<Millis>,
    /// Only rows with an id above this (for following the log).
    pub after_id: Option<i64>,
    pub limit: Option<u32>,
}

/// A state change, committed together with its nonce and its audit row.
#[derive(Clone, Debug)]
pub enum Change {
    NewDocument(Document),
    DocumentStatus {
        doc_id: String,
        status: DocStatus,
        at: Millis,
        by: String,
        reason: String,
    },
    Shred {
        doc_id: String,
        at: Millis,
        by: String,
    },
    /// `at: None` lifts the revocation.
    LabelRevoked {
        label_id: String,
        at: Option<Millis>,
        by: String,
        reason: String,
    },
    PrincipalAccess {
        name: String,
        revoked_at: Option<Millis>,
    },
    PutPrincipal(Principal),
    PrincipalDisabled {
        name: String,
        disabled: bool,
    },
    AddMember {
        group: String,
        principal: String,
    },
    RemoveMember {
        group: String,
        principal: String,
    },
}

/// The nonce of a signed request, kept until its timestamp can no longer pass.
#[derive(Clone, Debug)]
pub struct Nonce {
    pub principal: String,
    pub nonce: String,
    pub expires_at: Millis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Committed {
    /// Written; the audit row's id.
    Done(i64),
    /// The nonce was seen before: nothing but a `replay` audit row was written.
    Replay(i64),
}

pub trait Store: Send + Sync {
    /// This key service's id, minted with the store.
    fn ks_id(&self) -> Result<String, Error>;
    /// Every signing key, retired ones too (old headers still verify).
    fn ks_keys(&self) -> Result<Vec<KsKey>, Error>;
    /// Adds a signing key unless the store already has one; returns the store's keys.
    fn init_ks_key(&self, key: &KsKey) -> Result<Vec<KsKey>, Error>;
    fn principal(&self, name: &str) -> Result<Option<Principal>, Error>;
    fn principals(&self) -> Result<Vec<Principal>, Error>;
    /// Groups `name` belongs to now.
    fn groups_of(&self, name: &str) -> Result<Vec<String>, Error>;
    /// Every group and its members.
    fn groups(&self) -> Result<Vec<(String, Vec<String>)>, Error>;
    fn document(&self, doc_id: &str) -> Result<Option<Document>, Error>;
    /// When documents of this label issued before it were revoked, if they are.
    fn label_revoked_at(&self, label_id: &str) -> Result<Option<Millis>, Error>;
    /// In one transaction: records `nonce` (refusing a replay), applies `change`, appends `audit`.
    /// Returns only after the commit is durable.
    fn commit(&self, nonce: Option<&Nonce>, change: Option<&Change>, audit: &AuditRow) -> Result<Committed, Error>;
    fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditRow>, Error>;
}
