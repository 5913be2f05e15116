//! `mamori watch`: the desktop classifier. Files saved in watched folders are scanned as soon
//! as they are still, and the label policy is applied: automatic rules label (and protect, when
//! the label says so), recommended rules become a desktop notification.

use crate::scan::policy::Policy;
use anyhow::Context;
use clap::Args;
use mamori_label::{Outcome, OutcomeStatus};
use mamori_watch::{Entry, Seen, State, Watcher};
use rayon::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Args)]
pub struct WatchArgs {
    /// Folders to watch, recursively.
    #[arg(required_unless_present = "uninstall_service")]
    folders: Vec<PathBuf>,
    /// Label only, never protect (by default a label whose template protects also encrypts the
    /// file in place, which needs an identity: `mamori id init`).
    #[arg(long)]
    no_protect: bool,
    /// Apply recommended rules too, instead of suggesting them.
    #[arg(long)]
    recommended_as_automatic: bool,
    /// Give files no rule matches the policy's default label (off: only what the rules find
    /// is labeled, not every file saved).
    #[arg(long)]
    default_label: bool,
    /// In a folder watched for the first time, leave the files already there unread (they are
    /// recorded as they are): only what is saved from now on is classified. Without it the
    /// first start classifies every file in the folders, as a scan with --enforce would.
    #[arg(long)]
    only_new: bool,
    /// Log suggestions only; send no desktop notification.
    #[arg(long)]
    no_notify: bool,
    /// Log format: text, or jsonl (one JSON object per event).
    #[arg(long, default_value = "text", value_parser = ["text", "jsonl"])]
    log_format: String,
    /// Append the log to this file instead of standard error (under the service it goes to
    /// the journal).
    #[arg(long)]
    log_file: Option<PathBuf>,
    /// What was done to each file, so a restart skips it (default: $MAMORI_HOME/watch-state.jsonl).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Milliseconds a file must be left alone before it is scanned.
    #[arg(long, default_value_t = 500)]
    settle_ms: u64,
    /// Files scanned at once (0: half the cores, at least one: the desk comes first).
    #[arg(long, short = 'j', default_value_t = 0)]
    threads: usize,
    /// Load more sensitive type definitions (repeatable).
    #[arg(long = "types")]
    types: Vec<PathBuf>,
    /// Write a systemd user unit that runs this watcher (with these options) at login, and
    /// start it.
    #[arg(long, conflicts_with = "uninstall_service")]
    install_service: bool,
    /// Stop and remove the user unit (no folders needed).
    #[arg(long)]
    uninstall_service: bool,
    #[command(flatten)]
    labels: crate::label::LabelsDir,
}

/// Where events go: standard error or a log file, as text or JSON Lines.
struct Log {
    json: bool,
    out: Mutex<Box<dyn Write + Send>>,
}

impl Log {
    fn open(a: &WatchArgs) -> anyhow::Result<Log> {
        let out: Box<dyn Write + Send> = match &a.log_file {
            Some(p) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .with_context(|| format!("opening the log {}", p.display()))?,
            ),
            None => Box::new(std::io::stderr()),
        };
        Ok(Log { json: a.log_format == "jsonl", out: Mutex::new(out) })
    }

    /// Writes one event: `fields` as JSON, or `text` after the time.
    fn event(&self, event: &str, text: &str, fields: serde_json::Value) {
        let now = jiff::Timestamp::now().round(jiff::Unit::Second).unwrap_or_else(|_| jiff::Timestamp::now());
        let line = if self.json {
            let mut obj = serde_json::json!({ "time": now.to_string(), "event": event });
            if let (Some(o), serde_json::Value::Object(f)) = (obj.as_object_mut(), fields) {
                o.extend(f);
            }
            obj.to_string()
        } else {
            format!("{now} {event:<10} {text}")
        };
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        // a log that cannot be written must not stop the labeling
        let _ = writeln!(out, "{line}").and_then(|_| out.flush());
    }
}

/// Everything a file is handled with.
struct Classifier<'a> {
    scanner: mamori_scan::Scanner,
    policy: Policy<'a>,
    state: Mutex<State>,
    log: Log,
    notifier: Option<mamori_desktop::notify::Notifier>,
    /// Suggestions notified with an "Apply" button: notification id → file and label.
    offers: Mutex<std::collections::HashMap<u32, (PathBuf, String)>>,
}

/// The key of the notification button that applies a suggested label.
const APPLY: &str = "apply";

pub fn run(a: WatchArgs) -> anyhow::Result<u8> {
    let folders: Vec<PathBuf> = a
        .folders
        .iter()
        .map(|f| std::fs::canonicalize(f).with_context(|| format!("cannot watch {}", f.display())))
        .collect::<anyhow::Result<_>>()?;
    if let Some(f) = folders.iter().find(|f| !f.is_dir()) {
        anyhow::bail!("cannot watch {}: not a folder", f.display());
    }
    if a.install_service || a.uninstall_service {
        return service(&a, &folders);
    }
    let catalog = crate::load_catalog(&a.types, &[])?;
    let labeler = a.labels.load()?;
    let unknown: Vec<&str> = labeler.policy.type_ids().filter(|id| catalog.get(id).is_none()).collect();
    anyhow::ensure!(unknown.is_empty(), "the policy names unknown sensitive types: {}", unknown.join(", "));
    let threads = match a.threads {
        0 => (std::thread::available_parallelism().map_or(1, |n| n.get()) / 2).max(1),
        n => n,
    };
    let engine = Arc::new(mamori_detect::Engine::new(&catalog)?);
    let scanner = mamori_scan::Scanner::new(engine, mamori_scan::ScanOptions { threads, ..Default::default() })?;
    let state_path = match &a.state {
        Some(p) => p.clone(),
        None => mamori_keys::home()?.join("watch-state.jsonl"),
    };
    let state = State::open(&state_path)?;
    let log = Log::open(&a)?;
    let notifier = if a.no_notify {
        None
    } else {
        match mamori_desktop::notify::Notifier::session() {
            Ok(n) => Some(n),
            Err(e) => {
                log.event(
                    "info",
                    &format!("no desktop notifications ({e}); suggestions go to this log"),
                    serde_json::json!({ "message": format!("no desktop notifications: {e}") }),
                );
                None
            }
        }
    };
    // a desk without an identity still gets its labels; protecting waits for `mamori id init`
    let client = if a.no_protect {
        None
    } else {
        match crate::protect::client() {
            Ok(c) => Some(c),
            Err(e) => {
                let text = format!("labels will not protect files: {e:#} (run `mamori id init`, then restart)");
                log.event("warning", &text, serde_json::json!({ "message": text }));
                None
            }
        }
    };
    let protect = client.is_some();
    let c = Classifier {
        scanner,
        policy: Policy {
            labeler: &labeler,
            how: mamori_label::ClassifyOptions {
                recommended_as_automatic: a.recommended_as_automatic,
                apply_default_label: a.default_label,
            },
            enforce: Some(mamori_label::WriteOptions::default()),
            versions: Default::default(),
            protect,
            client: Mutex::new(client),
            cwd: std::env::current_dir()?,
        },
        state: Mutex::new(state),
        log,
        notifier,
        offers: Mutex::default(),
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    // watch first, then catch up: a file saved meanwhile is in one or the other
    let settle = Duration::from_millis(a.settle_ms);
    // its own files, should a watched folder hold them (a watched home folder holds its state)
    let mut ignore = vec![state_path.clone()];
    ignore.extend(a.log_file.iter().map(|l| std::path::absolute(l).unwrap_or_else(|_| l.clone())));
    let ignore = ignore.iter().map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())).collect();
    let mut watcher = Watcher::new(&folders, mamori_watch::Options { settle, recheck: settle / 2, ignore })?;
    let known = c.state.lock().unwrap_or_else(|p| p.into_inner()).len();
    let shown: Vec<String> = folders.iter().map(|f| f.display().to_string()).collect();
    c.log.event(
        "started",
        &format!("watching {} ({} files on record in {})", shown.join(", "), known, state_path.display()),
        serde_json::json!({ "folders": shown, "state": state_path, "known": known, "threads": threads }),
    );
    if a.only_new {
        let fresh: Vec<&PathBuf> = {
            let state = c.state.lock().unwrap_or_else(|p| p.into_inner());
            folders.iter().filter(|f| !state.knows_under(f)).collect()
        };
        let left = c.leave(watcher.existing().filter(|f| fresh.iter().any(|d| f.starts_with(d))));
        if !fresh.is_empty() {
            c.log.event(
                "baseline",
                &format!("left {left} files that were there before, unread (--only-new)"),
                serde_json::json!({ "files": left }),
            );
        }
    }
    // subscribed before the first notification, so that no press of "Apply" is missed
    let actions = match c.notifier.as_ref().map(|n| n.actions()).transpose() {
        Ok(a) => a,
        Err(e) => {
            c.log.event("error", &e.to_string(), serde_json::json!({ "message": e.to_string() }));
            None
        }
    };
    let caught_up = c.handle_all(&pool, watcher.existing());
    c.log.event(
        "ready",
        &format!("caught up: {caught_up} files changed while not watching"),
        serde_json::json!({ "files": caught_up }),
    );
    std::thread::scope(|s| {
        // the "Apply" buttons of suggestions
        if let Some(actions) = actions {
            s.spawn(|| {
                for (id, key) in actions {
                    if key == APPLY {
                        c.accept(id);
                    }
                }
            });
        }
        c.watch(&mut watcher, &pool)
    })
}

impl Classifier<'_> {
    /// Classifies what is saved, for ever.
    fn watch(&self, watcher: &mut Watcher, pool: &rayon::ThreadPool) -> ! {
        let c = self;
        loop {
            let batch = watcher.next(Duration::from_secs(3600));
            for e in &batch.errors {
                c.log.event("error", e, serde_json::json!({ "message": e }));
            }
            if batch.rescan {
                c.log.event(
                    "rescan",
                    "events were lost (too many at once): looking at every file again",
                    serde_json::json!({}),
                );
                c.handle_all(pool, watcher.existing());
            }
            c.handle_all(pool, batch.ready.into_iter());
        }
    }

    /// Handles each of `files` not done since it last changed, on the pool; how many it did.
    fn handle_all(&self, pool: &rayon::ThreadPool, files: impl Iterator<Item = PathBuf>) -> usize {
        let files: Vec<PathBuf> = files.collect();
        pool.install(|| files.par_iter().filter(|p| self.handle(p)).count())
    }

    /// Records `files` as they are without reading them (`--only-new`); how many.
    fn leave(&self, files: impl Iterator<Item = PathBuf>) -> usize {
        let mut n = 0;
        for path in files {
            let comment = "left as it was: there before the watcher started (--only-new)";
            if self.note(path, "skipped".into(), None, comment.into()) {
                n += 1;
            }
        }
        n
    }

    /// Records what was done to `path` with how it looks now, so that it is not done again;
    /// whether it was recorded (a file gone meanwhile is not).
    fn note(&self, path: PathBuf, status: String, label: Option<String>, comment: String) -> bool {
        let Ok(meta) = std::fs::metadata(&path) else { return false };
        let at = jiff::Timestamp::now().as_second();
        let entry = Entry { path, seen: Seen::of(&meta), status, label, comment, at };
        let recorded = self.state.lock().unwrap_or_else(|p| p.into_inner()).record(entry);
        if let Err(e) = &recorded {
            self.log.event("error", &e.to_string(), serde_json::json!({ "message": e.to_string() }));
        }
        recorded.is_ok()
    }

    /// Scans a saved file and applies the policy, unless it is as it was when last handled
    /// (the watcher's own write, or a restart); whether it did.
    fn handle(&self, path: &Path) -> bool {
        let Ok(meta) = std::fs::metadata(path) else { return false }; // vanished before its turn
        if self.state.lock().unwrap_or_else(|p| p.into_inner()).is_done(path, &Seen::of(&meta)) {
            return false;
        }
        let mut f = self.scanner.scan_one(path);
        if !path.exists() {
            self.vanished(path);
            return true;
        }
        let outcome = self.policy.apply(&mut f);
        let own = f.items.last();
        let class = own.and_then(|i| i.classification.clone());
        let (status, comment) = match (&outcome, own) {
            (Some(o), _) => (o.status.as_str().to_string(), o.comment.clone()),
            (None, Some(i)) if i.protection.is_some() => {
                ("skipped".into(), "protected: its label is in its header".into())
            }
            (None, _) => ("skipped".into(), "not classified".into()),
        };
        let label = class.as_ref().and_then(|c| c.label.clone());
        // what the file and everything inside it hold
        let found = mamori_model::Finding::merge(f.items.iter().flat_map(|i| i.findings.clone()));
        let types: Vec<serde_json::Value> = found
            .iter()
            .map(|t| serde_json::json!({ "type": t.type_id, "count": t.count, "confidence": t.confidence }))
            .collect();
        let fields = serde_json::json!({
            "path": path, "status": status, "comment": comment, "label": label, "types": types,
            "recommended_label": outcome.as_ref().and_then(|o| o.recommended_label.clone()),
        });
        let found: Vec<String> = found.iter().map(|t| format!("{} × {}", t.count, t.type_id)).collect();
        let found = if found.is_empty() { String::new() } else { format!(" [{}]", found.join(", ")) };
        self.log.event("classified", &format!("{status} {}: {comment}{found}", path.display()), fields);
        if let Some(o) = &outcome {
            self.tell(path, o, label.as_deref(), class.as_ref().and_then(|c| c.recommended_label.as_deref()));
        }
        if !self.note(path.to_path_buf(), status, label, comment) && !path.exists() {
            self.vanished(path);
        }
        true
    }

    fn vanished(&self, path: &Path) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).forget(path);
        self.log.event(
            "vanished",
            &format!("{}: gone before it could be classified", path.display()),
            serde_json::json!({ "path": path }),
        );
    }

    /// The person pressed "Apply" on the suggestion notified as `id`: the label is applied as
    /// their choice (method Privileged, as accepting a recommendation is in Office).
    fn accept(&self, id: u32) {
        let Some((path, label)) = self.offers.lock().unwrap_or_else(|p| p.into_inner()).remove(&id) else { return };
        let l = self.policy.labeler;
        let Some(target) = l.taxonomy.find(&label) else { return };
        let mut client = self.policy.client.lock().unwrap_or_else(|p| p.into_inner());
        let opts = mamori_label::WriteOptions::default();
        let o = crate::chooser::apply_choice(&mut client, l, target, &path, &opts, self.policy.protect);
        drop(client);
        let status = o.status.as_str().to_string();
        self.log.event(
            "applied",
            &format!("{status} {}: {} (accepted from a notification)", path.display(), o.comment),
            serde_json::json!({ "path": path, "status": status, "comment": o.comment, "label": label }),
        );
        // what the watcher wrote is done: no rescan of it
        self.note(path, status, Some(label), o.comment);
    }

    /// Tells the person at the desk what was done to their file, or what the policy suggests:
    /// a desktop notification where there is a session bus, else a line in the log.
    fn tell(&self, path: &Path, o: &Outcome, label: Option<&str>, verdict: Option<&str>) {
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        let why = o.reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        let l = self.policy.labeler;
        let mut offer = None;
        let (summary, body, urgency) = if o.status == OutcomeStatus::Success && o.label_name.is_some() {
            let label = o.label_name.as_deref().unwrap_or_default();
            (
                format!("{name} labeled {label}"),
                format!("{}\n{why}", path.display()),
                mamori_desktop::notify::Urgency::Normal,
            )
        } else if o.status == OutcomeStatus::Failed {
            (
                format!("mamori could not finish with {name}"),
                o.comment.clone(),
                mamori_desktop::notify::Urgency::Critical,
            )
        } else {
            // a recommended label above the current one, or an automatic one above a label a
            // person chose (which is never replaced): the person decides
            let current = label.and_then(|c| l.taxonomy.find(c)).map_or(0, |c| c.order);
            let suggested = o.recommended_label.clone().or_else(|| verdict.map(str::to_string));
            let Some(s) = suggested.filter(|s| l.taxonomy.find(s).is_some_and(|s| s.order > current)) else { return };
            offer = Some(s.clone());
            (
                format!("mamori suggests {s} for {name}"),
                format!(
                    "{}\n{why}\nApply it with “{}” in the file manager, or: mamori label set -l '{s}' FILE",
                    path.display(),
                    mamori_desktop::menu::ACTION
                ),
                mamori_desktop::notify::Urgency::Normal,
            )
        };
        let button = offer.as_ref().map(|s| format!("Apply {s}"));
        let actions: Vec<(&str, &str)> = button.iter().map(|b| (APPLY, b.as_str())).collect();
        // held until the offer is noted: a press may arrive before `send` returns
        let mut offers = self.offers.lock().unwrap_or_else(|p| p.into_inner());
        let notified = match &self.notifier {
            Some(n) => n.send(&summary, &body, urgency, &actions).map_err(|e| e.to_string()),
            None => Err("no notifications".into()),
        };
        if let (Ok(id), Some(label)) = (&notified, offer) {
            offers.insert(*id, (path.to_path_buf(), label));
        }
        drop(offers);
        let text = format!("{summary} — {}", body.replace('\n', " — "));
        match notified {
            Ok(id) => self.log.event(
                "notified",
                &text,
                serde_json::json!({ "path": path, "summary": summary, "body": body, "id": id }),
            ),
            Err(e) => self.log.event(
                "notice",
                &text,
                serde_json::json!({ "path": path, "summary": summary, "body": body, "not_notified": e }),
            ),
        }
    }
}

/// `--install-service` and `--uninstall-service`.
fn service(a: &WatchArgs, folders: &[PathBuf]) -> anyhow::Result<u8> {
    use mamori_desktop::service;
    let config = mamori_desktop::config_home()?;
    let systemctl = |args: &[&str]| {
        let run = std::process::Command::new("systemctl")
            .arg("--user")
            .args(args)
            .stderr(std::process::Stdio::null())
            .status();
        run.is_ok_and(|s| s.success())
    };
    if a.uninstall_service {
        let _ = systemctl(&["disable", "--now", service::UNIT]);
        match service::uninstall(&config)? {
            true => println!("removed {}", service::unit_path(&config).display()),
            false => println!("no {} to remove", service::UNIT),
        }
        return Ok(0);
    }
    // the unit runs this watcher as given, with absolute paths
    let mut args = vec!["watch".to_string()];
    args.extend(folders.iter().map(|f| f.display().to_string()));
    let flags = [
        (a.no_protect, "--no-protect"),
        (a.recommended_as_automatic, "--recommended-as-automatic"),
        (a.default_label, "--default-label"),
        (a.no_notify, "--no-notify"),
        (a.only_new, "--only-new"),
    ];
    args.extend(flags.iter().filter(|(on, _)| *on).map(|(_, f)| f.to_string()));
    let abs = |p: &Path| std::path::absolute(p).map(|p| p.display().to_string());
    for (flag, path) in [("--log-file", &a.log_file), ("--state", &a.state)] {
        if let Some(p) = path {
            args.extend([flag.to_string(), abs(p)?]);
        }
    }
    args.extend(["--log-format".into(), a.log_format.clone(), "--settle-ms".into(), a.settle_ms.to_string()]);
    for t in &a.types {
        args.extend(["--types".to_string(), abs(t)?]);
    }
    let env: Vec<(String, String)> = ["MAMORI_HOME", "MAMORI_LABELS", "MAMORI_KEY_SERVICE"]
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        // paths made absolute; the key service may be a URL
        .map(|(k, v)| if k == "MAMORI_KEY_SERVICE" { (k, v) } else { (k, abs(Path::new(&v)).unwrap_or(v)) })
        .collect();
    let exe = std::env::current_exe().context("finding the mamori program")?;
    let path = service::install(&config, &service::unit(&exe, &args, &env))?;
    println!("wrote {}", path.display());
    if systemctl(&["daemon-reload"]) && systemctl(&["enable", "--now", service::UNIT]) {
        println!("started; it starts at every login. Its log: journalctl --user -u mamori-watch");
    } else {
        println!("start it with: systemctl --user daemon-reload && systemctl --user enable --now {}", service::UNIT);
    }
    Ok(0)
}
