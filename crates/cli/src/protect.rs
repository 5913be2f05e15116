//! `mamori protect`, `open`, `unprotect`, `rights`, `revoke`, `unrevoke`, `shred`, `track` and
//! `audit`: protected files and the incident responder's controls. The key service is the
//! embedded one unless `MAMORI_KEY_SERVICE` (or `key_service` in the mamori home's config.toml)
//! names one.

use crate::label::LabelsDir;
use anyhow::{bail, Context};
use clap::Args;
use mamori_keys::api::{AuditEvent, AuditRequest, ProtectRequest, Purpose};
use mamori_keys::rights::{Grant, LabelRef, Rights};
use mamori_protect::{Client, Error};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

pub(crate) fn client() -> anyhow::Result<Client> {
    Ok(Client::from_home(&mamori_keys::home()?)?)
}

#[derive(Args)]
pub struct ProtectArgs {
    /// Files and directories (walked); `-` reads paths from standard input. Files already
    /// protected are skipped.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// A label (name, path or GUID): its protection template gives the grants and offline days.
    #[arg(long)]
    label: Option<String>,
    /// PRINCIPAL=RIGHT,RIGHT (rights: view, edit, print, copy, export, owner); adds to the label's.
    #[arg(long = "grant", value_name = "PRINCIPAL=RIGHTS")]
    grants: Vec<String>,
    /// Until when the rights hold: 2027-03-31 (through that day, UTC), an RFC 3339 time, or 30d / 12h.
    #[arg(long)]
    expires: Option<String>,
    /// Days an opener may keep an offline license (default: the label's, else 0: ask at every open).
    #[arg(long)]
    offline_days: Option<u32>,
    /// Write here (one file only); default FILE.mamori beside it.
    #[arg(long, conflicts_with = "in_place")]
    out: Option<PathBuf>,
    /// Replace each file with its protected version, keeping its name.
    #[arg(long)]
    in_place: bool,
    /// One JSON object per file.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    labels: LabelsDir,
}

/// A time on the command line: RFC 3339, a date, or a span from now (30d, 12h). `ahead` picks
/// the direction of a span and whether a date means its end (an expiry) or its start (`--since`).
fn parse_time(s: &str, ahead: bool) -> anyhow::Result<jiff::Timestamp> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        let day = if ahead { d.tomorrow()? } else { d };
        return Ok(jiff::tz::TimeZone::UTC.to_timestamp(day.to_datetime(jiff::civil::Time::midnight()))?);
    }
    let hours = s
        .strip_suffix('d')
        .and_then(|n| n.parse::<i64>().ok().map(|n| n * 24))
        .or_else(|| s.strip_suffix('h').and_then(|n| n.parse::<i64>().ok()));
    let Some(h) = hours else { bail!("{s:?}: give a date (2027-03-31), an RFC 3339 time, or a span (30d, 12h)") };
    let span = jiff::SignedDuration::from_hours(if ahead { h } else { -h });
    Ok(jiff::Timestamp::now().checked_add(span)?)
}

pub fn protect(a: ProtectArgs) -> anyhow::Result<u8> {
    let files = crate::label::files(&a.files)?;
    if a.out.is_some() && files.len() > 1 {
        bail!("--out takes one file; give several files without it");
    }
    let labeler = a.labels.load()?;
    let extra = a.grants.iter().map(|g| Grant::parse(g)).collect::<Result<Vec<_>, _>>()?;
    let label = a.label.as_deref().map(|l| labeler.taxonomy.applicable(l)).transpose()?;
    let mut request = label_request(&labeler, label, &extra)?;
    request.not_after = a.expires.as_deref().map(|s| parse_time(s, true)).transpose().context("--expires")?;
    if let Some(d) = a.offline_days {
        request.offline_days = d;
    }
    let client = client()?;
    let home = std::fs::canonicalize(client.home()).ok();
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for file in &files {
        let target = match (&a.out, a.in_place) {
            (Some(o), _) => o.clone(),
            (None, true) => file.clone(),
            (None, false) => mamori_protect::protected_name(file),
        };
        match protect_one(&client, &request, file, &target, a.in_place, home.as_deref()) {
            Ok(Done::Protected(r)) if a.json => {
                let v = serde_json::json!({"path": file, "status": "success", "output": target,
                    "doc_id": r.doc_id, "label": r.label.as_ref().map(|l| &l.name), "owner": r.owner});
                writeln!(out, "{v}")?;
            }
            Ok(Done::Protected(r)) => {
                writeln!(out, "protected {} -> {} (document {})", file.display(), target.display(), r.doc_id)?
            }
            Ok(Done::Skipped(why)) if a.json => {
                writeln!(out, "{}", serde_json::json!({"path": file, "status": "skipped", "comment": why}))?
            }
            Ok(Done::Skipped(why)) => writeln!(out, "skipped {}: {why}", file.display())?,
            Err(e) => {
                failed = true;
                if a.json {
                    writeln!(
                        out,
                        "{}",
                        serde_json::json!({"path": file, "status": "failed", "comment": format!("{e:#}")})
                    )?;
                } else {
                    eprintln!("mamori: {}: {e:#}", file.display());
                }
            }
        }
    }
    Ok(if failed { 2 } else { 0 })
}

/// The request to protect with `label`'s template (grants, offline days) plus `extra` grants.
fn label_request(
    labeler: &mamori_label::Labeler,
    label: Option<&mamori_label::Label>,
    extra: &[Grant],
) -> anyhow::Result<ProtectRequest> {
    let mut request = ProtectRequest::default();
    let mut template = Vec::new();
    if let Some(label) = label {
        request.label = Some(LabelRef { id: label.id.clone(), name: labeler.taxonomy.path(label) });
        if let Some(p) = &label.protection {
            template = p.grants.iter().map(|g| (g.principal.clone(), g.rights.clone())).collect();
            request.offline_days = p.offline_days;
        }
    }
    request.grants = mamori_protect::client::grants_of(&template, extra)?;
    Ok(request)
}

/// Protects `file` in place with `label`'s template (`scan --enforce`); what its header says.
fn protect_with_label(
    client: &Client,
    labeler: &mamori_label::Labeler,
    label: &mamori_label::Label,
    file: &Path,
) -> anyhow::Result<mamori_model::Protection> {
    let request = label_request(labeler, Some(label), &[])?;
    let home = std::fs::canonicalize(client.home()).ok();
    match protect_one(client, &request, file, file, true, home.as_deref())? {
        Done::Protected(r) => Ok(mamori_protect::protection(&r)),
        Done::Skipped(why) => bail!(why),
    }
}

/// Protects a file just labeled `label`, as its template says, noting the result in `o`; the
/// key service client is made at the first file and kept in `slot` (`scan --enforce`, `watch`,
/// the label chooser).
pub(crate) fn protect_labeled(
    slot: &mut Option<Client>,
    labeler: &mamori_label::Labeler,
    label: &mamori_label::Label,
    path: &Path,
    o: &mut mamori_label::Outcome,
) -> Option<mamori_model::Protection> {
    let client = match slot {
        Some(c) => Ok(c),
        None => client()
            .context("protecting needs an identity (`mamori id init`) and a key service")
            .map(|c| slot.insert(c)),
    };
    match client.and_then(|c| protect_with_label(c, labeler, label, path)) {
        Ok(p) => {
            o.status = mamori_label::OutcomeStatus::Success;
            o.comment.push_str(&format!("; protected (document {})", p.content_id));
            Some(p)
        }
        Err(e) => {
            o.status = mamori_label::OutcomeStatus::Failed;
            o.comment.push_str(&format!("; not protected: {e:#}"));
            None
        }
    }
}

/// What became of one file.
enum Done {
    Protected(Rights),
    Skipped(String),
}

fn protect_one(
    client: &Client,
    request: &ProtectRequest,
    file: &Path,
    target: &Path,
    in_place: bool,
    home: Option<&Path>,
) -> anyhow::Result<Done> {
    // Never the mamori home itself: protecting the key store or identity would lock everything.
    if home.is_some_and(|h| std::fs::canonicalize(file).is_ok_and(|f| f.starts_with(h))) {
        return Ok(Done::Skipped("part of the mamori home (identity, key store): never protected".into()));
    }
    let mut input = std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    if !std::fs::metadata(file)?.is_file() {
        bail!("not a regular file");
    }
    if let Some(h) = mamori_protect::peek(file)? {
        return Ok(Done::Skipped(Error::AlreadyProtected { doc_id: h.rights.doc_id }.to_string()));
    }
    let mut request = request.clone();
    request.name_hint = file.file_name().map(|n| n.to_string_lossy().into_owned());
    let rights = mamori_protect::write_atomically(target, in_place, Some(file), |mut out| {
        mamori_protect::protect(client, &request, &mut input, &mut out)
    })?;
    Ok(Done::Protected(rights))
}

#[derive(Args)]
pub struct OpenArgs {
    file: PathBuf,
    /// Write the plaintext here (atomically) instead of to standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn open(a: OpenArgs) -> anyhow::Result<u8> {
    let client = client()?;
    let input = std::fs::File::open(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let what = |e: Error| anyhow::anyhow!("{}: {e}", a.file.display());
    let opened = match &a.out {
        Some(path) => mamori_protect::write_atomically(path, true, None, |mut f| {
            mamori_protect::open(&client, Purpose::View, input, &mut f)
        })
        .map_err(what)?,
        None => {
            let stdout = std::io::stdout();
            if stdout.is_terminal() {
                eprintln!(
                    "mamori: writing the plaintext of {} to the terminal; use --out PATH to save it",
                    a.file.display()
                );
            }
            // The pipeline writes 1 MiB blocks from a thread of its own.
            mamori_protect::open(&client, Purpose::View, input, &mut { stdout }).map_err(what)?
        }
    };
    if opened.offline {
        eprintln!("mamori: opened {} with a cached offline license", a.file.display());
    }
    Ok(0)
}

#[derive(Args)]
pub struct UnprotectArgs {
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Write the plain file here (one file only); default: FILE without `.mamori`, or FILE itself.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn unprotect(a: UnprotectArgs) -> anyhow::Result<u8> {
    if a.out.is_some() && a.files.len() > 1 {
        bail!("--out takes one file; give several files without it");
    }
    let client = client()?;
    let mut failed = false;
    for file in &a.files {
        let target = a.out.clone().unwrap_or_else(|| mamori_protect::unprotected_name(file));
        let result = (|| -> Result<(), Error> {
            let input = std::fs::File::open(file).map_err(|e| Error::Io { path: file.clone(), source: e })?;
            let same = target == *file;
            mamori_protect::write_atomically(&target, same, Some(file), |mut f| {
                mamori_protect::open(&client, Purpose::Export, input, &mut f)
            })?;
            if !same {
                std::fs::remove_file(file).map_err(|e| Error::Io { path: file.clone(), source: e })?;
            }
            Ok(())
        })();
        match result {
            Ok(()) => println!("unprotected {} -> {}", file.display(), target.display()),
            Err(e) => {
                failed = true;
                eprintln!("mamori: {}: {e}", file.display());
            }
        }
    }
    Ok(if failed { 2 } else { 0 })
}

#[derive(Args)]
pub struct RightsArgs {
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[arg(long)]
    json: bool,
}

/// Shows the rights in each header after verifying its signature with pinned keys; no network.
pub fn rights(a: RightsArgs) -> anyhow::Result<u8> {
    let home = mamori_keys::home()?;
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for file in &a.files {
        let checked = (|| -> Result<(Rights, String), Error> {
            let Some(h) = mamori_protect::peek(file)? else { return Err(Error::NotProtected) };
            let keys = mamori_protect::trust::load(&home, &h.rights.ks_id)?;
            let rights = h.verify(&keys)?;
            Ok((rights, h.envelope.kid))
        })();
        match checked {
            Ok((r, kid)) if a.json => {
                let mut v = serde_json::to_value(&r)?;
                v["path"] = file.display().to_string().into();
                v["signature"] = serde_json::json!({"valid": true, "kid": kid});
                writeln!(out, "{v}")?;
            }
            Ok((r, kid)) => {
                writeln!(out, "{}", file.display())?;
                writeln!(out, "  document:  {}", r.doc_id)?;
                writeln!(out, "  owner:     {}", r.owner)?;
                writeln!(out, "  label:     {}", r.label.as_ref().map(|l| l.name.as_str()).unwrap_or("-"))?;
                writeln!(out, "  issued:    {}", r.issued_at)?;
                let expires = r.not_after.map(|t| t.to_string()).unwrap_or_else(|| "never".into());
                writeln!(out, "  expires:   {expires}")?;
                writeln!(out, "  offline:   {} days", r.offline_days)?;
                for g in &r.grants {
                    let rights: Vec<&str> = g.r.iter().map(|r| r.as_str()).collect();
                    writeln!(out, "  grant:     {} = {}", g.p, rights.join(","))?;
                }
                writeln!(out, "  signature: valid ({} key {kid})", r.ks_id)?;
            }
            Err(e) => {
                failed = true;
                if a.json {
                    writeln!(out, "{}", serde_json::json!({"path": file, "error": e.to_string()}))?;
                } else {
                    eprintln!("mamori: {}: {e}", file.display());
                }
            }
        }
    }
    Ok(if failed { 2 } else { 0 })
}

/// A document named by its id, or by a protected file.
fn doc_id(arg: &str) -> anyhow::Result<String> {
    let p = Path::new(arg);
    if p.is_file() {
        return match mamori_protect::peek(p)? {
            Some(h) => Ok(h.rights.doc_id),
            None => bail!("{arg} is not a mamori protected file"),
        };
    }
    match uuid::Uuid::parse_str(arg) {
        Ok(u) => Ok(u.to_string()),
        Err(_) => bail!("{arg:?} is neither a protected file nor a document id"),
    }
}

#[derive(Args)]
pub struct RevokeArgs {
    /// A document id or a protected file.
    #[arg(required_unless_present_any = ["label", "principal"], conflicts_with_all = ["label", "principal"])]
    doc: Option<String>,
    /// Every document of this label issued until now (name, path or GUID).
    #[arg(long, conflicts_with = "principal")]
    label: Option<String>,
    /// Every open by this principal from now on.
    #[arg(long)]
    principal: Option<String>,
    /// Why; kept in the access log.
    #[arg(long, default_value = "")]
    reason: String,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    labels: LabelsDir,
}

pub fn revoke(a: RevokeArgs, revoke: bool) -> anyhow::Result<u8> {
    let client = client()?;
    let verb = if revoke { "revoked" } else { "restored" };
    let answer = if let Some(l) = &a.label {
        let labeler = a.labels.load()?;
        let id = labeler.taxonomy.find(l).map(|x| x.id.clone()).unwrap_or_else(|| l.clone());
        let v = client.revoke_label(&id, revoke, &a.reason)?;
        (format!("{verb} every document labeled {l} issued until now"), v)
    } else if let Some(p) = &a.principal {
        let v = client.revoke_principal(p, revoke, &a.reason)?;
        (format!("{verb} the access of {p}"), v)
    } else {
        let id = doc_id(a.doc.as_deref().expect("clap requires one"))?;
        let s = if revoke { client.revoke(&id, &a.reason)? } else { client.unrevoke(&id, &a.reason)? };
        (
            format!("{verb} document {id}: every copy {}", if revoke { "now fails to open" } else { "opens again" }),
            serde_json::to_value(s)?,
        )
    };
    if a.json {
        println!("{}", answer.1);
    } else {
        println!("{}", answer.0);
    }
    Ok(0)
}

#[derive(Args)]
pub struct ShredArgs {
    /// A document id or a protected file.
    doc: String,
    /// The document id again: shredding destroys its key, and no one can undo it.
    #[arg(long, required = true)]
    confirm: String,
}

pub fn shred(a: ShredArgs) -> anyhow::Result<u8> {
    let client = client()?;
    let id = doc_id(&a.doc)?;
    client.shred(&id, &a.confirm)?;
    println!("shredded document {id}: its key is destroyed and no copy will ever open again");
    Ok(0)
}

#[derive(Args)]
pub struct TrackArgs {
    /// A document id or a protected file.
    doc: String,
    #[arg(long)]
    json: bool,
}

pub fn track(a: TrackArgs) -> anyhow::Result<u8> {
    let client = client()?;
    let t = client.track(&doc_id(&a.doc)?, &AuditRequest::default())?;
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{}", serde_json::to_string(&t)?)?;
        return Ok(0);
    }
    let d = &t.document;
    writeln!(
        out,
        "document {} (owner {}, label {}): {}",
        d.doc_id,
        d.owner,
        d.label.as_deref().unwrap_or("-"),
        d.status
    )?;
    if let (Some(at), Some(by)) = (&d.revoked_at, &d.revoked_by) {
        writeln!(
            out,
            "  {} at {at} by {by}{}",
            d.status,
            d.reason.as_deref().filter(|r| !r.is_empty()).map(|r| format!(": {r}")).unwrap_or_default()
        )?;
    }
    print_events(&mut out, &t.events)?;
    Ok(0)
}

fn print_events(out: &mut impl Write, events: &[AuditEvent]) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<24}  {:<28}  {:<10}  {:<8}  {:<18}  client",
        "time", "principal", "action", "decision", "reason"
    )?;
    for e in events {
        writeln!(
            out,
            "{:<24}  {:<28}  {:<10}  {:<8}  {:<18}  {}",
            e.ts,
            e.principal.as_deref().unwrap_or("-"),
            e.action,
            e.decision,
            e.reason,
            e.client
        )?;
    }
    Ok(())
}

#[derive(Args)]
pub struct AuditArgs {
    /// Only events at or after this time (RFC 3339, a date, or a span back: 24h, 7d).
    #[arg(long)]
    since: Option<String>,
    /// Only events of this principal.
    #[arg(long)]
    principal: Option<String>,
    /// At most this many (the newest).
    #[arg(long)]
    limit: Option<u32>,
    /// JSON Lines, one event per line, for a SIEM.
    #[arg(long)]
    json: bool,
}

pub fn audit(a: AuditArgs) -> anyhow::Result<u8> {
    let since = a.since.as_deref().map(|s| parse_time(s, false)).transpose().context("--since")?;
    let client = client()?;
    let events = client.audit(&AuditRequest { since, principal: a.principal, limit: a.limit, ..Default::default() })?;
    let mut out = std::io::stdout().lock();
    if a.json {
        for e in &events {
            writeln!(out, "{}", serde_json::to_string(e)?)?;
        }
    } else {
        print_events(&mut out, &events)?;
    }
    Ok(0)
}
