//! `mamori`: flags, wiring and messages. The work happens in the library crates.
//!
//! Exit codes (as ripgrep and gitleaks): 0 nothing sensitive found, 1 sensitive content found,
//! 2 an error (a bad option, or an item that could not be read).
#![forbid(unsafe_code)]

mod admin;
mod chooser;
mod desktop;
mod eval;
mod id;
mod inventory;
mod label;
mod protect;
mod scan;
mod types;
mod watch;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mamori",
    version,
    about = "Find sensitive information (card numbers, マイナンバー, secrets, ...) in file shares",
    after_help = "Exit codes: 0 nothing found (or all done), 1 sensitive content found, 2 errors (a file that could not be read or labeled)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan files and directories for sensitive information types.
    Scan(scan::ScanArgs),
    /// List, check and export sensitive information types.
    #[command(subcommand)]
    Types(types::TypesCommand),
    /// Score the scanner against a corpus with a ground-truth.jsonl: precision, recall, F1.
    Eval(eval::EvalArgs),
    /// The sensitivity labels of the taxonomy (`labels/`).
    #[command(subcommand)]
    Labels(label::LabelsCommand),
    /// Show the label of each file (fields of Get-AIPFileStatus).
    Status(label::StatusArgs),
    /// Apply or remove labels, written into each file the way Office does.
    #[command(subcommand)]
    Label(label::LabelCommand),
    /// Scan files, decide a label by the policy, and apply it (`--what-if` only reports).
    Classify(label::ClassifyArgs),
    /// The local identity (principal, signing key, age key) used with the key service.
    #[command(subcommand)]
    Id(id::IdCommand),
    /// Encrypt files with usage rights checked by the key service at every open.
    Protect(protect::ProtectArgs),
    /// Decrypt a protected file to standard output or --out (needs the view right).
    Open(protect::OpenArgs),
    /// Restore the plain file (needs the export or owner right).
    Unprotect(protect::UnprotectArgs),
    /// Show a protected file's rights after checking their signature (no network).
    Rights(protect::RightsArgs),
    /// Make every copy of a document (or every document of a label, or a principal's access) fail to open.
    Revoke(protect::RevokeArgs),
    /// Undo a revocation.
    Unrevoke(protect::RevokeArgs),
    /// Destroy a document's key: no copy will ever open again. Irreversible.
    Shred(protect::ShredArgs),
    /// The access log of one document: every open attempt, allowed or denied.
    Track(protect::TrackArgs),
    /// The key service's access log (administrators), as a table or JSON Lines.
    Audit(protect::AuditArgs),
    /// Query the inventory kept by `mamori scan --index`, e.g. `type:jp-my-number AND label:Public`.
    Search(inventory::SearchArgs),
    /// Report the inventory: csv (AIP DetailedReport columns), json, or an html dashboard.
    Report(inventory::ReportArgs),
    /// Label files as they are saved in watched folders (the desktop classifier).
    Watch(watch::WatchArgs),
    /// The "Classify and protect with mamori" action in file managers, and its chooser.
    #[command(subcommand)]
    Desktop(desktop::DesktopCommand),
    /// Run the key service over HTTP.
    Serve(admin::ServeArgs),
    /// Manage the key service's principals and groups (direct access to its store).
    Admin(admin::AdminArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(a) => scan::run(a),
        Command::Types(c) => types::run(c),
        Command::Eval(a) => eval::run(a),
        Command::Labels(c) => label::labels(c),
        Command::Status(a) => label::status(a),
        Command::Label(c) => label::label(c),
        Command::Classify(a) => label::classify(a),
        Command::Id(c) => id::run(c),
        Command::Protect(a) => protect::protect(a),
        Command::Open(a) => protect::open(a),
        Command::Unprotect(a) => protect::unprotect(a),
        Command::Rights(a) => protect::rights(a),
        Command::Revoke(a) => protect::revoke(a, true),
        Command::Unrevoke(a) => protect::revoke(a, false),
        Command::Shred(a) => protect::shred(a),
        Command::Track(a) => protect::track(a),
        Command::Audit(a) => protect::audit(a),
        Command::Search(a) => inventory::search(a),
        Command::Report(a) => inventory::report(a),
        Command::Watch(a) => watch::run(a),
        Command::Desktop(c) => desktop::run(c),
        Command::Serve(a) => admin::serve(a),
        Command::Admin(a) => admin::admin(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        // `mamori status . | head`: the reader left; that is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::from(0)
        }
        Err(e) => {
            eprintln!("mamori: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The catalog: built-in types, plus or overridden by `--types DIR`, optionally narrowed.
fn load_catalog(extra: &[std::path::PathBuf], only: &[String]) -> anyhow::Result<mamori_detect::Catalog> {
    let mut catalog = mamori_detect::Catalog::builtin();
    for dir in extra {
        catalog.add(mamori_detect::Catalog::load_path(dir)?);
    }
    if !only.is_empty() {
        catalog.retain_ids(only)?;
    }
    Ok(catalog)
}
