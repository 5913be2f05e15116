//! What the watcher did to each file, kept on disk as JSON Lines (one line appended per file
//! handled, the last line of a path wins), so a restart skips what is done.

use crate::Error;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// How a file looks on disk: a file that still looks the same was not saved again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub size: u64,
    /// Modification and status-change times ([`mamori_model::file_times`]).
    pub modified: i64,
    pub changed: i64,
}

impl Seen {
    pub fn of(m: &std::fs::Metadata) -> Seen {
        let (modified, changed) = mamori_model::file_times(m);
        Seen { size: m.len(), modified, changed }
    }
}

/// One file handled: how it looked afterwards, and what was done.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub path: PathBuf,
    #[serde(flatten)]
    pub seen: Seen,
    /// success, skipped or failed (as `mamori label set` reports).
    pub status: String,
    /// The label it carries afterwards.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub label: Option<String>,
    pub comment: String,
    /// When, in seconds since the epoch.
    pub at: i64,
}

/// The record of files handled, loaded from and appended to one file, held locked so that a
/// second watcher on the same state refuses to start.
pub struct State {
    path: PathBuf,
    file: std::fs::File,
    entries: HashMap<PathBuf, Entry>,
    /// Lines in the file, for deciding when to compact it.
    lines: usize,
}

impl State {
    /// Opens (creating) the state file at `path` and reads it. Lines that do not parse (a
    /// line cut short by a crash) are skipped.
    pub fn open(path: &Path) -> Result<State, Error> {
        let err = |source| Error::State { path: path.to_path_buf(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let file = std::fs::OpenOptions::new().create(true).read(true).append(true).open(path).map_err(err)?;
        file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => {
                err(std::io::Error::other("another `mamori watch` is using this state file (stop it, or give --state)"))
            }
            std::fs::TryLockError::Error(e) => err(e),
        })?;
        let mut entries = HashMap::new();
        let mut lines = 0;
        for line in std::io::BufReader::new(&file).lines() {
            let line = line.map_err(err)?;
            lines += 1;
            if let Ok(e) = serde_json::from_str::<Entry>(&line) {
                entries.insert(e.path.clone(), e);
            }
        }
        let mut state = State { path: path.to_path_buf(), file, entries, lines };
        if state.lines > 2 * state.entries.len() + 1000 {
            state.compact()?;
        }
        Ok(state)
    }

    /// The last entry of `path`.
    pub fn get(&self, path: &Path) -> Option<&Entry> {
        self.entries.get(path)
    }

    /// Whether `path` still looks as it did when it was last handled.
    pub fn is_done(&self, path: &Path, now: &Seen) -> bool {
        self.entries.get(path).is_some_and(|e| e.seen == *now)
    }

    /// Whether any file under `dir` is on record (a folder watched before).
    pub fn knows_under(&self, dir: &Path) -> bool {
        self.entries.keys().any(|p| p.starts_with(dir))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Records `entry`, written through to the file before returning.
    pub fn record(&mut self, entry: Entry) -> Result<(), Error> {
        let mut line = serde_json::to_vec(&entry).expect("entries serialize");
        line.push(b'\n');
        (&self.file).write_all(&line).map_err(|source| Error::State { path: self.path.clone(), source })?;
        self.lines += 1;
        self.entries.insert(entry.path.clone(), entry);
        // a watcher runs for weeks: the file is kept to about one line per file
        if self.lines > 2 * self.entries.len() + 1000 {
            self.compact()?;
        }
        Ok(())
    }

    /// Forgets files that no longer exist.
    pub fn forget(&mut self, path: &Path) {
        self.entries.remove(path);
    }

    /// Rewrites the file with one line per file (through a temp file and a rename).
    fn compact(&mut self) -> Result<(), Error> {
        let err = |source| Error::State { path: self.path.clone(), source };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile_in(dir).map_err(err)?;
        let mut sorted: Vec<&Entry> = self.entries.values().collect();
        sorted.sort_by(|a, b| a.path.cmp(&b.path));
        for e in sorted {
            serde_json::to_writer(&mut tmp.1, e).map_err(|e| err(e.into()))?;
            tmp.1.write_all(b"\n").map_err(err)?;
        }
        tmp.1.sync_all().map_err(err)?;
        std::fs::rename(&tmp.0, &self.path).map_err(err)?;
        let file = std::fs::OpenOptions::new().read(true).append(true).open(&self.path).map_err(err)?;
        file.try_lock().map_err(|e| err(std::io::Error::other(e.to_string())))?;
        self.file = file;
        self.lines = self.entries.len();
        Ok(())
    }
}

/// A new file beside the state file, for compaction.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let path = dir.join(format!(".watch-state.{}.tmp", std::process::id()));
    let file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(&path)?;
    Ok((path, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, size: u64) -> Entry {
        Entry {
            path: path.into(),
            seen: Seen { size, modified: 1, changed: 2 },
            status: "success".into(),
            label: Some("Confidential/Restricted".into()),
            comment: "labeled".into(),
            at: 0,
        }
    }

    #[test]
    fn entries_survive_a_restart_the_last_wins_and_a_second_opener_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("watch/state.jsonl");
        {
            let mut s = State::open(&path).unwrap();
            s.record(entry("/a", 1)).unwrap();
            s.record(entry("/a", 2)).unwrap();
            s.record(entry("/b", 3)).unwrap();
            assert!(matches!(State::open(&path), Err(Error::State { .. })), "locked while open");
        }
        // a line cut short by a crash is skipped
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"path\":\"/c\",").unwrap();
        let s = State::open(&path).unwrap();
        assert_eq!(s.len(), 2);
        assert!(s.is_done(Path::new("/a"), &Seen { size: 2, modified: 1, changed: 2 }));
        assert!(!s.is_done(Path::new("/a"), &Seen { size: 1, modified: 1, changed: 2 }));
        assert!(!s.is_done(Path::new("/c"), &Seen::default()));
        assert!(s.knows_under(Path::new("/")) && !s.knows_under(Path::new("/c")));
    }

    #[test]
    fn a_long_file_is_compacted_to_one_line_per_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.jsonl");
        let mut s = State::open(&path).unwrap();
        for i in 0..1002 {
            s.record(entry("/same", i)).unwrap();
        }
        // compacted while running, and written to again after
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1002);
        s.record(entry("/same", 1002)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
        s.record(entry("/same", 1003)).unwrap();
        drop(s);
        let s = State::open(&path).unwrap();
        assert_eq!(s.get(Path::new("/same")).unwrap().seen.size, 1003);
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
        assert!(matches!(State::open(&path), Err(Error::State { .. })), "still locked after compaction");
    }
}
