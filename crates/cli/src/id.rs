//! `mamori id`: the local identity that signs requests to the key service.

use clap::Subcommand;
use mamori_keys::{home, Identity};
use std::io::Write;

#[derive(Subcommand)]
pub enum IdCommand {
    /// Make a new identity (Ed25519 signing key, age X25519 key) in the mamori home
    /// ($MAMORI_HOME, else ~/.config/mamori), mode 0600.
    Init {
        /// The principal: an e-mail address or a service name, as grants and audit rows name it.
        #[arg(long)]
        name: String,
        /// Replace an existing identity (its keys are lost).
        #[arg(long)]
        force: bool,
    },
    /// Print the principal and its public keys (never the secret ones).
    Show {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(c: IdCommand) -> anyhow::Result<u8> {
    let home = home()?;
    let mut out = std::io::stdout().lock();
    match c {
        IdCommand::Init { name, force } => {
            let id = Identity::generate(&name)?;
            let path = id.save(&home, force)?;
            let p = id.public();
            writeln!(out, "created the identity of {} in {}", p.principal, path.display())?;
            writeln!(out, "signing key: {}\nrecipient:   {}", p.signing_key, p.recipient)?;
        }
        IdCommand::Show { json } => {
            let p = Identity::load(&home)?.public();
            if json {
                let mut v = serde_json::to_value(&p)?;
                v["home"] = home.display().to_string().into();
                writeln!(out, "{v}")?;
            } else {
                writeln!(
                    out,
                    "principal:   {}\nsigning key: {}\nrecipient:   {}\nhome:        {}",
                    p.principal,
                    p.signing_key,
                    p.recipient,
                    home.display()
                )?;
            }
        }
    }
    Ok(0)
}
