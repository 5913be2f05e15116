//! `mamori watch` end to end: a real watcher process on a scratch folder, its JSON Lines log
//! read as it goes.

mod common;

use serde_json::Value;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

const MAMORI: &str = env!("CARGO_BIN_EXE_mamori");
/// How long anything may take before the test gives up (not a speed check: a hang guard).
const PATIENCE: Duration = Duration::from_secs(60);

/// A running `mamori watch` and the events of its log.
struct Watching {
    child: Child,
    events: Receiver<Value>,
    seen: Vec<Value>,
}

impl Watching {
    fn start(folder: &Path, home: &Path, extra: &[&str]) -> Watching {
        let mut child = Command::new(MAMORI)
            .args(["watch", "--log-format", "jsonl", "--no-notify", "--settle-ms", "300"])
            .arg(folder)
            .args(extra)
            .env("MAMORI_HOME", home)
            .env_remove("MAMORI_LABELS")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, events) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                let v = serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let mut w = Watching { child, events, seen: Vec::new() };
        w.until(|e| e["event"] == "ready");
        w
    }

    /// Reads events until `done` holds for one of them; that event.
    fn until(&mut self, done: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + PATIENCE;
        loop {
            match self.events.recv_timeout(end.saturating_duration_since(Instant::now())) {
                Ok(e) => {
                    self.seen.push(e.clone());
                    if done(&e) {
                        return e;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("gave up waiting; events so far: {:#?}", self.seen),
                Err(RecvTimeoutError::Disconnected) => panic!("the watcher stopped; events: {:#?}", self.seen),
            }
        }
    }

    /// Reads events for `quiet`, expecting no new scan of `path`.
    fn nothing_for(&mut self, path: &Path, quiet: Duration) {
        let end = Instant::now() + quiet;
        while let Ok(e) = self.events.recv_timeout(end.saturating_duration_since(Instant::now())) {
            let again = e["event"] == "classified" && e["path"] == path.to_str().unwrap();
            assert!(!again, "classified again: {e}");
            self.seen.push(e);
        }
    }

    fn classified(&mut self, path: &Path) -> Value {
        let p = path.to_str().unwrap().to_string();
        self.until(move |e| e["event"] == "classified" && e["path"] == p.as_str())
    }

    fn count(&self, event: &str, path: &Path) -> usize {
        self.seen.iter().filter(|e| e["event"] == event && e["path"] == path.to_str().unwrap()).count()
    }

    fn stop(mut self) -> Vec<Value> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::take(&mut self.seen)
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = common::scratch();
    let folder = dir.path().join("Documents").canonicalize().unwrap_or_else(|_| {
        std::fs::create_dir(dir.path().join("Documents")).unwrap();
        dir.path().join("Documents").canonicalize().unwrap()
    });
    let home = dir.path().join("home");
    (dir, folder, home)
}

fn my_numbers() -> String {
    std::fs::read_to_string(common::repo("corpus/share/hr/roster-utf8.txt")).unwrap()
}

fn label_of(path: &Path) -> Value {
    let out = Command::new(MAMORI).args(["status", "--json"]).arg(path).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    match (&v["parent_label_name"], &v["label_name"]) {
        (Value::String(p), Value::String(n)) => Value::String(format!("{p}/{n}")),
        (_, n) => n.clone(),
    }
}

#[test]
fn a_saved_file_with_my_numbers_is_labeled_once_and_a_restart_redoes_nothing() {
    let (_dir, folder, home) = setup();
    // no identity here: the watcher says protection waits for one, and labels
    let mut w = Watching::start(&folder, &home, &[]);
    let warning = w.seen.iter().find(|e| e["event"] == "warning").expect("a warning");
    assert!(warning["message"].as_str().unwrap().contains("mamori id init"), "{warning}");

    // a plain write
    let roster = folder.join("roster.txt");
    std::fs::write(&roster, my_numbers()).unwrap();
    let e = w.classified(&roster);
    assert_eq!(e["status"], "success", "{e}");
    assert_eq!(e["label"], "Confidential/Restricted");
    assert_eq!(label_of(&roster), "Confidential/Restricted");

    // an editor's save: a temp file, written in pieces, renamed over the document
    let notes = folder.join("notes.txt");
    let tmp = folder.join(".goutputstream-K3J9Q1");
    std::fs::write(&tmp, "meeting notes\n").unwrap();
    std::fs::write(&tmp, format!("meeting notes\n{}", my_numbers())).unwrap();
    std::fs::rename(&tmp, &notes).unwrap();
    let e = w.classified(&notes);
    assert_eq!(e["label"], "Confidential/Restricted", "{e}");

    // a file without personal data is looked at and left unlabeled
    let menu = folder.join("lunch.txt");
    std::fs::write(&menu, "ramen on Tuesday\n").unwrap();
    assert_eq!(w.classified(&menu)["status"], "skipped");

    // the watcher's own writes (a new extended attribute, a new ctime) bring no second scan,
    // and neither do the temp file, nor a file that vanished before its turn
    let gone = folder.join("gone.txt");
    std::fs::write(&gone, my_numbers()).unwrap();
    std::fs::remove_file(&gone).unwrap();
    w.nothing_for(&roster, Duration::from_secs(3));
    for p in [&roster, &notes, &menu] {
        assert_eq!(w.count("classified", p), 1, "{} scanned more than once: {:#?}", p.display(), w.seen);
    }
    assert_eq!(w.count("classified", &tmp) + w.count("classified", &gone), 0);
    w.stop();

    // a restart skips what is done, and catches up with what changed meanwhile
    std::fs::write(&menu, format!("ramen on Tuesday\n{}", my_numbers())).unwrap();
    let mut w = Watching::start(&folder, &home, &["--no-protect"]);
    assert_eq!(w.seen.last().unwrap()["files"], 1, "{:#?}", w.seen);
    assert_eq!(w.count("classified", &menu), 1);
    assert_eq!(label_of(&menu), "Confidential/Restricted");
    w.nothing_for(&menu, Duration::from_secs(2));
    assert_eq!(w.count("classified", &roster), 0);
}

#[test]
fn only_new_leaves_what_was_there_and_classifies_what_is_saved() {
    let (_dir, folder, home) = setup();
    let old = folder.join("old-roster.txt");
    std::fs::write(&old, my_numbers()).unwrap();
    let mut w = Watching::start(&folder, &home, &["--no-protect", "--only-new"]);
    assert_eq!(w.seen.iter().find(|e| e["event"] == "baseline").unwrap()["files"], 1);
    let new = folder.join("new-roster.txt");
    std::fs::write(&new, my_numbers()).unwrap();
    assert_eq!(w.classified(&new)["label"], "Confidential/Restricted");
    assert_eq!(w.count("classified", &old), 0);
    assert_eq!(label_of(&old), Value::Null);
    w.stop();
    // a restart is a restart: the folder is known, and an edit of the old file is a save
    std::fs::write(&old, format!("{}\n", my_numbers())).unwrap();
    let w = Watching::start(&folder, &home, &["--no-protect", "--only-new"]);
    assert!(w.seen.iter().all(|e| e["event"] != "baseline"), "{:#?}", w.seen);
    assert_eq!(w.count("classified", &old), 1);
    assert_eq!(label_of(&old), "Confidential/Restricted");
}

#[test]
fn a_label_a_person_chose_is_never_lowered_nor_replaced() {
    let (_dir, folder, home) = setup();
    let mut w = Watching::start(&folder, &home, &["--no-protect", "--default-label"]);
    let set = |path: &Path, label: &str| {
        let out = Command::new(MAMORI).args(["label", "set", "-l", label]).arg(path).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };

    // labeled Confidential/Restricted by hand, then saved with nothing sensitive in it: the
    // default label (Internal) would be lower, so it stays
    let plan = folder.join("plan.txt");
    std::fs::write(&plan, "draft\n").unwrap();
    w.classified(&plan);
    set(&plan, "Confidential/Restricted");
    std::fs::write(&plan, "the plan, still nothing sensitive\n").unwrap();
    let e = w.classified(&plan);
    assert_eq!(e["status"], "skipped", "{e}");
    assert_eq!(label_of(&plan), "Confidential/Restricted");

    // labeled All Employees by hand; the policy would say Restricted for its My Numbers: the
    // person's choice stands, and the watcher suggests instead
    let list = folder.join("list.txt");
    std::fs::write(&list, "to do\n").unwrap();
    w.classified(&list);
    set(&list, "Confidential/All Employees");
    std::fs::write(&list, my_numbers()).unwrap();
    let e = w.classified(&list);
    assert_eq!(e["status"], "skipped", "{e}");
    assert!(e["comment"].as_str().unwrap().contains("by a person"), "{e}");
    let n = w.until(|e| e["event"] == "notice");
    assert!(n["summary"].as_str().unwrap().starts_with("mamori suggests Confidential/Restricted for list.txt"), "{n}");
    assert_eq!(label_of(&list), "Confidential/All Employees");

    // an unlabeled file gets the default label when asked for
    let memo = folder.join("memo.txt");
    std::fs::write(&memo, "hello\n").unwrap();
    assert_eq!(w.classified(&memo)["label"], "Internal");
}

#[test]
fn a_document_saved_by_libreoffice_is_labeled() {
    if !common::programs_present("watch libreoffice", &[("libreoffice", &["soffice", "--version"])]) {
        return;
    }
    let (dir, folder, home) = setup();
    let mut w = Watching::start(&folder, &home, &["--no-protect"]);
    let source = dir.path().join("payroll.txt");
    std::fs::write(&source, my_numbers()).unwrap();
    let profile = format!("-env:UserInstallation=file://{}", dir.path().join("lo-profile").display());
    let out = Command::new("soffice")
        .args([&profile, "--headless", "--convert-to", "docx", "--outdir"])
        .arg(&folder)
        .arg(&source)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let docx = folder.join("payroll.docx");
    let e = w.classified(&docx);
    assert_eq!(e["label"], "Confidential/Restricted", "{e}");
    w.nothing_for(&docx, Duration::from_secs(3));
    assert_eq!(w.count("classified", &docx), 1);
    // the label is where Office reads it
    let status = Command::new(MAMORI).args(["status", "--json"]).arg(&docx).output().unwrap();
    let s: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(s["metadata"], "custom.xml", "{s}");
    // LibreOffice's lock and temp files were never taken for documents
    assert!(w.seen.iter().all(|e| e["event"] != "classified" || e["path"] == docx.to_str().unwrap()), "{:#?}", w.seen);
}

/// 1,000 files dropped at once: all labeled, with the watcher's memory and CPU time reported.
#[test]
fn a_thousand_files_dropped_at_once_are_all_labeled() {
    let (_dir, folder, home) = setup();
    let mut w = Watching::start(&folder, &home, &["--no-protect"]);
    let pid = w.child.id();
    let sensitive = my_numbers();
    let started = Instant::now();
    for i in 0..1000 {
        let text = if i % 10 == 0 { sensitive.clone() } else { format!("minutes of meeting {i}\n").repeat(50) };
        std::fs::write(folder.join(format!("file-{i:04}.txt")), text).unwrap();
    }
    let mut done = std::collections::HashSet::new();
    while done.len() < 1000 {
        let e = w.until(|e| e["event"] == "classified");
        done.insert(e["path"].as_str().unwrap().to_string());
    }
    let elapsed = started.elapsed();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = |key: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(key)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let labeled =
        w.seen.iter().filter(|e| e["event"] == "classified" && e["label"] == "Confidential/Restricted").count();
    eprintln!(
        "1000 files: all classified {:.1} s after the first write; watcher peak RSS {} MB, CPU {:.1} s (user+system)",
        elapsed.as_secs_f64(),
        kb("VmHWM:") / 1024,
        ticks as f64 / 100.0
    );
    assert_eq!(labeled, 100);
    assert_eq!(w.count("classified", &folder.join("file-0000.txt")), 1);
    // bounded memory: the watcher holds paths, not contents
    assert!(kb("VmHWM:") < 512 * 1024, "peak RSS {} kB", kb("VmHWM:"));
}

#[test]
fn with_an_identity_a_protecting_label_protects_the_saved_file_in_place() {
    let (_dir, folder, home) = setup();
    let init = Command::new(MAMORI)
        .args(["id", "init", "--name", "alice@example.com"])
        .env("MAMORI_HOME", &home)
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let mut w = Watching::start(&folder, &home, &[]);
    let roster = folder.join("roster.txt");
    std::fs::write(&roster, my_numbers()).unwrap();
    let e = w.classified(&roster);
    assert_eq!(e["status"], "success", "{e}");
    assert!(e["comment"].as_str().unwrap().contains("protected (document"), "{e}");
    let s = Command::new(MAMORI).args(["status", "--json"]).arg(&roster).env("MAMORI_HOME", &home).output().unwrap();
    let s: Value = serde_json::from_slice(&s.stdout).unwrap();
    assert_eq!((s["is_protected"].as_bool(), s["label_name"].as_str()), (Some(true), Some("Restricted")), "{s}");
    // the encrypted file replacing the plain one is the watcher's own write
    w.nothing_for(&roster, Duration::from_secs(3));
    // and it opens for alice
    let open = Command::new(MAMORI).arg("open").arg(&roster).env("MAMORI_HOME", &home).output().unwrap();
    assert!(open.status.success(), "{}", String::from_utf8_lossy(&open.stderr));
    assert_eq!(String::from_utf8(open.stdout).unwrap(), my_numbers());
}

#[test]
fn a_watched_home_folder_holding_the_state_file_does_not_feed_on_itself() {
    let (_dir, folder, _) = setup();
    let home = folder.join(".config/mamori");
    let mut w = Watching::start(&folder, &home, &["--no-protect"]);
    let roster = folder.join("roster.txt");
    std::fs::write(&roster, my_numbers()).unwrap();
    w.classified(&roster);
    // the state file was written: no event of it comes back as a save
    let state = home.join("watch-state.jsonl").canonicalize().unwrap();
    w.nothing_for(&state, Duration::from_secs(3));
    assert_eq!(w.seen.iter().filter(|e| e["event"] == "classified").count(), 1, "{:#?}", w.seen);
}

#[test]
fn hostile_files_saved_are_reported_and_the_watcher_goes_on() {
    let (_dir, folder, home) = setup();
    let mut w = Watching::start(&folder, &home, &["--no-protect"]);
    let hostile: Vec<PathBuf> =
        std::fs::read_dir(common::repo("corpus/hostile")).unwrap().map(|e| e.unwrap().path()).collect();
    for h in &hostile {
        std::fs::copy(h, folder.join(h.file_name().unwrap())).unwrap();
    }
    // each is reported (not labeled: unreadable, or nothing readable in it), in any order
    let mut reported = std::collections::HashSet::new();
    while reported.len() < hostile.len() {
        let e = w.until(|e| e["event"] == "classified");
        assert_ne!(e["status"], "success", "{e}");
        assert!(!e["comment"].as_str().unwrap().is_empty(), "{e}");
        reported.insert(e["path"].as_str().unwrap().to_string());
    }
    // a zip whose members could not be read says so
    let bomb = w.seen.iter().find(|e| e["path"].as_str().is_some_and(|p| p.ends_with("fail_zip-bomb.zip"))).unwrap();
    assert!(bomb["comment"].as_str().unwrap().contains("inside could not be read"), "{bomb}");
    // still watching, still labeling
    let roster = folder.join("roster.txt");
    std::fs::write(&roster, my_numbers()).unwrap();
    assert_eq!(w.classified(&roster)["label"], "Confidential/Restricted");
}
