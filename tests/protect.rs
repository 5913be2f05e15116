//! Protection end to end: the threats of `protection.md` §9–10, each against a real store and,
//! where it applies, real `mamori serve` processes on loopback.

mod common;

use mamori_keys::api::{KeyRequest, ProtectRequest, Purpose};
use mamori_keys::request::Signed;
use mamori_keys::rights::Grant;
use mamori_keys::Identity;
use mamori_protect::{Client, Embedded, Http, Transport};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_mamori");

/// A `mamori serve` process; SIGKILLed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(db: &Path) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--db", db.to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url =
            line.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("{line}")).to_string();
        Server { child, url }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A directory with a key service store and a home per user.
struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        World { dir: common::scratch() }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("ks").join("ks.db")
    }

    fn home(&self, user: &str) -> PathBuf {
        self.dir.path().join(user)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Makes `user@example.com` and registers it with extra `admin principal add` flags.
    fn user(&self, user: &str, flags: &[&str]) -> PathBuf {
        let home = self.home(user);
        let out = run(&home, None, &["id", "init", "--name", &format!("{user}@example.com")]);
        assert!(out.status.success(), "{}", text(&out));
        let json = self.path(&format!("{user}.json"));
        std::fs::write(&json, run(&home, None, &["id", "show", "--json"]).stdout).unwrap();
        let mut args =
            vec!["admin", "--db", self.db().to_str().unwrap().to_owned().leak(), "principal", "add", "--identity"];
        args.push(json.to_str().unwrap().to_owned().leak());
        args.extend(flags);
        let out = run(&home, None, &args);
        assert!(out.status.success(), "{}", text(&out));
        home
    }

    fn client(&self, user: &str, url: &str) -> Client {
        let home = self.home(user);
        Client::new(Box::new(Http::new(url)), Identity::load(&home).unwrap(), &home)
    }
}

fn run(home: &Path, ks: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args).env("MAMORI_HOME", home).env_remove("MAMORI_LABELS");
    match ks {
        Some(url) => c.env("MAMORI_KEY_SERVICE", url),
        None => c.env_remove("MAMORI_KEY_SERVICE"),
    };
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn protect_bytes(client: &Client, request: &ProtectRequest, plain: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    mamori_protect::protect(client, request, plain, &mut out).unwrap();
    out
}

fn open_bytes(client: &Client, container: &[u8]) -> Result<Vec<u8>, mamori_protect::Error> {
    let mut out = Vec::new();
    mamori_protect::open(client, Purpose::View, container, &mut out).map(|_| out)
}

fn grant(s: &str) -> Grant {
    Grant::parse(s).unwrap()
}

/// The README walk-through: alice protects, bob opens, mallory is refused, alice revokes, bob is
/// refused with the revocation named, and the access log holds every attempt.
#[test]
fn alice_protects_bob_opens_mallory_is_refused_and_a_revocation_kills_every_copy() {
    let w = World::new();
    let alice = w.user("alice", &["--admin"]);
    let bob = w.user("bob", &["--group", "finance@example.com"]);
    let mallory = w.user("mallory", &[]);
    let ks = Server::start(&w.db());
    let url = Some(ks.url.as_str());
    let plain = w.path("q3.txt");
    std::fs::write(&plain, "Q3 forecast, card 4111 1111 1111 1111\n").unwrap();
    let p = plain.to_str().unwrap();
    let out = run(&alice, url, &["protect", p, "--grant", "finance@example.com=view,print", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let doc = v["doc_id"].as_str().unwrap().to_string();
    let file = format!("{p}.mamori");
    let copy = w.path("leaked-copy.mamori");
    std::fs::copy(&file, &copy).unwrap();

    // Rights verify offline for anyone who has met this key service; bob has not yet.
    let out = run(&bob, url, &["rights", &file]);
    assert!(!out.status.success() && text(&out).contains("does not know"), "{}", text(&out));
    let out = run(&bob, url, &["open", &file]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Q3 forecast, card 4111 1111 1111 1111\n", "{}", text(&out));
    let out = run(&bob, url, &["rights", &file, "--json"]);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((r["owner"].as_str(), r["signature"]["valid"].as_bool()), (Some("alice@example.com"), Some(true)));

    let out = run(&mallory, url, &["open", &file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty() && text(&out).contains("[not_granted]"), "{}", text(&out));
    // Without an identity the key service knows, nothing opens either.
    let stranger = w.home("stranger");
    run(&stranger, None, &["id", "init", "--name", "stranger@example.com"]);
    assert!(text(&run(&stranger, url, &["open", &file])).contains("[unknown_principal]"));

    // Bob may view but not export; mallory cannot revoke.
    std::fs::remove_file(&plain).unwrap();
    assert!(text(&run(&bob, url, &["unprotect", &file])).contains("[not_granted]"));
    assert!(Path::new(&file).exists() && !plain.exists());
    assert!(text(&run(&mallory, url, &["revoke", &doc])).contains("[not_owner]"));

    let out = run(&alice, url, &["revoke", &doc, "--reason", "sent to the wrong list"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = run(&bob, url, &["open", copy.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let msg = text(&out);
    assert!(
        msg.contains("revoked by alice@example.com")
            && msg.contains("sent to the wrong list")
            && msg.contains("[revoked]"),
        "{msg}"
    );
    run(&alice, url, &["unrevoke", &file]);
    assert!(run(&bob, url, &["open", &file]).status.success());

    // The owner exports it back; the plain file is restored and the container is gone.
    let out = run(&alice, url, &["unprotect", &file]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&plain).unwrap(), "Q3 forecast, card 4111 1111 1111 1111\n");
    assert!(!Path::new(&file).exists());

    // Every attempt is in the document's log, allowed or denied.
    let out = run(&alice, url, &["track", &doc, "--json"]);
    let t: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let events: Vec<String> = t["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {} {} {}",
                e["principal"].as_str().unwrap(),
                e["action"].as_str().unwrap(),
                e["decision"].as_str().unwrap(),
                e["reason"].as_str().unwrap()
            )
        })
        .collect();
    let want = [
        "alice@example.com protect allow ok",
        "bob@example.com open allow ok",
        "mallory@example.com open deny not_granted",
        "stranger@example.com open deny unknown_principal",
        "bob@example.com unprotect deny not_granted",
        "mallory@example.com revoke deny not_owner",
        "alice@example.com revoke allow ok",
        "bob@example.com open deny revoked",
        "alice@example.com unrevoke allow ok",
        "bob@example.com open allow ok",
        "alice@example.com unprotect allow ok",
    ];
    assert_eq!(events, want);
    assert!(t["events"][1]["client"].as_str() == Some("127.0.0.1"));
    // The administrator's log is JSON Lines; others may not read it.
    let out = run(&alice, url, &["audit", "--json"]);
    let lines: Vec<serde_json::Value> =
        out.stdout.lines().map(|l| serde_json::from_str(&l.unwrap()).unwrap()).collect();
    assert!(lines.len() > want.len(), "{}", text(&out));
    assert!(text(&run(&bob, url, &["audit"])).contains("[not_admin]"));

    // No output anywhere holds key material.
    let secrets = ["alice", "bob", "mallory"].map(|u| {
        let t = std::fs::read_to_string(w.home(u).join("identity.toml")).unwrap();
        let grab = |k: &str| t.lines().find(|l| l.starts_with(k)).unwrap().split('"').nth(1).unwrap().to_string();
        [grab("signing_key"), grab("age_identity")]
    });
    let everything = String::from_utf8_lossy(&run(&alice, url, &["audit", "--json"]).stdout).into_owned();
    for s in secrets.iter().flatten() {
        assert!(!everything.contains(s.split(':').next_back().unwrap()));
    }
}

/// A transport that counts key requests, so a test can prove none was made.
struct Counting {
    inner: Embedded,
    keys: Arc<AtomicUsize>,
}

impl Transport for Counting {
    fn get(&self, path: &str) -> Result<(u16, Vec<u8>), mamori_protect::Error> {
        self.inner.get(path)
    }
    fn post(&self, path: &str, signed: &Signed, body: &[u8]) -> Result<(u16, Vec<u8>), mamori_protect::Error> {
        if path.ends_with("/key") {
            self.keys.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.post(path, signed, body)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[test]
fn every_single_byte_change_of_the_header_is_refused_before_any_key_request() {
    let home = common::scratch();
    let id = Identity::generate("alice@example.com").unwrap();
    id.save(home.path(), false).unwrap();
    let keys = Arc::new(AtomicUsize::new(0));
    let transport = Counting { inner: Embedded::open(home.path(), &id).unwrap(), keys: keys.clone() };
    let client = Client::new(Box::new(transport), Identity::load(home.path()).unwrap(), home.path());
    let request = ProtectRequest { grants: vec![grant("bob@example.com=view")], ..Default::default() };
    let container = protect_bytes(&client, &request, b"the plan");
    assert_eq!(open_bytes(&client, &container).unwrap(), b"the plan");
    assert_eq!(keys.load(Ordering::SeqCst), 1);
    let header_len = 16 + u32::from_be_bytes(container[12..16].try_into().unwrap()) as usize;
    for i in 0..header_len {
        for flip in [0x01u8, 0x80] {
            let mut bad = container.clone();
            bad[i] ^= flip;
            assert!(open_bytes(&client, &bad).is_err(), "byte {i} ^ {flip:#x} was accepted");
        }
    }
    assert_eq!(keys.load(Ordering::SeqCst), 1, "a changed header reached the key service");

    // A validly signed header from another document, in front of this payload: refused too.
    let other = protect_bytes(&client, &request, b"another");
    let other_len = 16 + u32::from_be_bytes(other[12..16].try_into().unwrap()) as usize;
    let swapped = [&other[..other_len], &container[header_len..]].concat();
    assert!(open_bytes(&client, &swapped).unwrap_err().to_string().contains("another document"));
    // A truncated payload never yields output as if complete.
    let cut = &container[..container.len() - 5];
    assert!(open_bytes(&client, cut).is_err());
}

#[test]
fn the_key_service_refuses_rebound_keys_replays_stale_and_altered_requests_across_processes() {
    let w = World::new();
    w.user("alice", &["--admin"]);
    let a = Server::start(&w.db());
    let b = Server::start(&w.db());
    let alice = w.client("alice", &a.url);
    let one = protect_bytes(&alice, &ProtectRequest::default(), b"one");
    let two = protect_bytes(&alice, &ProtectRequest::default(), b"two");
    let h1 = mamori_protect::container::read_header(&mut &one[..]).unwrap();
    let h2 = mamori_protect::container::read_header(&mut &two[..]).unwrap();
    let stanza_body = |c: &[u8], h: &mamori_protect::Header| {
        let age = &c[h.payload_offset as usize..];
        let text = String::from_utf8_lossy(&age[..age.len().min(400)]).into_owned();
        let line = text.lines().skip_while(|l| !l.starts_with("-> mamori.dev/ks")).nth(1).unwrap().to_string();
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD_NO_PAD.decode(line).unwrap();
        base64::engine::general_purpose::STANDARD.encode(raw)
    };
    let me = Identity::load(&w.home("alice")).unwrap();
    let ask = |doc: &str, rights: &mamori_protect::Header, body: String| {
        let r = KeyRequest {
            rights_sha256: mamori_keys::rights::hex(&rights.rights_hash()),
            stanza_body: body,
            recipient: age::x25519::Identity::generate().to_public().to_string(),
            purpose: Purpose::View,
        };
        (format!("/v1/documents/{doc}/key"), serde_json::to_vec(&r).unwrap())
    };
    let code = |status_body: (u16, Vec<u8>)| {
        let v: serde_json::Value = serde_json::from_slice(&status_body.1).unwrap();
        format!("{} {}", status_body.0, v["error"].as_str().unwrap_or("ok"))
    };
    let now = || jiff::Timestamp::now().as_second();
    let (ha, hb) = (Http::new(&a.url), Http::new(&b.url));

    // The key of document one, asked for with document two's rights: the hash does not match.
    let (path, body) = ask(&h1.rights.doc_id, &h2, stanza_body(&one, &h1));
    assert_eq!(
        code(ha.post(&path, &Signed::sign(&me, "POST", &path, &body, now()), &body).unwrap()),
        "409 rights_mismatch"
    );
    // Document two's rights with document one's sealed key: the binding fails.
    let (path, body) = ask(&h2.rights.doc_id, &h2, stanza_body(&one, &h1));
    assert_eq!(
        code(ha.post(&path, &Signed::sign(&me, "POST", &path, &body, now()), &body).unwrap()),
        "409 binding_failed"
    );

    // One signed request: good once, on either server; a replay on the other is refused.
    let (path, body) = ask(&h1.rights.doc_id, &h1, stanza_body(&one, &h1));
    let signed = Signed::sign(&me, "POST", &path, &body, now());
    assert_eq!(code(ha.post(&path, &signed, &body).unwrap()), "200 ok");
    assert_eq!(code(hb.post(&path, &signed, &body).unwrap()), "401 replay");
    assert_eq!(code(ha.post(&path, &signed, &body).unwrap()), "401 replay");
    let stale = Signed::sign(&me, "POST", &path, &body, now() - 61);
    assert_eq!(code(hb.post(&path, &stale, &body).unwrap()), "401 stale");
    let fresh = Signed::sign(&me, "POST", &path, &body, now());
    let mut altered = body.clone();
    altered.extend(b" ");
    assert_eq!(code(hb.post(&path, &fresh, &altered).unwrap()), "401 bad_signature");
    assert_eq!(code(hb.post(&path, &fresh, &body).unwrap()), "200 ok");

    let t = alice.track(&h1.rights.doc_id, &Default::default()).unwrap();
    let reasons: Vec<&str> = t.events.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons, ["ok", "rights_mismatch", "ok", "replay", "replay", "stale", "bad_signature", "ok"]);
}

#[test]
fn revocation_by_label_principal_group_and_expiry_holds_at_the_next_open() {
    let w = World::new();
    w.user("alice", &["--admin"]);
    w.user("bob", &["--group", "finance@example.com"]);
    w.user("carol", &["--group", "finance@example.com"]);
    let ks = Server::start(&w.db());
    let (alice, bob, carol) = (w.client("alice", &ks.url), w.client("bob", &ks.url), w.client("carol", &ks.url));
    let label = |id: &str| Some(mamori_keys::rights::LabelRef { id: id.into(), name: "Confidential".into() });
    let finance =
        ProtectRequest { grants: vec![grant("finance@example.com=view")], label: label("L1"), ..Default::default() };
    let doc = protect_bytes(&alice, &finance, b"x");
    let other_label = protect_bytes(&alice, &ProtectRequest { label: label("L2"), ..finance.clone() }, b"y");
    assert!(open_bytes(&bob, &doc).is_ok() && open_bytes(&carol, &doc).is_ok());

    let refusal = |c: &Client, d: &[u8]| open_bytes(c, d).unwrap_err().refusal().map(str::to_string);
    // Group membership is read at every open: carol leaves finance and is refused at once.
    let out = run(
        &w.home("alice"),
        None,
        &["admin", "--db", w.db().to_str().unwrap(), "group", "remove", "finance@example.com", "carol@example.com"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(refusal(&carol, &doc).as_deref(), Some("not_granted"));

    alice.revoke_label("L1", true, "label compromised").unwrap();
    assert_eq!(refusal(&bob, &doc).as_deref(), Some("label_revoked"));
    assert!(open_bytes(&bob, &other_label).is_ok());
    // A document protected after the label's revocation opens.
    let newer = protect_bytes(&alice, &finance, b"z");
    assert!(open_bytes(&bob, &newer).is_ok());
    alice.revoke_label("L1", false, "").unwrap();
    assert!(open_bytes(&bob, &doc).is_ok());

    alice.revoke_principal("bob@example.com", true, "left the company").unwrap();
    assert_eq!(refusal(&bob, &doc).as_deref(), Some("principal_revoked"));
    assert_eq!(refusal(&bob, &other_label).as_deref(), Some("principal_revoked"));
    alice.revoke_principal("bob@example.com", false, "").unwrap();
    assert!(open_bytes(&bob, &doc).is_ok());
    let out = run(
        &w.home("alice"),
        None,
        &["admin", "--db", w.db().to_str().unwrap(), "principal", "disable", "bob@example.com"],
    );
    assert!(out.status.success());
    assert_eq!(refusal(&bob, &doc).as_deref(), Some("principal_revoked"));
    run(&w.home("alice"), None, &["admin", "--db", w.db().to_str().unwrap(), "principal", "enable", "bob@example.com"]);

    // Expiry: good until, refused after; the owner keeps access, as in RMS.
    let soon = jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_secs(5)).unwrap();
    let expiring = protect_bytes(&alice, &ProtectRequest { not_after: Some(soon), ..finance.clone() }, b"e");
    assert!(open_bytes(&bob, &expiring).is_ok());
    let left = soon.duration_since(jiff::Timestamp::now()).unsigned_abs();
    std::thread::sleep(left + std::time::Duration::from_millis(500));
    assert_eq!(refusal(&bob, &expiring).as_deref(), Some("expired"));
    assert!(open_bytes(&alice, &expiring).is_ok());

    // Shredding destroys the key: nobody, the owner included, opens it again.
    let id = mamori_protect::container::read_header(&mut &doc[..]).unwrap().rights.doc_id;
    assert!(alice.shred(&id, "not-the-id").is_err());
    alice.shred(&id, &id).unwrap();
    assert_eq!(refusal(&alice, &doc).as_deref(), Some("shredded"));
    assert_eq!(alice.unrevoke(&id, "").unwrap_err().refusal(), Some("shredded"));
}

#[test]
fn offline_licenses_open_without_the_key_service_until_they_expire() {
    let w = World::new();
    w.user("alice", &["--admin"]);
    w.user("bob", &[]);
    w.user("carol", &[]);
    let mut ks = Server::start(&w.db());
    let (alice, bob) = (w.client("alice", &ks.url), w.client("bob", &ks.url));
    let request =
        ProtectRequest { grants: vec![grant("everyone@example.com=view")], offline_days: 7, ..Default::default() };
    let doc = protect_bytes(&alice, &request, b"offline");
    let online = protect_bytes(&alice, &ProtectRequest { offline_days: 0, ..request.clone() }, b"online");
    assert_eq!(open_bytes(&bob, &doc).unwrap(), b"offline");
    assert!(open_bytes(&bob, &online).is_ok());
    let id = mamori_protect::container::read_header(&mut &doc[..]).unwrap().rights.doc_id;
    alice.revoke(&id, "").unwrap();
    ks.kill();
    // The key service is gone: the licensed document opens (revocation waits for the license to
    // expire, the documented trade-off); the online-only one and an unlicensed user do not.
    let mut out = Vec::new();
    let opened = mamori_protect::open(&bob, Purpose::View, &doc[..], &mut out).unwrap();
    assert!(opened.offline && out == b"offline");
    assert!(matches!(open_bytes(&bob, &online), Err(mamori_protect::Error::Unreachable { .. })));
    assert!(open_bytes(&w.client("carol", &ks.url), &doc).is_err());
    // A license is bound to its user: copied to carol's home it does not open for her.
    let lic = |u: &str| w.home(u).join("licenses").join(format!("{id}.json"));
    std::fs::create_dir_all(lic("carol").parent().unwrap()).unwrap();
    std::fs::copy(lic("bob"), lic("carol")).unwrap();
    assert!(open_bytes(&w.client("carol", &ks.url), &doc).is_err());
    // An expired license is not honoured (and is dropped).
    let text = std::fs::read_to_string(lic("bob")).unwrap();
    let env: mamori_keys::rights::Envelope = serde_json::from_str(&text).unwrap();
    let mut tampered = env.clone();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut body: serde_json::Value = serde_json::from_slice(&b64.decode(&env.body).unwrap()).unwrap();
    body["exp"] = "2099-01-01T00:00:00Z".into();
    tampered.body = b64.encode(serde_json::to_vec(&body).unwrap());
    std::fs::write(lic("bob"), serde_json::to_vec(&tampered).unwrap()).unwrap();
    assert!(open_bytes(&bob, &doc).is_err(), "a license with a changed expiry was honoured");
}

#[test]
fn thirty_two_concurrent_opens_succeed_and_all_are_tracked() {
    let w = World::new();
    w.user("alice", &["--admin"]);
    w.user("bob", &[]);
    let ks = Server::start(&w.db());
    let alice = w.client("alice", &ks.url);
    let doc = protect_bytes(
        &alice,
        &ProtectRequest { grants: vec![grant("bob@example.com=view")], ..Default::default() },
        b"many",
    );
    let ok = std::thread::scope(|s| {
        let handles: Vec<_> = (0..32)
            .map(|_| {
                let (doc, url, w) = (&doc, &ks.url, &w);
                s.spawn(move || open_bytes(&w.client("bob", url), doc).map(|p| p == b"many"))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).filter(|r| matches!(r, Ok(true))).count()
    });
    assert_eq!(ok, 32);
    let id = mamori_protect::container::read_header(&mut &doc[..]).unwrap().rights.doc_id;
    let t = alice.track(&id, &Default::default()).unwrap();
    let opens = t.events.iter().filter(|e| e.action == "open" && e.decision == "allow").count();
    assert_eq!(opens, 32);
}

#[test]
fn a_key_service_killed_under_load_loses_no_document_it_acknowledged() {
    let w = World::new();
    w.user("alice", &["--admin"]);
    let mut ks = Server::start(&w.db());
    let url = ks.url.clone();
    let acked = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..4 {
            let (acked, url, w) = (&acked, &url, &w);
            s.spawn(move || {
                let c = w.client("alice", url);
                for i in 0.. {
                    let plain = format!("thread {t} doc {i}");
                    let mut out = Vec::new();
                    match mamori_protect::protect(&c, &ProtectRequest::default(), plain.as_bytes(), &mut out) {
                        Ok(_) => acked.lock().unwrap().push((plain, out)),
                        Err(_) => break,
                    }
                }
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(1500));
        ks.kill();
    });
    let acked = acked.into_inner().unwrap();
    assert!(acked.len() > 20, "only {} protects before the kill", acked.len());
    let ks = Server::start(&w.db());
    let alice = w.client("alice", &ks.url);
    for (plain, container) in &acked {
        assert_eq!(open_bytes(&alice, container).unwrap(), plain.as_bytes());
    }
}

#[test]
fn embedded_protection_needs_no_setup_and_writes_atomically() {
    let dir = common::scratch();
    let home = dir.path().join("home");
    assert!(run(&home, None, &["id", "init", "--name", "solo@example.com"]).status.success());
    let plain = dir.path().join("report.csv");
    let data: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
    std::fs::write(&plain, &data).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    let p = plain.to_str().unwrap();
    let out = run(&home, None, &["protect", p, "--label", "Confidential/All Employees", "--in-place"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(mamori_protect::peek(&plain).unwrap().is_some());
    // status and scan report it from its header, without keys; scan calls it ok, not an error.
    let doc = mamori_protect::peek(&plain).unwrap().unwrap().rights.doc_id;
    let st: serde_json::Value = serde_json::from_slice(&run(&home, None, &["status", p, "--json"]).stdout).unwrap();
    assert_eq!((st["is_protected"].as_bool(), st["label_name"].as_str()), (Some(true), Some("All Employees")));
    assert_eq!(
        (st["protection"]["content_id"].as_str(), st["protection"]["owner"].as_str()),
        (Some(doc.as_str()), Some("solo@example.com"))
    );
    let out = run(&home, None, &["scan", p, "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let item: serde_json::Value = serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!((item["format"].as_str(), item["status"].as_str()), (Some("mamori"), Some("ok")));
    assert_eq!(item["protection"]["label_name"], "Confidential/All Employees");
    // Labeling it in place is refused: its label lives in the signed header.
    assert!(text(&run(&home, None, &["label", "set", p, "--label", "Public"])).contains("protected by mamori"));
    // Protecting twice skips it; the file is unchanged.
    let before = std::fs::read(&plain).unwrap();
    let out = run(&home, None, &["protect", p, "--in-place"]);
    assert!(out.status.success() && text(&out).contains("skipped") && text(&out).contains("already protected"));
    assert_eq!(std::fs::read(&plain).unwrap(), before);
    // A directory is walked: its other file is protected, the protected one skipped.
    let share = dir.path().join("share");
    std::fs::create_dir(&share).unwrap();
    std::fs::copy(&plain, share.join("report.csv")).unwrap();
    let other = share.join("notes.txt");
    std::fs::write(&other, "hello").unwrap();
    let out = run(&home, None, &["protect", share.to_str().unwrap(), "--in-place", "--json"]);
    let statuses: Vec<String> = out
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(&l.unwrap()).unwrap()["status"].as_str().unwrap().to_string()
        })
        .collect();
    assert!(statuses.contains(&"success".to_string()) && statuses.contains(&"skipped".to_string()), "{statuses:?}");
    assert!(mamori_protect::peek(&other).unwrap().is_some());
    assert_eq!(std::fs::read(&plain).unwrap(), before);
    // The mamori home is never protected, even inside a walked directory.
    let out = run(&home, None, &["protect", home.to_str().unwrap(), "--in-place"]);
    assert!(out.status.success() && text(&out).contains("part of the mamori home"), "{}", text(&out));
    assert!(mamori_protect::peek(&home.join("identity.toml")).unwrap().is_none());
    let out = run(&home, None, &["rights", p, "--json"]);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["label"]["name"], "Confidential/All Employees");
    assert_eq!(r["offline_days"], 7);
    assert_eq!(r["grants"][0]["p"], "everyone@example.com");
    // A truncated copy fails and leaves nothing at the destination.
    let cut = dir.path().join("cut.mamori");
    std::fs::write(&cut, &before[..before.len() - 100]).unwrap();
    let dest = dir.path().join("out.csv");
    let out = run(&home, None, &["open", cut.to_str().unwrap(), "--out", dest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!dest.exists());
    assert!(std::fs::read_dir(dir.path()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".mamori-tmp")));
    let out = run(&home, None, &["unprotect", p]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read(&plain).unwrap(), data);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&plain).unwrap().permissions().mode() & 0o777, 0o640);
    }
}

/// One decision function for every transport: the same answers in-process and over HTTP
/// (OpenTDF once had a key path that skipped its checks).
#[test]
fn every_transport_reaches_the_same_decisions() {
    let w = World::new();
    w.user("alice", &["--admin"]);
    w.user("mallory", &[]);
    let ks = Server::start(&w.db());
    let transport = |kind: &str| -> Box<dyn Transport> {
        match kind {
            "http" => Box::new(Http::new(&ks.url)),
            // In this process over the same store, as `mamori admin` and embedded mode reach it.
            _ => Box::new(Embedded::new(mamori_keys::KeyService::open_sqlite(&w.db()).unwrap())),
        }
    };
    let client = |user: &str, kind: &str| {
        let home = w.home(user);
        Client::new(transport(kind), Identity::load(&home).unwrap(), &home)
    };
    let alice = client("alice", "http");
    let request = ProtectRequest { grants: vec![grant("bob@example.com=view")], ..Default::default() };
    let (plain, revoked, shredded) = (
        protect_bytes(&alice, &request, b"p"),
        protect_bytes(&alice, &request, b"r"),
        protect_bytes(&alice, &request, b"s"),
    );
    let id = |c: &[u8]| mamori_protect::container::read_header(&mut &c[..]).unwrap().rights.doc_id;
    alice.revoke(&id(&revoked), "").unwrap();
    alice.shred(&id(&shredded), &id(&shredded)).unwrap();
    let code = |r: Result<(), mamori_protect::Error>| match r {
        Ok(()) => "ok".to_string(),
        Err(e) => e.refusal().map(str::to_string).unwrap_or_else(|| e.to_string()),
    };
    let answers = |kind: &str| {
        let (alice, mallory) = (client("alice", kind), client("mallory", kind));
        vec![
            code(open_bytes(&alice, &plain).map(drop)),
            code(open_bytes(&mallory, &plain).map(drop)),
            code(open_bytes(&alice, &revoked).map(drop)),
            code(open_bytes(&alice, &shredded).map(drop)),
            code(mallory.revoke(&id(&plain), "").map(drop)),
            code(mallory.audit(&Default::default()).map(drop)),
            code(mallory.revoke_label("L", true, "").map(drop)),
            code(mallory.track(&id(&plain), &Default::default()).map(drop)),
        ]
    };
    let want = ["ok", "not_granted", "revoked", "shredded", "not_owner", "not_admin", "not_admin", "not_owner"];
    assert_eq!(answers("http"), want);
    assert_eq!(answers("in-process"), want);
}
