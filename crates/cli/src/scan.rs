//! `mamori scan`.

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mamori_detect::{Confidence, Engine};
use mamori_extract::{Limits, TextOptions};
use mamori_report::{Format, Printer, Summary};
use mamori_scan::{ScanOptions, Scanner};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct ScanArgs {
    /// Files and directories to scan; `-` reads standard input.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format: table (for people), jsonl (one object per item, then a summary), json, csv.
    #[arg(long, short = 'f', default_value = "table")]
    format: Format,
    /// Print matched values in clear (masked by default).
    #[arg(long)]
    reveal: bool,
    /// Report only matches at or above this confidence: low, medium or high.
    #[arg(long, default_value = "low")]
    min_confidence: Confidence,
    /// Worker threads (0: one per core).
    #[arg(long, short = 'j', default_value_t = 0)]
    threads: usize,
    /// Scan only files matching this glob (repeatable), e.g. `-g '*.csv'`.
    #[arg(long = "include", short = 'g')]
    include: Vec<String>,
    /// Skip files and directories matching this glob (repeatable), e.g. `--exclude .git`.
    #[arg(long)]
    exclude: Vec<String>,
    /// Load more sensitive type definitions from a directory or file (repeatable); a type with
    /// a built-in id replaces it.
    #[arg(long = "types")]
    types: Vec<PathBuf>,
    /// Look only for these type ids (comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Skip files larger than this many bytes (default: no limit; large files are read in windows).
    #[arg(long)]
    max_filesize: Option<u64>,
    /// Skip documents and archives nested deeper than this (`a.zip!b.zip!c.docx` is 2).
    #[arg(long, default_value_t = Limits::default().max_depth)]
    max_depth: u32,
    /// Largest document or archive read whole, and largest expanded member, in bytes.
    #[arg(long, default_value_t = Limits::default().max_member_size)]
    max_member_size: u64,
    /// Largest total expanded size of everything inside one file, in bytes.
    #[arg(long, default_value_t = Limits::default().max_total_size)]
    max_total_size: u64,
    /// Largest compression ratio of a member over 1 MiB (zip bombs go over it).
    #[arg(long, default_value_t = Limits::default().max_ratio)]
    max_ratio: u64,
    /// Seconds allowed for one file and everything inside it.
    #[arg(long, default_value_t = Limits::default().timeout.as_secs())]
    timeout: u64,
    /// Most matches listed per type and item (counts stay complete).
    #[arg(long, default_value_t = 1000)]
    max_matches: usize,
    /// Never show the progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Record what was found in the inventory and skip files unchanged since the last scan;
    /// `--index` alone uses $MAMORI_INDEX or else $MAMORI_HOME/inventory; `--index=DIR` another.
    #[arg(long, num_args = 0..=1, require_equals = true, value_name = "DIR")]
    #[allow(clippy::option_option)]
    index: Option<Option<PathBuf>>,
    /// With --index: also compare content hashes of files whose size and mtime are unchanged.
    #[arg(long, requires = "index")]
    rehash: bool,
    /// With --index: forget the inventory first and scan everything.
    #[arg(long, requires = "index")]
    reset: bool,
    /// Apply the label policy (label, as `mamori classify`); without it the scan only reports
    /// what the policy would do.
    #[arg(long)]
    enforce: bool,
    /// Apply recommended rules too, as the AIP scanner's RecommendedAsAutomatic.
    #[arg(long)]
    recommended_as_automatic: bool,
    /// With --enforce: keep each labeled file's modification time.
    #[arg(long, requires = "enforce")]
    preserve_file_details: bool,
    #[command(flatten)]
    labels: crate::label::LabelsDir,
}

pub fn run(a: ScanArgs) -> anyhow::Result<u8> {
    let catalog = crate::load_catalog(&a.types, &a.only)?;
    let engine = Arc::new(Engine::new(&catalog)?);
    let opts = ScanOptions {
        threads: a.threads,
        include: a.include,
        exclude: a.exclude,
        min_confidence: a.min_confidence,
        max_matches: a.max_matches,
        text: TextOptions { max_size: a.max_filesize, ..TextOptions::default() },
        limits: Limits {
            max_depth: a.max_depth,
            max_member_size: a.max_member_size,
            max_total_size: a.max_total_size,
            max_ratio: a.max_ratio,
            timeout: Duration::from_secs(a.timeout),
            ..Limits::default()
        },
    };
    // what decides an item's findings and label: a change of either rescans it
    let catalog_version = fingerprint(&format!("{}{catalog:?}{opts:?}", env!("CARGO_PKG_VERSION")));
    let labeler = a.labels.load()?;
    let policy_version = fingerprint(&format!("{:?}{:?}", labeler.taxonomy, labeler.policy));
    let scanner = Scanner::new(engine, opts)?;
    let inventory = match &a.index {
        Some(dir) => {
            let dir = crate::inventory::dir(dir.as_deref())?;
            if a.reset {
                mamori_inventory::Inventory::destroy(&dir)?;
            }
            Some(mamori_inventory::Inventory::open(&dir)?)
        }
        None => None,
    };
    let known = match &inventory {
        Some(inv) => inv.files()?,
        None => Default::default(),
    };
    let mut writer = inventory.as_ref().map(|i| i.writer()).transpose()?;
    let policy = Policy {
        labeler: &labeler,
        how: mamori_label::ClassifyOptions { recommended_as_automatic: a.recommended_as_automatic },
        enforce: a
            .enforce
            .then(|| mamori_label::WriteOptions { preserve_mtime: a.preserve_file_details, ..Default::default() }),
        versions: [env!("CARGO_PKG_VERSION").to_string(), catalog_version, policy_version],
    };
    let enforced = a.enforce.then(|| crate::label::Reporter::new(a.format != Format::Table, None));
    let started = Instant::now();
    let progress = (!a.no_progress && std::io::stderr().is_terminal()).then(|| {
        let pb = ProgressBar::new_spinner();
        pb.set_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("valid template"));
        pb.enable_steady_tick(Duration::from_millis(120));
        pb
    });
    // For the ETA: the files and bytes ahead, counted by a quick walk beside the scan.
    let total = Arc::new(Total::default());
    if progress.is_some() {
        let (total, paths) = (total.clone(), a.paths.clone());
        std::thread::spawn(move || total.count(&paths));
    }
    let stdout = std::io::stdout();
    let state = Mutex::new((
        Printer::new(std::io::BufWriter::with_capacity(1 << 16, stdout), a.format, a.reveal),
        Summary::default(),
        None::<std::io::Error>,
    ));
    let show = |st: &mut (Printer<_>, Summary, Option<std::io::Error>)| {
        let (_, summary, _) = &*st;
        if let Some(pb) = &progress {
            let secs = started.elapsed().as_secs_f64().max(1e-3);
            let rate = summary.bytes as f64 / secs;
            let ahead = match total.bytes() {
                Some(all) if rate > 0.0 => {
                    let left = all.saturating_sub(summary.bytes) as f64 / rate;
                    let pct = 100.0 * summary.bytes as f64 / all.max(1) as f64;
                    format!(", {:.0}% of {:.1} MB, ETA {}", pct.min(100.0), all as f64 / 1e6, eta(left))
                }
                _ => String::new(),
            };
            pb.set_message(
                format!(
                    "{} files, {:.1} MB, {:.0} files/s, {:.1} MB/s, {} with findings{ahead}",
                    summary.items,
                    summary.bytes as f64 / 1e6,
                    summary.items as f64 / secs,
                    rate / 1e6,
                    summary.items_with_findings
                ) + &if summary.unchanged > 0 { format!(", {} unchanged", summary.unchanged) } else { String::new() },
            );
        }
    };
    let print = |items: &[mamori_model::ItemReport]| {
        let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
        let (printer, summary, failed) = &mut *st;
        for item in items {
            summary.add(item);
            if failed.is_none() && enforced.is_none() {
                if let Err(e) = printer.item(item) {
                    *failed = Some(e);
                }
            }
        }
        show(&mut st);
    };
    let (stdin, paths): (Vec<_>, Vec<_>) = a.paths.into_iter().partition(|p| p.as_os_str() == "-");
    if !stdin.is_empty() {
        scanner.scan_reader("-", std::io::stdin().lock(), None, &|item| print(&[item]));
    }
    let roots: Vec<PathBuf> = paths.iter().map(std::path::absolute).collect::<Result<_, _>>()?;
    let walked = Mutex::new(std::collections::HashSet::new());
    let write_failed = Mutex::new(None::<mamori_inventory::Error>);
    let skip = |path: &std::path::Path| {
        let Some(abs) = std::path::absolute(path).ok().map(|p| p.display().to_string()) else { return false };
        let last = known.get(&abs);
        walked.lock().unwrap_or_else(|p| p.into_inner()).insert(abs);
        let unchanged = last.is_some_and(|k| policy.unchanged(path, k, a.rehash));
        if let (true, true, Some(k), Some(w), Some(inv)) = (unchanged, a.rehash, last, &writer, &inventory) {
            // the same content under new times: keep the times, so the next scan skips it too
            let times = std::fs::metadata(path).map(mamori_scan::Scanned::of).unwrap_or_default();
            if (times.modified, times.changed) != (k.modified, k.changed) {
                let refreshed = inv.records_of(&k.file).and_then(|mut rs| {
                    for r in rs.iter_mut().filter(|r| !r.nested) {
                        (r.modified, r.changed) = (times.modified, times.changed);
                    }
                    w.replace(&k.file, &rs)
                });
                if let Err(e) = refreshed {
                    write_failed.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                }
            }
        }
        if unchanged {
            let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
            st.1.unchanged += 1;
            st.1.unchanged_with_findings += u64::from(last.is_some_and(|k| !k.types.is_empty()));
            show(&mut st);
        }
        unchanged
    };
    scanner.scan_tree(&paths, skip, |mut f| {
        let outcome = policy.apply(&mut f);
        print(&f.items);
        if let (Some(r), Some(o)) = (&enforced, outcome) {
            r.emit(o);
        }
        if let Some(w) = &writer {
            let root = roots
                .iter()
                .find(|r| f.path.starts_with(r) || std::path::absolute(&f.path).is_ok_and(|p| p.starts_with(r)));
            let records = policy.records(&f, root.map(|r| r.as_path()));
            if let Err(e) = records.first().map_or(Ok(()), |r| w.replace(&r.file, &records)) {
                write_failed.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
            }
        }
    })?;
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    let (printer, mut summary, failed) = state.into_inner().unwrap_or_else(|p| p.into_inner());
    if let Some(w) = &mut writer {
        // deleted files leave the inventory; files merely outside this scan's globs stay
        let walked = walked.into_inner().unwrap_or_else(|p| p.into_inner());
        for file in known.keys().filter(|f| !walked.contains(*f)) {
            let path = std::path::Path::new(file);
            let gone = std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
            if gone && roots.iter().any(|r| path.starts_with(r)) {
                w.remove(file);
                summary.removed += 1;
            }
        }
        if let Some(e) = write_failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e).context("recording the scan in the inventory");
        }
        w.commit().context("recording the scan in the inventory")?;
    }
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    if let Some(e) = failed {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(0);
        }
        return Err(e).context("writing output");
    }
    if let Some(r) = enforced {
        let code = r.finish()?;
        drop(printer);
        return Ok(code.max(summary.exit_code() as u8));
    }
    match printer.finish(&summary) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
        r => {
            r.context("writing output")?;
        }
    }
    if a.format != Format::Table && std::io::stderr().is_terminal() {
        let _ = summary.write_text(&mut std::io::stderr().lock());
    }
    let _ = std::io::stderr().flush();
    Ok(summary.exit_code() as u8)
}

/// The size of what a scan has ahead of it, known once a walk beside it has finished.
#[derive(Default)]
struct Total {
    bytes: std::sync::atomic::AtomicU64,
    done: std::sync::atomic::AtomicBool,
}

impl Total {
    fn count(&self, paths: &[PathBuf]) {
        use std::sync::atomic::Ordering;
        let files = paths.iter().filter(|p| p.as_os_str() != "-").flat_map(|p| walkdir::WalkDir::new(p).into_iter());
        for e in files.filter_map(Result::ok).filter(|e| e.file_type().is_file()) {
            self.bytes.fetch_add(e.metadata().map_or(0, |m| m.len()), Ordering::Relaxed);
        }
        self.done.store(true, Ordering::Release);
    }

    fn bytes(&self) -> Option<u64> {
        use std::sync::atomic::Ordering;
        self.done.load(Ordering::Acquire).then(|| self.bytes.load(Ordering::Relaxed))
    }
}

/// `1h02m`, `3m05s`, `42s`.
fn eta(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s / 60 % 60),
    }
}

/// A short stable digest of what produced a result.
fn fingerprint(s: &str) -> String {
    blake3::hash(s.as_bytes()).to_hex()[..16].to_string()
}

/// The label policy as a scan applies it, and the versions its records carry.
struct Policy<'a> {
    labeler: &'a mamori_label::Labeler,
    how: mamori_label::ClassifyOptions,
    /// Set by --enforce: how to write labels.
    enforce: Option<mamori_label::WriteOptions>,
    /// mamori, catalog (with the scan options) and policy.
    versions: [String; 3],
}

impl Policy<'_> {
    /// May an incremental scan skip `path`? Only when the last scan read it with this mamori,
    /// catalog and policy, without error, and saw the same size, mtime and ctime (the ctime
    /// catches a label written to an extended attribute, and a rewrite that kept the mtime).
    /// With `rehash` the content decides instead of the times: same size and hash.
    fn unchanged(&self, path: &std::path::Path, last: &mamori_inventory::Record, rehash: bool) -> bool {
        let [engine, catalog, policy] = &self.versions;
        if (&last.engine, &last.catalog, &last.policy) != (engine, catalog, policy) {
            return false;
        }
        if last.status == mamori_model::ItemStatus::Error {
            return false; // perhaps it reads now
        }
        let Ok(now) = std::fs::metadata(path).map(mamori_scan::Scanned::of) else { return false };
        if rehash {
            now.size == last.size && last.hash.is_some() && mamori_scan::hash_file(path).ok() == last.hash
        } else {
            (now.size, now.modified, now.changed) == (last.size, last.modified, last.changed)
        }
    }

    /// Weighs (or with --enforce applies) the policy to a scanned file, noting the result on
    /// its own report; returns the outcome to print when enforcing.
    fn apply(&self, f: &mut mamori_scan::FileScan) -> Option<mamori_label::Outcome> {
        let (own, _) = f.items.split_last()?;
        if !f.regular || own.nested || own.protection.is_some() {
            return None;
        }
        let l = self.labeler;
        let (status, outcome) = if own.status != mamori_model::ItemStatus::Ok {
            (l.status(&f.path), l.not_classified(&f.path, own.error.as_deref().unwrap_or_default()))
        } else {
            let findings = mamori_model::Finding::merge(f.items.iter().flat_map(|i| i.findings.clone()));
            match &self.enforce {
                Some(opts) => {
                    let o = l.classify(&f.path, &findings, opts, &self.how);
                    if o.status == mamori_label::OutcomeStatus::Success {
                        // the file changed: what the inventory keeps is what is there now
                        f.file = std::fs::metadata(&f.path).map(mamori_scan::Scanned::of).unwrap_or_default();
                    }
                    (l.status(&f.path), o)
                }
                None => l.assess(&f.path, &findings, &self.how),
            }
        };
        let label = match (&status.parent_label_name, &status.label_name) {
            (Some(p), Some(n)) => Some(format!("{p}/{n}")),
            (_, n) => n.clone(),
        };
        let merged = mamori_model::Finding::merge(f.items.iter().flat_map(|i| i.findings.clone()));
        let own = f.items.last_mut().expect("checked");
        own.classification = Some(mamori_model::Classification {
            label,
            label_id: status.label_id.clone(),
            labeling_method: status.labeling_method.map(|m| m.as_str().to_string()),
            recommended_label: l.verdict(&merged).map(|(r, _)| l.taxonomy.path(r)),
            applied_label: outcome
                .label_name
                .clone()
                .filter(|_| outcome.status == mamori_label::OutcomeStatus::Success),
            outcome: outcome.status.as_str().to_string(),
            comment: outcome.comment.clone(),
        });
        Some(outcome)
    }

    /// The inventory's records of a scanned file: its members' and its own, which carries
    /// the label, the policy's verdict and the types of everything inside it.
    fn records(&self, f: &mamori_scan::FileScan, root: Option<&std::path::Path>) -> Vec<mamori_inventory::Record> {
        use mamori_inventory::{Record, TypeFound};
        let Ok(abs) = std::path::absolute(&f.path) else { return Vec::new() };
        let (file, shown) = (abs.display().to_string(), f.path.display().to_string());
        let [engine, catalog, policy] = self.versions.clone();
        let scanned_at = jiff::Timestamp::now().as_second();
        let l = self.labeler;
        let merged = mamori_model::Finding::merge(f.items.iter().flat_map(|i| i.findings.clone()));
        f.items
            .iter()
            .map(|item| {
                let own = !item.nested;
                let types = if own { &merged } else { &item.findings };
                let mut r = Record {
                    path: match item.path.strip_prefix(&shown) {
                        Some(rest) => format!("{file}{rest}"),
                        None => item.path.clone(),
                    },
                    file: file.clone(),
                    repository: root.map(|r| r.display().to_string()).unwrap_or_default(),
                    nested: item.nested,
                    size: item.size,
                    modified: None,
                    changed: None,
                    hash: None,
                    format: item.format.clone(),
                    status: item.status,
                    reason: item.error.clone(),
                    label: None,
                    label_id: None,
                    label_order: 0,
                    labeling_method: None,
                    protected: item.protection.is_some(),
                    content_id: item.protection.as_ref().map(|p| p.content_id.clone()),
                    recommended: None,
                    recommended_id: None,
                    recommended_order: 0,
                    recommended_protects: false,
                    applied: None,
                    action: None,
                    conditions: Vec::new(),
                    types: types
                        .iter()
                        .map(|t| TypeFound { id: t.type_id.clone(), count: t.count as u64, confidence: t.confidence })
                        .collect(),
                    scanned_at,
                    engine: engine.clone(),
                    catalog: catalog.clone(),
                    policy: policy.clone(),
                };
                if own {
                    r.size = f.file.size.or(item.size);
                    r.modified = f.file.modified;
                    r.changed = f.file.changed;
                    r.hash = f.file.hash.clone();
                    if let Some(c) = &item.classification {
                        r.label = c.label.clone();
                        r.label_id = c.label_id.clone();
                        r.labeling_method = c.labeling_method.clone();
                        r.applied = c.applied_label.clone();
                        r.action = Some(format!("{}: {}", c.outcome, c.comment));
                    }
                    // a protected file's label is in its header
                    if let Some(id) = item.protection.as_ref().and_then(|p| p.label_id.clone()) {
                        r.label = l.taxonomy.by_id(&id).map(|t| l.taxonomy.path(t));
                        r.label_id = Some(id);
                    }
                    r.label_order = r.label_id.as_deref().and_then(|id| l.taxonomy.by_id(id)).map_or(0, |t| t.order);
                    if let Some((v, reasons)) = l.verdict(&merged) {
                        r.recommended = Some(l.taxonomy.path(v));
                        r.recommended_id = Some(v.id.clone());
                        r.recommended_order = v.order;
                        r.recommended_protects = v.protection.is_some();
                        r.conditions = reasons.iter().map(ToString::to_string).collect();
                    }
                }
                r
            })
            .collect()
    }
}
