//! mamori's folder watcher: turns the file-system events under watched folders into a short
//! list of files that were saved and are now still, and keeps the record of what was done to
//! each, so that neither a restart nor the classifier's own writes make it do the work again.
//!
//! It knows nothing of labels or sensitive types: the caller classifies what [`Watcher::next`]
//! hands it and tells [`State`] what it did. The one idea: a file is identified by what it looks
//! like on disk (size, mtime and ctime, as [`Seen`]); a file whose look matches the last one
//! recorded is done, whoever touched it last. That is how a label mamori wrote (a rename or an
//! extended attribute, both of which change the ctime) does not come back as a new save.
//!
//! Saves arrive as bursts: an editor writes a temp file, renames it over the document, sets its
//! times; LibreOffice also drops a lock file. Events are collected per path, temp and lock files
//! are ignored ([`is_temporary`]), and a path is handed out once it has had no event for the
//! settle time and two looks at it a moment apart agree.
#![forbid(unsafe_code)]

mod state;
mod temp;

pub use state::{Entry, Seen, State};
pub use temp::{is_temporary, is_temporary_dir};

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};
use notify::Watcher as _;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A folder could not be watched (missing, or the system's inotify watch limit).
    #[error("cannot watch {path}: {source}")]
    Watch { path: PathBuf, source: notify::Error },
    /// Watching every folder below needs more inotify watches than the system allows.
    #[error(
        "cannot watch {path}: the system's limit of watched folders is reached \
         (raise it: sysctl fs.inotify.max_user_watches=524288)"
    )]
    WatchLimit { path: PathBuf },
    /// The state file could not be read or written.
    #[error("{path}: {source}")]
    State { path: PathBuf, source: std::io::Error },
}

/// How long a file must be left alone before it is handed out, and what is never handed out.
#[derive(Clone, Debug)]
pub struct Options {
    /// No event on the path for this long…
    pub settle: Duration,
    /// …and then the same size and times when looked at again after this long.
    pub recheck: Duration,
    /// Files and folders of the caller's own (its state file, its log): writing them must not
    /// come back as saves, or a watched home folder would feed on itself.
    pub ignore: Vec<PathBuf>,
}

impl Default for Options {
    fn default() -> Options {
        Options { settle: Duration::from_millis(500), recheck: Duration::from_millis(250), ignore: Vec::new() }
    }
}

/// What [`Watcher::next`] found.
#[derive(Debug, Default)]
pub struct Batch {
    /// Files saved and now still, sorted, each once.
    pub ready: Vec<PathBuf>,
    /// The system dropped events (its queue overflowed): walk the folders again with
    /// [`Watcher::existing`] to catch what was missed.
    pub rescan: bool,
    /// Errors the system reported while watching (a folder gone, …).
    pub errors: Vec<String>,
}

/// A path with recent events.
struct Pending {
    last_event: Instant,
    /// How it looked at the last check, when there was one since the last event.
    looked: Option<(Instant, Seen)>,
}

impl Pending {
    /// When it is next looked at: `settle` after its last event, then `recheck` after a look.
    fn due(&self, opts: &Options) -> Instant {
        match self.looked {
            Some((at, _)) => at + opts.recheck,
            None => self.last_event + opts.settle,
        }
    }
}

/// Watches folders recursively; [`Watcher::next`] waits for the next files to be ready.
pub struct Watcher {
    _inner: notify::RecommendedWatcher,
    events: Receiver<notify::Result<notify::Event>>,
    pending: HashMap<PathBuf, Pending>,
    roots: Vec<PathBuf>,
    opts: Options,
}

impl Watcher {
    /// Starts watching `roots` (folders, recursively).
    pub fn new(roots: &[PathBuf], opts: Options) -> Result<Watcher, Error> {
        let (tx, events) = std::sync::mpsc::channel();
        let mut inner = notify::recommended_watcher(tx)
            .map_err(|source| Error::Watch { path: roots.first().cloned().unwrap_or_default(), source })?;
        for root in roots {
            inner.watch(root, notify::RecursiveMode::Recursive).map_err(|source| match source.kind {
                notify::ErrorKind::MaxFilesWatch => Error::WatchLimit { path: root.clone() },
                _ => Error::Watch { path: root.clone(), source },
            })?;
        }
        Ok(Watcher { _inner: inner, events, pending: HashMap::new(), roots: roots.to_vec(), opts })
    }

    /// The files now under the watched folders (skipping temp files and folders such as
    /// `.git`): what to look at when starting, and after [`Batch::rescan`].
    pub fn existing(&self) -> impl Iterator<Item = PathBuf> + '_ {
        let ours = |f: &PathBuf| self.opts.ignore.iter().any(|i| f.starts_with(i));
        self.roots.iter().flat_map(|r| files_under(r)).filter(move |f| !ours(f))
    }

    /// Waits up to `timeout` for files to become ready, and returns them (possibly none).
    pub fn next(&mut self, timeout: Duration) -> Batch {
        let deadline = Instant::now() + timeout;
        let mut batch = Batch::default();
        loop {
            let now = Instant::now();
            self.check(now, &mut batch.ready);
            if !batch.ready.is_empty() || batch.rescan || !batch.errors.is_empty() || now >= deadline {
                batch.ready.sort();
                return batch;
            }
            let wake = self.next_check().map_or(deadline, |t| t.min(deadline));
            match self.events.recv_timeout(wake.saturating_duration_since(now)) {
                Ok(event) => self.take(event, &mut batch),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    batch.errors.push("the file-system watcher stopped".into());
                    return batch;
                }
            }
            // take what else has arrived without waiting: a burst is handled as one
            while let Ok(event) = self.events.try_recv() {
                self.take(event, &mut batch);
            }
        }
    }

    /// The number of paths with recent events not yet handed out.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn take(&mut self, event: notify::Result<notify::Event>, batch: &mut Batch) {
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                batch.errors.push(e.to_string());
                return;
            }
        };
        if event.need_rescan() {
            batch.rescan = true;
        }
        let now = Instant::now();
        // a folder appears only by a create or a rename: no stat for each write
        let appeared = matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both))
        );
        let touched: &[PathBuf] = match event.kind {
            // a save: new content, or a file renamed into place
            EventKind::Create(_)
            | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any)
            | EventKind::Access(AccessKind::Close(AccessMode::Write)) => &event.paths,
            EventKind::Modify(ModifyKind::Name(RenameMode::To)) => &event.paths,
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
                if let Some(from) = event.paths.first() {
                    self.pending.remove(from);
                }
                event.paths.get(1..).unwrap_or_default()
            }
            EventKind::Modify(ModifyKind::Name(_)) | EventKind::Remove(_) => {
                for p in &event.paths {
                    self.pending.remove(p);
                }
                &[]
            }
            // opening and reading (the classifier's own reads among them), and metadata
            // alone (a label in an extended attribute) change no content
            _ => &[],
        };
        for path in touched {
            if path.file_name().is_some_and(is_temporary)
                || self.under_ignored_dir(path)
                || self.opts.ignore.iter().any(|i| path.starts_with(i))
            {
                continue;
            }
            if appeared && path.is_dir() {
                // a folder moved or copied in: its files may predate the watch on it
                for f in files_under(path) {
                    self.pending.insert(f, Pending { last_event: now, looked: None });
                }
                continue;
            }
            self.pending.insert(path.clone(), Pending { last_event: now, looked: None });
        }
    }

    fn under_ignored_dir(&self, path: &Path) -> bool {
        let Some(root) = self.roots.iter().find(|r| path.starts_with(r)) else { return false };
        let inside = path.strip_prefix(root).unwrap_or(path);
        let mut dirs = inside.components().rev().skip(1);
        dirs.any(|c| is_temporary_dir(c.as_os_str()))
    }

    /// When the next pending path is due for a look.
    fn next_check(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.due(&self.opts)).min()
    }

    /// Moves the paths that are still into `ready`; drops those that vanished.
    fn check(&mut self, now: Instant, ready: &mut Vec<PathBuf>) {
        let opts = &self.opts;
        self.pending.retain(|path, p| {
            if now < p.due(opts) {
                return true;
            }
            let Ok(meta) = std::fs::symlink_metadata(path) else { return false }; // gone
            if !meta.is_file() {
                return false;
            }
            let seen = Seen::of(&meta);
            match p.looked {
                Some((_, before)) if before == seen => {
                    ready.push(path.clone());
                    false
                }
                _ => {
                    p.looked = Some((now, seen));
                    true
                }
            }
        });
    }
}

/// The regular files under `root`, skipping temp files and folders that hold no documents.
fn files_under(root: &Path) -> impl Iterator<Item = PathBuf> {
    walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !(e.file_type().is_dir() && is_temporary_dir(e.file_name())))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && !is_temporary(e.file_name()))
        .map(walkdir::DirEntry::into_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_for(w: &mut Watcher, want: usize) -> Vec<PathBuf> {
        let mut got = Vec::new();
        let end = Instant::now() + Duration::from_secs(20);
        while got.len() < want && Instant::now() < end {
            got.extend(w.next(Duration::from_millis(200)).ready);
        }
        got
    }

    #[test]
    fn a_save_through_a_temp_file_is_one_ready_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let mut w = Watcher::new(std::slice::from_ref(&root), Options::default()).unwrap();
        let tmp = root.join(".goutputstream-ABC123");
        std::fs::write(&tmp, "draft").unwrap();
        std::fs::write(root.join(".~lock.report.odt#"), "lock").unwrap();
        std::fs::rename(&tmp, root.join("report.txt")).unwrap();
        let got = wait_for(&mut w, 1);
        assert_eq!(got, vec![root.join("report.txt")]);
        // nothing else comes: the temp and lock files are not documents
        assert!(w.next(Duration::from_millis(1500)).ready.is_empty());
    }

    #[test]
    fn the_callers_own_files_are_never_handed_out() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir(root.join(".config")).unwrap();
        let state = root.join(".config/watch-state.jsonl");
        let opts = Options { ignore: vec![state.clone()], ..Options::default() };
        let mut w = Watcher::new(std::slice::from_ref(&root), opts).unwrap();
        std::fs::write(&state, "{}").unwrap();
        std::fs::write(root.join("doc.txt"), "x").unwrap();
        assert_eq!(wait_for(&mut w, 1), vec![root.join("doc.txt")]);
        assert!(w.next(Duration::from_millis(1200)).ready.is_empty());
        assert_eq!(w.existing().collect::<Vec<_>>(), vec![root.join("doc.txt")]);
    }

    #[test]
    fn a_folder_moved_in_brings_its_files_and_a_vanished_file_is_dropped() {
        let outside = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(outside.path().join("a/b")).unwrap();
        std::fs::write(outside.path().join("a/one.txt"), "1").unwrap();
        std::fs::write(outside.path().join("a/b/two.txt"), "2").unwrap();
        std::fs::create_dir(outside.path().join("a/.git")).unwrap();
        std::fs::write(outside.path().join("a/.git/HEAD"), "x").unwrap();
        let mut w = Watcher::new(std::slice::from_ref(&root), Options::default()).unwrap();
        std::fs::rename(outside.path().join("a"), root.join("a")).unwrap();
        std::fs::write(root.join("gone.txt"), "soon gone").unwrap();
        std::fs::remove_file(root.join("gone.txt")).unwrap();
        let got = wait_for(&mut w, 2);
        assert_eq!(got, vec![root.join("a/b/two.txt"), root.join("a/one.txt")]);
        assert_eq!(w.pending(), 0);
        let existing: Vec<_> = w.existing().collect();
        assert_eq!(existing, vec![root.join("a/b/two.txt"), root.join("a/one.txt")]);
    }

    #[test]
    fn a_file_still_being_written_waits() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let mut w = Watcher::new(std::slice::from_ref(&root), Options::default()).unwrap();
        let path = root.join("big.csv");
        let writer = std::thread::spawn({
            let path = path.clone();
            move || {
                use std::io::Write;
                let mut f = std::fs::File::create(&path).unwrap();
                for _ in 0..10 {
                    f.write_all(&[b'x'; 1000]).unwrap();
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        });
        let got = wait_for(&mut w, 1);
        writer.join().unwrap();
        assert_eq!(got, vec![path.clone()]);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 10_000, "handed out only once complete");
    }
}
