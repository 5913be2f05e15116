//! The desktop side: the label chooser at the terminal, the file-manager actions, the watcher's
//! user service, and desktop notifications over a real D-Bus session bus.

mod common;

use serde_json::Value;
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MAMORI: &str = env!("CARGO_BIN_EXE_mamori");

fn mamori(home: &Path) -> Command {
    let mut c = Command::new(MAMORI);
    c.env("MAMORI_HOME", home).env("XDG_DATA_HOME", home.join("data")).env("XDG_CONFIG_HOME", home.join("config"));
    c.env_remove("MAMORI_LABELS").env_remove("MAMORI_KEY_SERVICE").env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY");
    c
}

/// Runs `label set --interactive` on `file`, answering with `answers`; (exit code, stdout, stderr).
fn choose(home: &Path, file: &Path, answers: &str) -> (i32, String, String) {
    let mut child = mamori(home)
        .args(["label", "set", "--interactive"])
        .arg(file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(answers.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap(), s(&out.stdout), s(&out.stderr))
}

fn status(home: &Path, file: &Path) -> Value {
    let out = mamori(home).args(["status", "--json"]).arg(file).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_terminal_chooser_shows_the_label_asks_why_on_a_downgrade_and_applies() {
    let dir = common::scratch();
    let file = dir.path().join("plan.txt");
    std::fs::write(&file, "the plan\n").unwrap();
    let home = dir.path().join("home");

    // 1 is Public, with nothing on the file yet: applied as a person's choice
    let (code, out, err) = choose(&home, &file, "1\n");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("plan.txt: no label") && err.contains("1) Public"), "{err}");
    assert!(out.contains("success") && out.contains("labeled Public"), "{out}");
    let s = status(&home, &file);
    assert_eq!((s["label_name"].as_str(), s["labeling_method"].as_str()), (Some("Public"), Some("Privileged")));

    // a wrong number is asked again; 4 (Restricted) protects, which needs an identity
    let (code, out, err) = choose(&home, &file, "9\n4\n");
    assert!(err.contains("\"9\" is not one of 1–5"), "{err}");
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("not protected") && out.contains("mamori id init"), "{out}");
    assert_eq!(status(&home, &file)["label_name"], "Restricted");
    assert!(err.contains("plan.txt: Public (chosen by a person)"), "{err}");

    // lowering needs a justification: none given (end of input) changes nothing
    let (code, _, err) = choose(&home, &file, "1\n");
    assert_eq!(code, 0);
    assert!(err.contains("plan.txt: Confidential/Restricted (chosen by a person)"), "{err}");
    assert!(err.contains("Public is less sensitive than the current label: why?"), "{err}");
    assert_eq!(status(&home, &file)["label_name"], "Restricted");
    // with one, it is lowered and the reason noted
    let (code, out, _) = choose(&home, &file, "1\nreviewed: nothing confidential\n");
    assert_eq!(code, 0);
    assert!(out.contains("(justification: reviewed: nothing confidential)"), "{out}");
    assert_eq!(status(&home, &file)["label_name"], "Public");
    // cancelling (Enter) changes nothing
    let (code, out, _) = choose(&home, &file, "\n");
    assert_eq!((code, out.as_str()), (0, ""));

    // with an identity, a protecting label protects the file in place
    assert!(mamori(&home).args(["id", "init", "--name", "alice@example.com"]).output().unwrap().status.success());
    let (code, out, err) = choose(&home, &file, "3\n");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("protected (document"), "{out}");
    let s = status(&home, &file);
    assert_eq!((s["is_protected"].as_bool(), s["label_name"].as_str()), (Some(true), Some("All Employees")));
}

#[test]
fn the_menu_action_installs_into_each_file_manager_and_uninstalls() {
    let dir = common::scratch();
    let home = dir.path();
    let out = mamori(home).args(["desktop", "install"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let script = home.join("data/nautilus/scripts/Classify and protect with mamori");
    let dolphin = home.join("data/kio/servicemenus/mamori-classify.desktop");
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.starts_with("#!/bin/sh\n") && text.contains(&format!("exec {MAMORI} desktop classify -- \"$@\"")));
    let menu = std::fs::read_to_string(&dolphin).unwrap();
    assert!(menu.contains(&format!("Exec={MAMORI} desktop classify -- %F")), "{menu}");
    assert!(home.join("data/nemo/actions/mamori-classify.nemo_action").exists());

    // the script as Nautilus runs it, with no display and no terminal: a clear error
    let file = home.join("a.txt");
    std::fs::write(&file, "x").unwrap();
    let run = Command::new(&script)
        .arg(&file)
        .env("MAMORI_HOME", home)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("install zenity"), "{run:?}");

    let out = mamori(home).args(["desktop", "uninstall"]).output().unwrap();
    assert!(out.status.success());
    assert!(!script.exists() && !dolphin.exists());
    assert!(String::from_utf8_lossy(&mamori(home).args(["desktop", "uninstall"]).output().unwrap().stdout)
        .contains("nothing to remove"));
}

#[test]
fn the_watcher_installs_as_a_systemd_user_unit() {
    if !common::programs_present("watch service", &[("systemd-analyze", &["systemd-analyze", "--version"])]) {
        return;
    }
    let dir = common::scratch();
    let home = dir.path();
    let folder = home.join("My Documents");
    std::fs::create_dir(&folder).unwrap();
    let out = mamori(home)
        .args(["watch", "--install-service", "--no-protect", "--log-file"])
        .arg(home.join("watch.log"))
        .arg(&folder)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let unit = home.join("config/systemd/user/mamori-watch.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    let folder = folder.canonicalize().unwrap();
    let want = format!("ExecStart={MAMORI} watch \"{}\" --no-protect --log-file", folder.display());
    assert!(text.contains(&want), "{text}");
    assert!(text.contains(&format!("Environment=MAMORI_HOME={}", home.display())), "{text}");
    // systemd itself reads the unit and finds nothing wrong
    let verify = Command::new("systemd-analyze").arg("verify").arg(&unit).output().unwrap();
    assert!(verify.status.success() && verify.stderr.is_empty(), "{}", String::from_utf8_lossy(&verify.stderr));
    let out = mamori(home).args(["watch", "--uninstall-service"]).output().unwrap();
    assert!(out.status.success());
    assert!(!unit.exists());
}

/// A notification server on a private session bus, recording the summaries it is sent; it
/// presses any "apply" button at once, as a person would.
fn notification_server(address: &str) -> std::sync::mpsc::Receiver<(String, String)> {
    let conn = zbus::blocking::connection::Builder::address(address)
        .unwrap()
        .name("org.freedesktop.Notifications")
        .unwrap()
        .build()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        type Notify = (
            String,
            u32,
            String,
            String,
            String,
            Vec<String>,
            std::collections::HashMap<String, zbus::zvariant::OwnedValue>,
            i32,
        );
        let mut id = 41u32;
        for msg in zbus::blocking::MessageIterator::from(&conn) {
            let Ok(msg) = msg else { break };
            let header = msg.header();
            if header.member().is_some_and(|m| m.as_str() == "Notify") {
                let (app, _, _, summary, body, actions, ..): Notify = msg.body().deserialize().unwrap();
                assert_eq!(app, "mamori");
                id += 1;
                conn.reply(&header, &(id,)).unwrap();
                if actions.first().is_some_and(|a| a == "apply") {
                    let path = "/org/freedesktop/Notifications";
                    let signal = (path, "org.freedesktop.Notifications", "ActionInvoked");
                    conn.emit_signal(None::<&str>, signal.0, signal.1, signal.2, &(id, "apply")).unwrap();
                }
                let _ = tx.send((summary, body));
            }
        }
    });
    rx
}

#[test]
fn the_watcher_notifies_over_the_session_bus() {
    if !common::programs_present("watch notifications", &[("dbus-daemon", &["dbus-daemon", "--version"])]) {
        return;
    }
    let dir = common::scratch();
    let mut bus = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut address = String::new();
    std::io::BufReader::new(bus.stdout.take().unwrap()).read_line(&mut address).unwrap();
    let address = address.trim().to_string();
    let notices = notification_server(&address);

    let folder = dir.path().join("Documents");
    std::fs::create_dir(&folder).unwrap();
    let home = dir.path().join("home");
    let mut watcher = mamori(&home)
        .args(["watch", "--no-protect", "--log-format", "jsonl", "--log-file"])
        .arg(dir.path().join("watch.log"))
        .arg(&folder)
        .env("DBUS_SESSION_BUS_ADDRESS", &address)
        .spawn()
        .unwrap();
    // once it is watching
    let end = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(dir.path().join("watch.log")).is_ok_and(|l| l.contains("\"ready\"")) {
        assert!(Instant::now() < end, "the watcher did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let roster = std::fs::read_to_string(common::repo("corpus/share/hr/roster-utf8.txt")).unwrap();
    std::fs::write(folder.join("roster.txt"), roster).unwrap();
    let got = notices.recv_timeout(Duration::from_secs(60));
    // phone numbers beside e-mail addresses: a rule recommends Internal; the person applies it
    let contacts: String =
        (0..6).map(|i| format!("担当{i}: yamada{i}@example.co.jp 電話 03-5{i}12-34{i}8\n")).collect();
    std::fs::write(folder.join("contacts.txt"), contacts).unwrap();
    let suggested = notices.recv_timeout(Duration::from_secs(60));
    // the watcher logs the id the server replied with
    let log = dir.path().join("watch.log");
    let notified = |l: &str| l.contains("\"event\":\"notified\"") && l.contains("\"id\":42");
    let applied = |l: &str| l.contains("\"event\":\"applied\"");
    let both = |l: String| l.lines().any(notified) && l.lines().any(applied);
    while !std::fs::read_to_string(&log).is_ok_and(both) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = watcher.kill();
    let _ = watcher.wait();
    let _ = bus.kill();
    let _ = bus.wait();
    let (summary, body) = got.expect("a notification");
    assert_eq!(summary, "roster.txt labeled Confidential/Restricted");
    assert!(body.contains("jp-my-number"), "{body}");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.lines().any(notified), "{log}");
    let (summary, _) = suggested.expect("a suggestion");
    assert_eq!(summary, "mamori suggests Internal for contacts.txt");
    assert!(log.lines().any(|l| applied(l) && l.contains("\"status\":\"success\"")), "{log}");
    let s = status(&home, &folder.join("contacts.txt"));
    assert_eq!(
        (s["label_name"].as_str(), s["labeling_method"].as_str()),
        (Some("Internal"), Some("Privileged")),
        "{s}"
    );
}

/// An X server of its own (Xvfb) for the file-manager action's dialogs, driven by xdotool as a
/// person would: the keyboard and the pointer, through the XTEST extension.
struct Screen {
    xvfb: std::process::Child,
    display: String,
}

impl Screen {
    fn start() -> Screen {
        let mut xvfb = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut n = String::new();
        std::io::BufReader::new(xvfb.stdout.take().unwrap()).read_line(&mut n).unwrap();
        let screen = Screen { xvfb, display: format!(":{}", n.trim()) };
        // ready when a client can ask it something
        let end = Instant::now() + Duration::from_secs(60);
        while screen.xdotool(&["getdisplaygeometry"]).trim().is_empty() {
            assert!(Instant::now() < end, "Xvfb on {} does not answer", screen.display);
            std::thread::sleep(Duration::from_millis(100));
        }
        screen
    }

    fn xdotool(&self, args: &[&str]) -> String {
        let out = Command::new("xdotool").args(args).env("DISPLAY", &self.display).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits for the next dialog of mamori's to show, points at its middle, and sends `keys`
    /// (`type:TEXT` types TEXT) until it closes.
    fn answer(&self, action: &mut std::process::Child, click: bool, keys: &[&str]) {
        let end = Instant::now() + Duration::from_secs(120);
        let id = loop {
            let ids = self.xdotool(&["search", "--onlyvisible", "--name", "Classify and protect with mamori"]);
            // the last one has closed (X reuses window ids, so they cannot tell dialogs apart)
            if let Some(id) = ids.lines().next() {
                break id.to_string();
            }
            if let Some(status) = action.try_wait().unwrap() {
                let mut err = String::new();
                let _ = std::io::Read::read_to_string(action.stderr.as_mut().unwrap(), &mut err);
                panic!("the chooser ended ({status}) before its dialog showed: {err}");
            }
            if Instant::now() > end {
                let windows = self.xdotool(&["search", "--name", ""]);
                let names: Vec<String> =
                    windows.lines().map(|w| self.xdotool(&["getwindowname", w]).trim().to_string()).collect();
                panic!("no dialog showed; windows: {names:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let geometry = self.xdotool(&["getwindowgeometry", "--shell", &id]);
        let get = |k: &str| -> i32 {
            geometry.lines().find_map(|l| l.strip_prefix(&format!("{k}="))).unwrap().trim().parse().unwrap()
        };
        let (x, y) = (get("X") + get("WIDTH") / 2, get("Y") + get("HEIGHT") / 2);
        // keys sent before the dialog is ready for them are lost: send them again (they are
        // idempotent) until it closes
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(500));
            self.xdotool(&["mousemove", &x.to_string(), &y.to_string()]);
            if click {
                self.xdotool(&["click", "1"]);
            }
            for k in keys {
                match k.strip_prefix("type:") {
                    Some(text) => self.xdotool(&["type", "--delay", "20", text]),
                    None => self.xdotool(&["key", k]),
                };
            }
            let closed = Instant::now() + Duration::from_secs(3);
            while Instant::now() < closed {
                if !self
                    .xdotool(&["search", "--onlyvisible", "--name", "Classify and protect with mamori"])
                    .lines()
                    .any(|l| l == id)
                {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("the dialog did not take the keys {keys:?}");
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        // SIGTERM, so that it removes its lock file and socket
        let _ = Command::new("kill").arg(self.xvfb.id().to_string()).status();
        let _ = self.xvfb.wait();
    }
}

#[test]
fn the_file_manager_action_opens_a_chooser_that_relabels_with_a_justification() {
    // zenity and xdotool want a display even to print their version
    let tools: [(&str, &[&str]); 3] = [
        ("Xvfb", &["Xvfb", "-help"]),
        ("zenity", &["sh", "-c", "command -v zenity"]),
        ("xdotool", &["sh", "-c", "command -v xdotool"]),
    ];
    if !common::programs_present("file-manager chooser", &tools) {
        return;
    }
    let dir = common::scratch();
    let home = dir.path();
    assert!(mamori(home).args(["desktop", "install"]).output().unwrap().status.success());
    let file = home.join("plan.txt");
    std::fs::write(&file, "the plan\n").unwrap();
    assert!(mamori(home)
        .args(["label", "set", "-l", "Confidential/Restricted"])
        .arg(&file)
        .output()
        .unwrap()
        .status
        .success());

    // what Nautilus runs when the action is chosen on plan.txt
    let screen = Screen::start();
    let script = home.join("data/nautilus/scripts/Classify and protect with mamori");
    let mut action = Command::new(&script)
        .arg(&file)
        .current_dir(home)
        .env("MAMORI_HOME", home)
        .env("DISPLAY", &screen.display)
        .env_remove("XDG_CURRENT_DESKTOP")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        // no accessibility bus here: GTK would wait for it
        .env("NO_AT_BRIDGE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // the chooser: the first row is Public; then the justification; then the results
    screen.answer(&mut action, true, &["Home", "Return"]);
    screen.answer(&mut action, false, &["ctrl+a", "type:reviewed: nothing confidential", "Return"]);
    screen.answer(&mut action, false, &["Return"]);
    let out = action.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = status(home, &file);
    assert_eq!((s["label_name"].as_str(), s["labeling_method"].as_str()), (Some("Public"), Some("Privileged")), "{s}");
}
