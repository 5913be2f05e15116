//! mamori's scan pipeline: walk → extract → detect, one [`ItemReport`] per item, and one per
//! item nested in it (archive members, attachments, embedded objects: `a.zip!b.docx`).
//!
//! Plain text streams through in windows; documents and archives are read whole, up to the
//! member limit, and everything nested in one file shares that file's [`Budget`].
//!
//! The walk is sequential and cheap; items are scanned in parallel on a rayon pool, each by
//! one worker from open to report so its data stays in that core's cache. Nothing here stops a
//! run: an unreadable, vanished, binary or oversized item becomes a report with a status and a
//! reason. Reports are handed to the caller as they complete (streamed, not collected), so a
//! million-file share needs no memory for results.
#![forbid(unsafe_code)]

use globset::{Glob, GlobSet, GlobSetBuilder};
use mamori_detect::Engine;
use mamori_extract::{detect_head, extract, read_text, Budget, Head, Limits, Sink, TextOptions, Window};
use mamori_model::{Confidence, Finding, ItemReport, ItemStatus, Match, SensitiveValue};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
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
    /// Limits for documents and archives: nesting, expanded sizes, ratio, time.
    pub limits: Limits,
    /// Hash each file's content as it is read (for an inventory); off, a scan does no more
    /// work than finding.
    pub hash: bool,
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
            limits: Limits::default(),
            hash: false,
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
        self.scan_tree(roots, |_| false, |f| f.items.into_iter().for_each(&on_item))
    }

    /// Walks `roots` and scans every regular file that `skip` does not turn away (an
    /// incremental scan's check against what it saw last time), calling `on_file` from worker
    /// threads with each file's reports together; `on_skipped` gets the files turned away.
    pub fn scan_tree(
        &self,
        roots: &[PathBuf],
        skip: impl Fn(&Path) -> bool + Sync + Send,
        on_file: impl Fn(FileScan) + Sync + Send,
    ) -> Result<(), Error> {
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
            self.walk(roots).par_bridge().for_each(|entry| match entry {
                Walked::File(path, root) => {
                    if skip(&path) {
                        return;
                    }
                    let items = std::cell::RefCell::new(Vec::new());
                    let file = self.scan_file(&path, &|item| items.borrow_mut().push(item));
                    on_file(FileScan { path, root: root.clone(), regular: true, file, items: items.into_inner() })
                }
                Walked::Report(r, root) => {
                    let path = PathBuf::from(&r.path);
                    on_file(FileScan {
                        path,
                        root: root.clone(),
                        regular: false,
                        file: Scanned::default(),
                        items: vec![*r],
                    })
                }
            })
        });
        Ok(())
    }

    fn walk<'a>(&'a self, roots: &'a [PathBuf]) -> impl Iterator<Item = Walked<'a>> + Send + 'a {
        roots.iter().flat_map(move |root| {
            walkdir::WalkDir::new(root)
                .follow_links(false)
                // names compared as bytes: siblings share their parent, so the paths order
                // as the names do, without parsing components at each comparison
                .sort_by(|a, b| a.path().as_os_str().cmp(b.path().as_os_str()))
                .into_iter()
                .filter_entry(move |e| e.depth() == 0 || !self.exclude.is_match(e.path()))
                .filter_map(move |e| match e {
                    Err(err) => {
                        let path =
                            err.path().map(|p| p.display().to_string()).unwrap_or_else(|| root.display().to_string());
                        let reason = err.io_error().map(|e| e.to_string()).unwrap_or_else(|| err.to_string());
                        Some(Walked::Report(Box::new(ItemReport::new(path).failed(ItemStatus::Error, reason)), root))
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
                                Box::new(
                                    ItemReport::new(display)
                                        .failed(ItemStatus::Skipped, "symbolic link (not followed)"),
                                ),
                                root,
                            ));
                        }
                        if !ft.is_file() {
                            return Some(Walked::Report(
                                Box::new(ItemReport::new(display).failed(ItemStatus::Skipped, "not a regular file")),
                                root,
                            ));
                        }
                        Some(Walked::File(e.into_path(), root))
                    }
                })
        })
    }

    /// Scans one file and everything inside it, as [`Scanner::scan_tree`] reports a walked file
    /// (`root` left empty): what classifying one file needs.
    pub fn scan_one(&self, path: &Path) -> FileScan {
        let items = std::sync::Mutex::new(Vec::new());
        let file = self.scan_file(path, &|i| items.lock().unwrap_or_else(|p| p.into_inner()).push(i));
        let items = items.into_inner().unwrap_or_else(|p| p.into_inner());
        FileScan { path: path.to_path_buf(), root: PathBuf::new(), regular: true, file, items }
    }

    /// Scans one file; `on_item` gets its report and one per nested item (archive members,
    /// attachments, embedded objects), children first. Returns what the file was when opened
    /// (size, mtime) and, when the scan read all of it, the hash of its content.
    pub fn scan_file(&self, path: &Path, on_item: &dyn Fn(ItemReport)) -> Scanned {
        let name = path.display().to_string();
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) => {
                on_item(ItemReport::new(name).failed(ItemStatus::Error, e.to_string()));
                return Scanned::default();
            }
        };
        // taken before the first read: a change during the scan shows at the next one
        let meta = file.metadata().ok();
        let size = meta.as_ref().map(|m| m.len());
        let mut scanned = meta.map(Scanned::of).unwrap_or_default();
        // an oversized file is skipped before a byte of it is read
        if let Err(e) = size.map_or(Ok(()), |s| self.opts.text.check_size(s)) {
            let mut r = failed(ItemReport::new(name), e);
            r.size = size;
            on_item(r);
            return scanned;
        }
        if !self.opts.hash {
            self.scan_reader(&name, file, size, on_item);
            return scanned;
        }
        let mut reader = HashingReader { inner: file, hasher: blake3::Hasher::new(), eof: false };
        self.scan_reader(&name, &mut reader, size, on_item);
        scanned.hash = reader.eof.then(|| reader.hasher.finalize().to_hex().to_string());
        scanned
    }

    /// Scans any reader as one item named `name` (stdin, a test buffer). Plain text streams
    /// through in windows; documents and containers are read whole, within the limits.
    pub fn scan_reader(&self, name: &str, mut reader: impl Read, size: Option<u64>, on_item: &dyn Fn(ItemReport)) {
        let mut head = Vec::with_capacity(64 << 10);
        if let Err(e) = reader.by_ref().take(64 << 10).read_to_end(&mut head) {
            return on_item(ItemReport::new(name).failed(ItemStatus::Error, e.to_string()));
        }
        let whole_limit = self.opts.limits.max_member_size;
        let stream = match detect_head(&head) {
            Head::Text => true,
            Head::Markup(_) => size.is_some_and(|s| s > whole_limit),
            Head::Whole(_) => false,
            Head::Unsupported { format, reason } => {
                let mut r = ItemReport::new(name).failed(ItemStatus::Skipped, reason);
                r.format = format.to_string();
                r.size = size;
                return on_item(r);
            }
            Head::Protected => return on_item(protected(name, std::io::Cursor::new(head).chain(reader), size)),
        };
        if stream {
            return on_item(self.scan_text(name, std::io::Cursor::new(head).chain(reader), size));
        }
        let mut data = head;
        let read = reader.take(whole_limit.saturating_sub(data.len() as u64) + 1).read_to_end(&mut data);
        let mut report = match read {
            Err(e) => ItemReport::new(name).failed(ItemStatus::Error, e.to_string()),
            Ok(_) if data.len() as u64 > whole_limit => ItemReport::new(name).failed(
                ItemStatus::Skipped,
                format!("larger than the limit of {whole_limit} bytes for a document or archive"),
            ),
            Ok(_) => return self.scan_bytes(name, &data, &Budget::new(self.opts.limits.clone()), on_item),
        };
        report.size = size;
        on_item(report)
    }

    /// Streams a plain text item through the engine in windows.
    fn scan_text(&self, name: &str, reader: impl Read, size: Option<u64>) -> ItemReport {
        let mut report = ItemReport::new(name);
        let mut found = Collector::new(self);
        match read_text(reader, &self.opts.text, |w| found.window(w)) {
            Ok(info) => {
                report.format = "text".into();
                report.encoding = Some(info.label());
                report.size = Some(info.bytes);
                report.findings = found.finish();
            }
            Err(e) => {
                report = failed(report, e);
                report.size = size;
            }
        }
        report
    }

    /// Scans an item held in memory, and recursively what it contains.
    fn scan_bytes(&self, name: &str, data: &[u8], budget: &Budget, on_item: &dyn Fn(ItemReport)) {
        let mut report = ItemReport::new(name);
        report.size = Some(data.len() as u64);
        report.nested = budget.depth > 0;
        let mut sink = ItemSink { scanner: self, name, found: Collector::new(self), on_item };
        match extract(data, &self.opts.text, budget, &mut sink) {
            Ok(x) => {
                report.format = x.format.to_string();
                report.encoding = x.encoding;
                report.note = x.note.map(str::to_string);
                report.findings = sink.found.finish();
                if !x.problems.is_empty() {
                    let more = x.problems.len().saturating_sub(3);
                    let mut reason = x.problems[..x.problems.len().min(3)].join("; ");
                    if more > 0 {
                        reason.push_str(&format!("; and {more} more"));
                    }
                    report = report.failed(ItemStatus::Error, reason);
                }
            }
            Err(e) => {
                let findings = sink.found.finish();
                report = failed(report, e);
                report.findings = findings;
            }
        }
        on_item(report)
    }
}

/// Receives one item's text and members from the extractor.
struct ItemSink<'a> {
    scanner: &'a Scanner,
    name: &'a str,
    found: Collector<'a>,
    on_item: &'a dyn Fn(ItemReport),
}

impl Sink for ItemSink<'_> {
    fn window(&mut self, w: &Window) {
        self.found.window(w);
    }

    fn member(&mut self, member: &str, data: Result<Vec<u8>, mamori_extract::Error>, budget: &Budget) {
        let path = format!("{}!{member}", self.name);
        let nested = data.and_then(|d| budget.nested().map(|b| (d, b)));
        match nested {
            Ok((data, budget)) => self.scanner.scan_bytes(&path, &data, &budget, self.on_item),
            Err(e) => {
                let mut r = failed(ItemReport::new(path), e);
                r.nested = true;
                (self.on_item)(r)
            }
        }
    }
}

/// Runs the engine over windows and gathers findings by type.
struct Collector<'a> {
    scanner: &'a Scanner,
    by_type: BTreeMap<usize, Finding>,
    /// Per type, where each distinct value stands in its finding's matches.
    seen: HashMap<usize, HashMap<String, usize>>,
}

impl<'a> Collector<'a> {
    fn new(scanner: &'a Scanner) -> Self {
        Collector { scanner, by_type: BTreeMap::new(), seen: HashMap::new() }
    }

    fn window(&mut self, w: &Window) {
        let (engine, opts) = (&self.scanner.engine, &self.scanner.opts);
        let types = engine.types();
        let mut dets = engine.scan_with(w.text, w.layout);
        dets.retain(|d| w.report.contains(&d.start) && d.confidence >= opts.min_confidence);
        dets.sort_by_key(|d| d.start);
        let (mut line, mut counted) = (w.line, 0usize);
        for d in dets {
            line += memchr::memchr_iter(b'\n', &w.text.as_bytes()[counted..d.start]).count() as u64;
            counted = d.start;
            let f = self.by_type.entry(d.type_index).or_insert_with(|| Finding {
                type_id: types[d.type_index].id.clone(),
                confidence: d.confidence,
                count: 0,
                matches: Vec::new(),
            });
            f.count += 1;
            f.confidence = f.confidence.max(d.confidence);
            // a value seen again is counted on its first match, at the best confidence seen
            let value = &w.text[d.start..d.end];
            let seen = self.seen.entry(d.type_index).or_default();
            if let Some(&i) = seen.get(value) {
                let m = &mut f.matches[i];
                m.count += 1;
                m.confidence = m.confidence.max(d.confidence);
            } else if f.matches.len() < opts.max_matches {
                seen.insert(value.to_string(), f.matches.len());
                f.matches.push(Match {
                    value: SensitiveValue::new(value),
                    confidence: d.confidence,
                    offset: w.base + d.start as u64,
                    line,
                    part: w.place(d.start).map(str::to_string),
                    count: 1,
                    note: d.note.map(str::to_string),
                });
            }
        }
    }

    fn finish(self) -> Vec<Finding> {
        let mut findings: Vec<Finding> = self.by_type.into_values().collect();
        findings.sort_by(|a, b| b.confidence.cmp(&a.confidence).then(a.type_id.cmp(&b.type_id)));
        findings
    }
}

/// The status and reason of an item that yielded no text.
/// A mamori protected file: reported with what its header says (not an error, since nothing is
/// wrong with it); its content is encrypted and not scanned.
fn protected(name: &str, mut reader: impl Read, size: Option<u64>) -> ItemReport {
    let mut r = ItemReport::new(name);
    r.format = "mamori".to_string();
    r.size = size;
    match mamori_protect::container::read_header(&mut reader) {
        Ok(h) => {
            r.protection = Some(mamori_protect::protection_of(&h));
            r.note = Some("protected: the content is encrypted and was not scanned".to_string());
            r
        }
        Err(e) => r.failed(ItemStatus::Error, e.to_string()),
    }
}

fn failed(mut report: ItemReport, e: mamori_extract::Error) -> ItemReport {
    use mamori_extract::Error as E;
    match e {
        E::Unsupported { format, reason } => {
            report.format = format.to_string();
            report.failed(ItemStatus::Skipped, reason)
        }
        E::OverBudget(reason) | E::Encrypted(reason) => report.failed(ItemStatus::Skipped, reason),
        e => report.failed(ItemStatus::Error, e.to_string()),
    }
}

enum Walked<'a> {
    File(PathBuf, &'a PathBuf),
    Report(Box<ItemReport>, &'a PathBuf),
}

/// One walked file's reports: its members' first, its own last.
#[derive(Debug)]
pub struct FileScan {
    pub path: PathBuf,
    /// The root it was found under.
    pub root: PathBuf,
    /// False for what the walk reports without opening (a symbolic link, an unreadable folder).
    pub regular: bool,
    pub file: Scanned,
    pub items: Vec<ItemReport>,
}

/// What a file was when the scan opened it.
#[derive(Clone, Debug, Default)]
pub struct Scanned {
    pub size: Option<u64>,
    /// Modification time, in nanoseconds since the Unix epoch.
    pub modified: Option<i64>,
    /// Status change time (nanoseconds): it moves with a label written to an extended
    /// attribute, or a rewrite that kept the mtime, and cannot be set back.
    pub changed: Option<i64>,
    /// BLAKE3 of the content (hex), when hashing was asked for and the scan read to the end.
    pub hash: Option<String>,
}

impl Scanned {
    /// Size and times from a file's metadata (no hash).
    pub fn of(m: std::fs::Metadata) -> Scanned {
        let (modified, changed) = mamori_model::file_times(&m);
        // without a ctime there is nothing to compare
        Scanned { size: Some(m.len()), modified: Some(modified), changed: cfg!(unix).then_some(changed), hash: None }
    }
}

/// The content hash of a file, read whole (for `--rehash`).
pub fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut h = blake3::Hasher::new();
    h.update_reader(File::open(path)?)?;
    Ok(h.finalize().to_hex().to_string())
}

/// Hashes what passes through, and notes whether the end was reached.
struct HashingReader<R> {
    inner: R,
    hasher: blake3::Hasher,
    eof: bool,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.eof |= n == 0 && !buf.is_empty();
        Ok(n)
    }
}
