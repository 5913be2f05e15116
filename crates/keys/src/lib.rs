//! `mamori-keys`: who is who, and (next) the key service that decides who may open what.
//!
//! This first part owns **identities**: a principal name with an Ed25519 signing key (it signs
//! requests to the key service) and an age X25519 key (offline use licenses are sealed to it),
//! kept in the mamori home with mode 0600 and wiped from memory on drop. The key service, its
//! store and the audit log come with the protection issue (ARCHITECTURE.md, PROTECTION design
//! §7–8); nothing here talks to the network.
#![forbid(unsafe_code)]

mod identity;

pub use identity::{home, Identity, PublicIdentity};

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
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}
