//! mamori's scan pipeline: walk → extract → detect, one [`ItemReport`] per item.
//!
//! The walk is sequential and cheap; items are scanned in parallel on a rayon pool, each by
//! one worker from open to report so its data stays in that core's cache. Nothing here stops a
//! run: an unreadable, vanished, binary or oversized item becomes a report with a status and a
//! reason. Reports are handed to the caller as they complete (streamed, not collected), so a
//! million-file share needs no memory for results.
#![forbid(unsafe_code)]

use globset::{Glob, GlobSet, GlobSetBuilder};
use mamori_detect::Engine;
use mamori_extract::{read_text, TextOptions};
use mamori_model::{Confidence, Finding, ItemReport, ItemStatus, Match, SensitiveValue};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Errors that stop a scan before it starts (bad options). Per-item problems are statuses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An include or exclude glob does not parse.
    #[error("invalid glob {glob:?}: {message}")]
    Glob { glob: String, message: String },
    /// The worker pool could not start.
    #[error("starting {threads} scan threads: {message}")]
    Threads { threads: usize, message: String },
}

/// How to scan.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// Worker threads; 0 for one per core.
    pub threads: usize,
    /// Globs a file's path must match (any of them) to be scanned; empty for all.
    pub include: Vec<String>,
    /// Globs that exclude files and whole directories.
    pub exclude: Vec<String>,
    /// Matches below this confidence are not reported.
    pub min_confidence: Confidence,
    /// Most matches listed per finding (the count is always complete).
    pub max_matches: usize,
    pub text: TextOptions,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            threads: 0,
            include: Vec::new(),
            exclude: Vec::new(),
            min_confidence: Confidence::Low,
            max_matches: 1000,
            text: TextOptions::default(),
        }
    }
}

/// A compiled engine plus options: scans paths, files and readers.
pub struct Scanner {
    engine: Arc<Engine>,
    opts: ScanOptions,
    include: Option<GlobSet>,
    exclude: GlobSet,
}

fn globset(globs: &[String]) -> Result<GlobSet, Error> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        // a bare name like `*.log` matches at any depth, as users of rg -g expect
        let pat = if g.contains('/') { g.clone() } else { format!("**/{g}") };
        b.add(Glob::new(&pat).map_err(|e| Error::Glob { glob: g.clone(), message: e.to_string() })?);
    }
    b.build().map_err(|e| Error::Glob { glob: globs.join(","), message: e.to_string() })
}

impl Scanner {
    pub fn new(engine: Arc<Engine>, mut opts: ScanOptions) -> Result<Scanner, Error> {
        opts.text.context = opts.text.context.max(engine.context_bytes());
        let include = if opts.include.is_empty() { None } else { Some(globset(&opts.include)?) };
        let exclude = globset(&opts.exclude)?;
        Ok(Scanner { engine, opts, include, exclude })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Walks `roots` and scans every regular file, calling `on_item` (from worker threads) as
    /// each report is ready. A root that is a file is scanned as given.
    pub fn scan_paths(&self, roots: &[PathBuf], on_item: impl Fn(ItemReport) + Sync + Send) -> Result<(), Error> {
        let threads = if self.opts.threads == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        } else {
            self.opts.threads
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| Error::Threads { threads, message: e.to_string() })?;
        pool.install(|| {
            self.walk(roots).par_bridge().for_each(|entry| {
                let report = match entry {
                    Walked::File(path) => self.scan_file(&path),
                    Walked::Report(r) => r,
                };
                on_item(report);
            })
        });
        Ok(())
    }

    fn walk<'a>(&'a self, roots: &'a [PathBuf]) -> impl Iterator<Item = Walked> + Send + 'a {
        roots.iter().flat_map(move |root| {
            walkdir::WalkDir::new(root)
                .follow_links(false)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(move |e| e.depth() == 0 || !self.exclude.is_match(e.path()))
                .filter_map(move |e| match e {
                    Err(err) => {
                        let path =
                            err.path().map(|p| p.display().to_string()).unwrap_or_else(|| root.display().to_string());
                        let reason = err.io_error().map(|e| e.to_string()).unwrap_or_else(|| err.to_string());
                        Some(Walked::Report(ItemReport::new(path).failed(ItemStatus::Error, reason)))
                    }
                    Ok(e) => {
                        let ft = e.file_type();
                        if ft.is_dir() {
                            return None;
                        }
                        if let Some(inc) = &self.include {
                            if e.depth() > 0 && !inc.is_match(e.path()) {
                                return None;
                            }
                        }
                        let display = e.path().display().to_string();
                        if ft.is_symlink() {
                            return Some(Walked::Report(
                                ItemReport::new(display).failed(ItemStatus::Skipped, "symbolic link (not followed)"),
                            ));
                        }
                        if !ft.is_file() {
                            return Some(Walked::Report(
                                ItemReport::new(display).failed(ItemStatus::Skipped, "not a regular file"),
                            ));
                        }
                        Some(Walked::File(e.into_path()))
                    }
                })
        })
    }

    /// Scans one file.
    pub fn scan_file(&self, path: &Path) -> ItemReport {
        let name = path.display().to_string();
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) => return ItemReport::new(name).failed(ItemStatus::Error, e.to_string()),
        };
        let size = file.metadata().ok().map(|m| m.len());
        // an oversized file is skipped before a byte of it is read
        if let Err(e) = size.map_or(Ok(()), |s| self.opts.text.check_size(s)) {
            let mut r = failed(ItemReport::new(name), e);
            r.size = size;
            return r;
        }
        let mut r = self.scan_reader(&name, file);
        r.size = size.or(r.size);
        r
    }

    /// Scans any reader as one item named `name` (stdin, a test buffer).
    pub fn scan_reader(&self, name: &str, reader: impl Read) -> ItemReport {
        let mut report = ItemReport::new(name);
        let mut by_type: BTreeMap<usize, Finding> = BTreeMap::new();
        let types = self.engine.types();
        let result = read_text(reader, &self.opts.text, |w| {
            let mut dets = self.engine.scan(w.text);
            dets.retain(|d| w.report.contains(&d.start) && d.confidence >= self.opts.min_confidence);
            dets.sort_by_key(|d| d.start);
            let (mut line, mut counted) = (w.line, 0usize);
            for d in dets {
                line += memchr::memchr_iter(b'\n', &w.text.as_bytes()[counted..d.start]).count() as u64;
                counted = d.start;
                let f = by_type.entry(d.type_index).or_insert_with(|| Finding {
                    type_id: types[d.type_index].id.clone(),
                    confidence: d.confidence,
                    count: 0,
                    matches: Vec::new(),
                });
                f.count += 1;
                f.confidence = f.confidence.max(d.confidence);
                if f.matches.len() < self.opts.max_matches {
                    f.matches.push(Match {
                        value: SensitiveValue::new(&w.text[d.start..d.end]),
                        confidence: d.confidence,
                        offset: w.base + d.start as u64,
                        line,
                    });
                }
            }
        });
        match result {
            Ok(info) => {
                report.format = "text".into();
                report.encoding = Some(if info.lossy {
                    format!("{} (invalid bytes replaced)", info.encoding)
                } else {
                    info.encoding.to_string()
                });
                report.size = Some(info.bytes);
                let mut findings: Vec<Finding> = by_type.into_values().collect();
                findings.sort_by(|a, b| b.confidence.cmp(&a.confidence).then(a.type_id.cmp(&b.type_id)));
                report.findings = findings;
            }
            Err(e) => report = failed(report, e),
        }
        report
    }
}

/// The status and reason of an item that yielded no text.
fn failed(mut report: ItemReport, e: mamori_extract::Error) -> ItemReport {
    match e {
        mamori_extract::Error::Unsupported { format, reason } => {
            report.format = format.to_string();
            report.failed(ItemStatus::Skipped, reason)
        }
        mamori_extract::Error::OverBudget(reason) => report.failed(ItemStatus::Skipped, reason),
        e => report.failed(ItemStatus::Error, e.to_string()),
    }
}

enum Walked {
    File(PathBuf),
    Report(ItemReport),
}
