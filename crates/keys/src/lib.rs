//! `mamori-keys`: who is who, and the key service that decides who may open what.
//!
//! - **Identities** (`identity`): a principal with an Ed25519 key that signs its requests and an
//!   age X25519 key that offline licenses are sealed to; mode 0600 in the mamori home.
//! - **Rights** (`rights`): usage rights and the signed envelope that carries them in a header.
//! - **The key service** (`service`): one `handle` for every transport (in-process, HTTP). It
//!   checks signature, clock and nonce, decides, audits, and releases a file key sealed to the
//!   requester's ephemeral key, never in clear.
//! - **The store** (`store`, `sqlite`): documents, principals, groups, revocations, nonces and the
//!   access log, behind a trait so a shared database can serve several replicas.
//!
//! Design: `shared/design/reference/protection.md` §6–§8.
#![forbid(unsafe_code)]

pub mod api;
mod identity;
pub mod request;
pub mod rights;
pub mod seal;
pub mod service;
pub mod sqlite;
pub mod store;

pub use identity::{create_private_dir, home, Identity, PublicIdentity};
pub use service::{KeyService, Request, Response, STANZA_TAG};
pub use sqlite::SqliteStore;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No identity in the mamori home yet.
    #[error("no identity in {}: run `mamori id init --name NAME` first", home.display())]
    NoIdentity { home: PathBuf },
    /// An identity exists and replacing it was not asked for.
    #[error("{} already holds the identity of {principal}; give --force to replace it (its keys are lost)", path.display())]
    Exists { path: PathBuf, principal: String },
    /// A principal name that cannot be one.
    #[error("invalid principal name {name:?}: {reason}")]
    BadName { name: String, reason: &'static str },
    /// The identity file is damaged.
    #[error("{}: {reason}", path.display())]
    BadIdentity { path: PathBuf, reason: String },
    /// Neither MAMORI_HOME nor a home directory is set.
    #[error("no mamori home: set MAMORI_HOME or HOME")]
    NoHome,
    /// Something given (a right, a grant, a key) is not valid.
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    /// A signed header or license does not verify.
    #[error("bad signature: {reason}")]
    BadSignature { reason: String },
    /// Signed by a key this machine does not know.
    #[error(
        "signed by key {kid}, which this machine does not know; open the file once with its key service reachable"
    )]
    UnknownKey { kid: String },
    /// The key service's database failed.
    #[error("key store {}: {reason}", path.display())]
    Store { path: PathBuf, reason: String },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}
