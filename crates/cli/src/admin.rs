//! `mamori serve` and `mamori admin`: run the key service over HTTP, and manage its directory
//! (principals, groups) with direct access to its store. Whoever can read the store and its
//! master key file is its administrator.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use mamori_keys::store::{Change, Principal};
use mamori_keys::KeyService;
use std::io::Write;
use std::path::{Path, PathBuf};

fn open_service(db: &Path) -> anyhow::Result<KeyService> {
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        mamori_keys::create_private_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(KeyService::open_sqlite(db)?)
}

#[derive(Args)]
pub struct ServeArgs {
    /// The store (SQLite); created if missing, with its master key in PATH.master-key (mode 0600).
    #[arg(long)]
    db: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7443")]
    listen: String,
}

pub fn serve(a: ServeArgs) -> anyhow::Result<u8> {
    let service = open_service(&a.db)?;
    let ks_id = service.info().ks_id;
    mamori_serve::run(service, &a.listen, |addr| {
        // One line on stdout, so a script can wait for it; the access log is in the store.
        println!("mamori key service {ks_id} listening on http://{addr} (store {})", a.db.display());
        let _ = std::io::stdout().flush();
    })
    .with_context(|| format!("cannot serve on {}", a.listen))?;
    Ok(0)
}

#[derive(Args)]
pub struct AdminArgs {
    /// The key service's store.
    #[arg(long)]
    db: PathBuf,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Principals: who may sign requests.
    #[command(subcommand)]
    Principal(PrincipalCommand),
    /// Groups: grants may name them; membership is checked at every open.
    #[command(subcommand)]
    Group(GroupCommand),
    /// The key service's id and signing keys.
    Info {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PrincipalCommand {
    /// Register (or update) a principal with its public keys, as `mamori id show` prints them.
    Add {
        /// The principal name (omit with --identity).
        #[arg(required_unless_present = "identity")]
        name: Option<String>,
        /// `ed25519:<hex>`.
        #[arg(long, required_unless_present = "identity")]
        signing_key: Option<String>,
        /// `age1…`.
        #[arg(long, required_unless_present = "identity")]
        recipient: Option<String>,
        /// A file with the output of `mamori id show --json` instead of the three above.
        #[arg(long, conflicts_with_all = ["name", "signing_key", "recipient"])]
        identity: Option<PathBuf>,
        /// Add to these groups.
        #[arg(long = "group")]
        groups: Vec<String>,
        /// May revoke labels and principals and read the whole access log.
        #[arg(long)]
        admin: bool,
    },
    /// Refuse every request of a principal from now on.
    Disable { name: String },
    /// Accept a disabled principal again.
    Enable { name: String },
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum GroupCommand {
    /// Add principals to a group (created on first use).
    Add {
        group: String,
        #[arg(required = true)]
        members: Vec<String>,
    },
    /// Remove principals from a group; their next open is decided without it.
    Remove {
        group: String,
        #[arg(required = true)]
        members: Vec<String>,
    },
    List {
        #[arg(long)]
        json: bool,
    },
}

const ACTOR: &str = "admin (local)";

pub fn admin(a: AdminArgs) -> anyhow::Result<u8> {
    let service = open_service(&a.db)?;
    let store = service.store();
    let mut out = std::io::stdout().lock();
    match a.command {
        AdminCommand::Info { json } => {
            let info = service.info();
            if json {
                writeln!(out, "{}", serde_json::to_string(&info)?)?;
            } else {
                writeln!(out, "key service {} (store {})", info.ks_id, a.db.display())?;
                for k in &info.signing_keys {
                    writeln!(out, "  signing key {}: {}", k.kid, k.public_key)?;
                }
            }
        }
        AdminCommand::Principal(PrincipalCommand::Add { name, signing_key, recipient, identity, groups, admin }) => {
            let (name, signing_key, recipient) = match identity {
                Some(path) => {
                    let text =
                        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
                    let v: serde_json::Value = serde_json::from_str(&text)
                        .with_context(|| format!("{}: not `mamori id show --json` output", path.display()))?;
                    let field = |k: &str| {
                        v[k].as_str().map(str::to_string).with_context(|| format!("{}: no {k}", path.display()))
                    };
                    (field("principal")?, field("signing_key")?, field("recipient")?)
                }
                None => (name.unwrap_or_default(), signing_key.unwrap_or_default(), recipient.unwrap_or_default()),
            };
            mamori_keys::rights::parse_verifying_key(&signing_key)?;
            mamori_keys::rights::parse_recipient(&recipient)?;
            let existing = store.principal(&name)?;
            let p = Principal {
                name: name.clone(),
                signing_key,
                recipient,
                admin,
                disabled: existing.as_ref().is_some_and(|p| p.disabled),
                access_revoked_at: existing.as_ref().and_then(|p| p.access_revoked_at),
            };
            service.administer(ACTOR, "add-principal", Change::PutPrincipal(p))?;
            for g in &groups {
                service.administer(
                    ACTOR,
                    "add-member",
                    Change::AddMember { group: g.clone(), principal: name.clone() },
                )?;
            }
            let verb = if existing.is_some() { "updated" } else { "added" };
            writeln!(out, "{verb} principal {name}{}", if admin { " (administrator)" } else { "" })?;
        }
        AdminCommand::Principal(c @ (PrincipalCommand::Disable { .. } | PrincipalCommand::Enable { .. })) => {
            let (name, disabled) = match c {
                PrincipalCommand::Disable { name } => (name, true),
                PrincipalCommand::Enable { name } => (name, false),
                _ => unreachable!("matched above"),
            };
            if store.principal(&name)?.is_none() {
                bail!("{name} is not registered");
            }
            let action = if disabled { "disable-principal" } else { "enable-principal" };
            service.administer(ACTOR, action, Change::PrincipalDisabled { name: name.clone(), disabled })?;
            let what = if disabled { "disabled: every request it signs is refused" } else { "enabled" };
            writeln!(out, "{name} {what}")?;
        }
        AdminCommand::Principal(PrincipalCommand::List { json }) => {
            for p in store.principals()? {
                let groups = store.groups_of(&p.name)?;
                let v = serde_json::json!({"name": p.name, "signing_key": p.signing_key, "recipient": p.recipient,
                    "admin": p.admin, "disabled": p.disabled, "groups": groups,
                    "access_revoked_at": p.access_revoked_at.map(mamori_keys::store::millis_text)});
                if json {
                    writeln!(out, "{v}")?;
                } else {
                    let flags = [
                        (p.admin, "admin"),
                        (p.disabled, "disabled"),
                        (p.access_revoked_at.is_some(), "access revoked"),
                    ];
                    let flags: Vec<&str> = flags.iter().filter(|f| f.0).map(|f| f.1).collect();
                    writeln!(out, "{}  groups: {}  {}", p.name, groups.join(","), flags.join(" "))?;
                }
            }
        }
        AdminCommand::Group(GroupCommand::Add { group, members }) => {
            for m in &members {
                if store.principal(m)?.is_none() {
                    bail!("{m} is not registered; add it with `mamori admin principal add` first");
                }
                service.administer(
                    ACTOR,
                    "add-member",
                    Change::AddMember { group: group.clone(), principal: m.clone() },
                )?;
            }
            writeln!(out, "added {} to {group}", members.join(", "))?;
        }
        AdminCommand::Group(GroupCommand::Remove { group, members }) => {
            for m in &members {
                service.administer(
                    ACTOR,
                    "remove-member",
                    Change::RemoveMember { group: group.clone(), principal: m.clone() },
                )?;
            }
            writeln!(out, "removed {} from {group}", members.join(", "))?;
        }
        AdminCommand::Group(GroupCommand::List { json }) => {
            for (g, members) in store.groups()? {
                if json {
                    writeln!(out, "{}", serde_json::json!({"group": g, "members": members}))?;
                } else {
                    writeln!(out, "{g}: {}", members.join(", "))?;
                }
            }
        }
    }
    Ok(0)
}
