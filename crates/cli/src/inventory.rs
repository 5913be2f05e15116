//! `mamori search` and `mamori report`: questions and reports over the inventory that
//! `mamori scan --index` keeps.

use anyhow::Context;
use clap::Args;
use mamori_inventory::{Inventory, Record};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The inventory directory: as given, else `$MAMORI_INDEX`, else `$MAMORI_HOME/inventory`.
pub fn dir(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(d) = given.map(Path::to_path_buf).or_else(|| std::env::var_os("MAMORI_INDEX").map(PathBuf::from)) {
        return Ok(d);
    }
    Ok(mamori_keys::home()?.join("inventory"))
}

#[derive(Args)]
pub struct IndexArg {
    /// The inventory (default: $MAMORI_INDEX, else $MAMORI_HOME/inventory, as `mamori scan
    /// --index` keeps it).
    #[arg(long)]
    index: Option<PathBuf>,
}

impl IndexArg {
    fn open(&self) -> anyhow::Result<Inventory> {
        let dir = dir(self.index.as_deref())?;
        if !dir.exists() {
            anyhow::bail!("no inventory at {}: run `mamori scan --index PATH...` first", dir.display());
        }
        Ok(Inventory::open(&dir)?)
    }
}

#[derive(Args)]
pub struct SearchArgs {
    /// e.g. `type:jp-my-number AND label:Public`, `path:share/hr/*`, `status:skipped`,
    /// `confidence:high`, `posture:underlabeled`, `size:>10M`; `*` for everything.
    /// Fields: path, file, repository, type, confidence, label, recommended, method, status,
    /// reason, format, posture, protected, nested, action, size.
    query: String,
    /// One JSON object (the inventory's record) per item.
    #[arg(long, conflicts_with = "count")]
    json: bool,
    /// Print only the number of matching items.
    #[arg(long)]
    count: bool,
    /// Show at most this many items (the counts cover all).
    #[arg(long)]
    limit: Option<usize>,
    #[command(flatten)]
    index: IndexArg,
}

/// Exit code 0 when something matched, 1 when nothing did (as grep).
pub fn search(a: SearchArgs) -> anyhow::Result<u8> {
    let inv = a.index.open()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if a.count {
        let n = inv.count(&a.query)?;
        writeln!(out, "{n}")?;
        return Ok(u8::from(n == 0));
    }
    let hits = inv.find(&a.query)?;
    let shown = &hits[..a.limit.unwrap_or(usize::MAX).min(hits.len())];
    for r in shown {
        if a.json {
            writeln!(out, "{}", serde_json::to_string(r)?)?;
            continue;
        }
        let types = r.types.iter().map(|t| format!("{}×{} ({})", t.id, t.count, t.confidence)).collect::<Vec<_>>();
        let mut notes = vec![format!("label {}", r.label.as_deref().unwrap_or("none"))];
        if let Some(rec) = r.recommended.as_ref().filter(|_| r.recommended_order > r.label_order) {
            notes.push(format!("policy says {rec}"));
        }
        if r.protected {
            notes.push("protected".into());
        }
        if r.status != mamori_model::ItemStatus::Ok {
            notes.push(format!("{}: {}", r.status.as_str(), r.reason.as_deref().unwrap_or("")));
        }
        writeln!(out, "{}\t{}\t{}", r.path, notes.join("; "), types.join(", "))?;
    }
    out.flush()?;
    if !a.json {
        summarize(&hits, shown.len());
    }
    Ok(u8::from(hits.is_empty()))
}

/// The counts of a search, on standard error: items, and files per type and label.
fn summarize(hits: &[Record], shown: usize) {
    let files = hits.iter().filter(|r| !r.nested).count();
    let more = if shown < hits.len() { format!(" ({shown} shown)") } else { String::new() };
    eprintln!("{} items match{more}: {files} files, {} members", hits.len(), hits.len() - files);
    let t = mamori_report::inventory::Totals::of(hits);
    let types: Vec<String> = t.types.iter().map(|(k, (n, _))| format!("{k} {n}")).collect();
    if !types.is_empty() {
        eprintln!("  types (files): {}", types.join(", "));
    }
    let labels: Vec<String> = t.labels.iter().map(|(k, n)| format!("{k} {n}")).collect();
    if !labels.is_empty() {
        eprintln!("  labels (files): {}", labels.join(", "));
    }
}

#[derive(Args)]
pub struct ReportArgs {
    /// csv (the AIP scanner's DetailedReport columns), json, or html (a dashboard in one file).
    #[arg(long, short = 'f', default_value = "html", value_parser = ["csv", "json", "html"])]
    format: String,
    /// Write here instead of standard output (through a temporary file, renamed when done).
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
    /// Report only the items this query selects (see `mamori search`).
    #[arg(long, short = 'q', default_value = "*")]
    query: String,
    /// Leave out the key service's recent access events (html).
    #[arg(long)]
    no_access_log: bool,
    #[command(flatten)]
    index: IndexArg,
}

pub fn report(a: ReportArgs) -> anyhow::Result<u8> {
    let inv = a.index.open()?;
    let records = inv.find(&a.query)?;
    let render = |w: &mut dyn Write| -> std::io::Result<()> {
        use mamori_report::inventory as r;
        match a.format.as_str() {
            "csv" => r::detailed_csv(&records, w),
            "json" => r::json(&records, w),
            _ => r::html(
                &r::Dashboard {
                    records: &records,
                    source: format!("inventory {} · query {}", inv.dir().display(), a.query),
                    generated: jiff::Timestamp::now()
                        .round(jiff::Unit::Second)
                        .map(|t| t.to_string())
                        .unwrap_or_default(),
                    access: if a.no_access_log {
                        Err("access events left out (--no-access-log)".into())
                    } else {
                        access_events()
                    },
                },
                w,
            ),
        }
    };
    match &a.out {
        None => render(&mut std::io::stdout().lock())?,
        Some(path) => {
            mamori_protect::write_atomically(path, true, None, |f| {
                let mut w = std::io::BufWriter::new(f);
                render(&mut w)
                    .and_then(|_| w.flush())
                    .map_err(|source| mamori_protect::Error::Io { path: path.clone(), source })
            })
            .with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {} ({} items)", path.display(), records.len());
        }
    }
    Ok(0)
}

/// Recent events of the key service's access log, when there is one to ask and we may.
fn access_events() -> Result<Vec<mamori_report::inventory::AccessEvent>, String> {
    let home = mamori_keys::home().map_err(|e| e.to_string())?;
    let remote = mamori_protect::client::configured_key_service(&home).map_err(|e| e.to_string())?;
    if remote.is_none() && !home.join("ks/ks.db").exists() {
        return Err("no key service configured (MAMORI_KEY_SERVICE) and no local one".into());
    }
    let client = mamori_protect::Client::from_home(&home).map_err(|e| format!("key service not reachable: {e}"))?;
    let req = mamori_keys::api::AuditRequest { limit: Some(200), ..Default::default() };
    let events = client.audit(&req).map_err(|e| format!("key service not reachable: {e}"))?;
    Ok(events
        .into_iter()
        .map(|e| mamori_report::inventory::AccessEvent {
            time: e.ts,
            principal: e.principal.unwrap_or_default(),
            document: e.doc_id.unwrap_or_default(),
            action: e.action,
            allowed: e.decision == "allow",
            reason: e.reason,
        })
        .collect())
}
