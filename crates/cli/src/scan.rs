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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) mod policy;
use policy::{fingerprint, Policy, Redo};

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
    /// With --index: decide what changed by content (size and hash), not by times; a file with
    /// the same content under new times is skipped and its times recorded.
    #[arg(long, requires = "index")]
    rehash: bool,
    /// With --index: forget the inventory first and scan everything.
    #[arg(long, requires = "index")]
    reset: bool,
    /// Apply the label policy: label as `mamori classify` does, and protect where the label's
    /// template says so; without it the scan only reports what the policy would do.
    #[arg(long)]
    enforce: bool,
    /// Apply recommended rules too, as the AIP scanner's RecommendedAsAutomatic.
    #[arg(long)]
    recommended_as_automatic: bool,
    /// With --enforce: keep each labeled file's modification time.
    #[arg(long, requires = "enforce")]
    preserve_file_details: bool,
    /// With --enforce: label only, never protect (by default a label whose template protects
    /// also encrypts the file in place, as `mamori protect --label --in-place`).
    #[arg(long, requires = "enforce")]
    no_protect: bool,
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
        hash: a.index.is_some(),
    };
    // what decides an item's findings and label: a change of either rescans it (threads and
    // globs do not change what is found in a file)
    let catalog_version = fingerprint(&format!(
        "{}{catalog:?}{:?}{}{:?}{:?}",
        env!("CARGO_PKG_VERSION"),
        opts.min_confidence,
        opts.max_matches,
        opts.text,
        opts.limits
    ));
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
    // what the last scan saw of each file, and whether this walk has met it yet
    let known: std::collections::HashMap<String, (mamori_inventory::Seen, AtomicBool)> = match &inventory {
        Some(inv) => inv.files()?.into_iter().map(|(k, v)| (k, (v, AtomicBool::new(false)))).collect(),
        None => Default::default(),
    };
    let (unchanged, unchanged_sensitive) = (AtomicU64::new(0), AtomicU64::new(0));
    // workers add records under the read lock; a commit every half minute takes the write
    // lock, so an interrupted scan keeps what it did
    let writer = inventory.as_ref().map(|i| i.writer()).transpose()?.map(std::sync::RwLock::new);
    let last_commit = Mutex::new(Instant::now());
    let policy = Policy {
        labeler: &labeler,
        how: mamori_label::ClassifyOptions {
            recommended_as_automatic: a.recommended_as_automatic,
            apply_default_label: true,
        },
        enforce: a
            .enforce
            .then(|| mamori_label::WriteOptions { preserve_mtime: a.preserve_file_details, ..Default::default() }),
        versions: [env!("CARGO_PKG_VERSION").to_string(), catalog_version, policy_version],
        protect: a.enforce && !a.no_protect,
        client: Mutex::new(None),
        cwd: std::env::current_dir()?,
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
    let write_failed = Mutex::new(None::<mamori_inventory::Error>);
    // a rescan that changed nothing commits nothing (a commit syncs the disk)
    let dirty = AtomicBool::new(false);
    let record = |f: &mamori_scan::FileScan, keep: Vec<mamori_inventory::Record>| {
        let Some(w) = &writer else { return };
        dirty.store(true, Ordering::Relaxed);
        let abs = policy.key(&f.path).map_or_else(|| f.path.clone(), PathBuf::from);
        let root = roots.iter().find(|r| abs.starts_with(r));
        let mut records = policy.records(f, root.map(|r| r.as_path()));
        records.extend(keep);
        let mut done =
            records.first().map_or(Ok(()), |r| w.read().unwrap_or_else(|p| p.into_inner()).replace(&r.file, &records));
        let due = {
            let mut last = last_commit.lock().unwrap_or_else(|p| p.into_inner());
            let due = last.elapsed() > Duration::from_secs(30);
            if due {
                *last = Instant::now();
            }
            due
        };
        if due && done.is_ok() {
            done = w.write().unwrap_or_else(|p| p.into_inner()).commit();
        }
        if let Err(e) = done {
            write_failed.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
        }
    };
    let skip = |path: &std::path::Path| {
        let Some(abs) = policy.key(path) else { return false };
        let Some((last, walked)) = known.get(&abs) else { return false };
        walked.store(true, Ordering::Relaxed);
        let times = std::fs::metadata(path).map(mamori_scan::Scanned::of).unwrap_or_default();
        let redo = policy.redo(path, last, &times, a.rehash);
        let retimed = a.rehash && (times.modified, times.changed) != (last.modified, last.changed);
        if redo == Redo::Policy || redo == Redo::Nothing && retimed {
            // the same content: keep the members' records, weigh the label again, and note
            // new times (after --rehash), so the next scan skips it too
            let records = inventory.as_ref().map_or(Ok(Vec::new()), |i| i.records_of(&abs));
            let (members, own): (Vec<_>, Vec<_>) = match records {
                Ok(rs) => rs.into_iter().partition(|r| r.nested),
                Err(e) => {
                    write_failed.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                    return false;
                }
            };
            let Some(own) = own.first() else { return false };
            let mut f = Policy::from_record(path, own);
            f.file = mamori_scan::Scanned { hash: last.hash.clone(), ..times };
            let outcome = policy.apply(&mut f);
            if let (Some(r), Some(o)) = (&enforced, outcome) {
                r.emit(o);
            }
            record(&f, members);
        }
        if redo == Redo::Scan {
            return false;
        }
        let n = unchanged.fetch_add(1, Ordering::Relaxed) + 1;
        unchanged_sensitive.fetch_add(u64::from(last.sensitive), Ordering::Relaxed);
        if progress.is_some() {
            let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
            st.1.unchanged = n;
            show(&mut st);
        }
        true
    };
    scanner.scan_tree(&paths, skip, |mut f| {
        let outcome = policy.apply(&mut f);
        print(&f.items);
        if let (Some(r), Some(o)) = (&enforced, outcome) {
            r.emit(o);
        }
        record(&f, Vec::new());
    })?;
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    let (printer, mut summary, failed) = state.into_inner().unwrap_or_else(|p| p.into_inner());
    summary.unchanged = unchanged.into_inner();
    summary.unchanged_with_findings = unchanged_sensitive.into_inner();
    if let Some(mut w) = writer.map(|w| w.into_inner().unwrap_or_else(|p| p.into_inner())) {
        // deleted files leave the inventory; files merely outside this scan's globs stay
        for (file, _) in known.iter().filter(|(_, (_, walked))| !walked.load(Ordering::Relaxed)) {
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
        if dirty.into_inner() || summary.removed > 0 {
            w.commit().context("recording the scan in the inventory")?;
        }
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
