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
    let scanner = Scanner::new(engine, opts)?;
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
    let on_item = |item: mamori_model::ItemReport| {
        let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
        let (printer, summary, failed) = &mut *st;
        summary.add(&item);
        if failed.is_none() {
            if let Err(e) = printer.item(&item) {
                *failed = Some(e);
            }
        }
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
            pb.set_message(format!(
                "{} files, {:.1} MB, {:.0} files/s, {:.1} MB/s, {} with findings{ahead}",
                summary.items,
                summary.bytes as f64 / 1e6,
                summary.items as f64 / secs,
                rate / 1e6,
                summary.items_with_findings
            ));
        }
    };
    let (stdin, paths): (Vec<_>, Vec<_>) = a.paths.into_iter().partition(|p| p.as_os_str() == "-");
    if !stdin.is_empty() {
        scanner.scan_reader("-", std::io::stdin().lock(), None, &on_item);
    }
    scanner.scan_paths(&paths, on_item)?;
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    let (printer, mut summary, failed) = state.into_inner().unwrap_or_else(|p| p.into_inner());
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    if let Some(e) = failed {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(0);
        }
        return Err(e).context("writing output");
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
