//! The inventory end to end: `mamori scan --index` twice in a row skips what did not change,
//! sees edits, labels, deletions, and catalog or policy changes; `--enforce` labels and
//! records what it wrote; `mamori search` finds the mislabeled files; `mamori report` writes a
//! DetailedReport CSV that LibreOffice Calc reads and an HTML dashboard that headless
//! Chromium renders with the right totals and no script error.
//!
//! Needs `chromium` and `soffice` for the report test (`.ci/run` installs them through
//! `scripts/install-test-tools`). Under `CI=true` a missing program fails the test.
mod common;
use common::{repo, scratch};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn mamori(home: &Path, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mamori"))
        .args(args)
        .current_dir(dir)
        .env("MAMORI_HOME", home)
        .env_remove("MAMORI_INDEX")
        .env_remove("MAMORI_KEY_SERVICE")
        .output()
        .expect("mamori runs")
}

fn json_lines(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A scan with `--index` in JSON Lines: the files it printed (scanned again) and the summary.
fn scan(home: &Path, dir: &Path, extra: &[&str]) -> (BTreeSet<String>, Value) {
    let mut args = vec!["scan", "--index", "--format", "jsonl", "--no-progress", "share"];
    args.extend(extra);
    let o = mamori(home, dir, &args);
    assert!(o.status.code().is_some_and(|c| c <= 2), "{}", String::from_utf8_lossy(&o.stderr));
    let mut lines = json_lines(&o);
    let summary = lines.pop().unwrap()["summary"].clone();
    let files = lines.iter().filter(|l| l["nested"] != true).map(|l| l["path"].as_str().unwrap().to_string());
    (files.filter(|p| !p.contains('!')).collect(), summary)
}

/// The corpus's share, with its hostile files (corrupt ones fail, and are retried each scan).
fn copy_share(dir: &Path) {
    let cp = |from: &str, to: &Path| Command::new("cp").arg("-r").arg(repo(from)).arg(to).status().unwrap().success();
    assert!(cp("corpus/share", &dir.join("share")) && cp("corpus/hostile", &dir.join("share/hostile")));
}

fn search(home: &Path, dir: &Path, query: &str) -> Vec<String> {
    let o = mamori(home, dir, &["search", "--json", query]);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
    json_lines(&o).iter().map(|r| r["path"].as_str().unwrap().to_string()).collect()
}

#[test]
fn rescans_skip_what_did_not_change() {
    let (tmp, home) = (scratch(), scratch());
    let dir = tmp.path();
    copy_share(dir);
    let files = walk_count(&dir.join("share"));

    let (first, s1) = scan(home.path(), dir, &[]);
    assert_eq!(first.len() as u64, files);
    assert_eq!(s1["unchanged"], 0);
    let failed: BTreeSet<String> = {
        let o = mamori(home.path(), dir, &["search", "--json", "status:error nested:false"]);
        let root = format!("{}/", dir.canonicalize().unwrap().display());
        json_lines(&o).iter().map(|r| r["path"].as_str().unwrap().strip_prefix(&root).unwrap().to_string()).collect()
    };
    assert!(!failed.is_empty(), "the corpus has corrupt files");

    // nothing changed: only the files that failed are read again
    let (second, s2) = scan(home.path(), dir, &[]);
    assert_eq!(s2["unchanged"].as_u64().unwrap(), files - failed.len() as u64);
    assert_eq!(second.len(), failed.len(), "{second:?}");
    assert!(s2["unchanged_with_findings"].as_u64().unwrap() > 10);

    // an edit, a label written into an Office file, and a deletion
    let roster = dir.join("share/hr/roster-utf8.txt");
    let mut text = fs::read_to_string(&roster).unwrap();
    text.push_str("追加 マイナンバー 6214 9832 0257\n");
    fs::write(&roster, text).unwrap();
    let o = mamori(home.path(), dir, &["label", "set", "--label", "Public", "share/office/payroll.xlsx"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    fs::remove_file(dir.join("share/office/deck.pptx")).unwrap();
    let (third, s3) = scan(home.path(), dir, &[]);
    let changed: BTreeSet<String> = ["share/hr/roster-utf8.txt", "share/office/payroll.xlsx"].map(String::from).into();
    assert_eq!(third.difference(&failed).cloned().collect::<BTreeSet<_>>(), changed);
    assert_eq!(s3["removed"], 1);
    assert_eq!(search(home.path(), dir, "path:share/office/deck.pptx"), Vec::<String>::new());

    // the query that finds the mislabeled: sensitive content under a label too low for it
    let abs = |p: &str| dir.join(p).canonicalize().unwrap().display().to_string();
    let mislabeled = search(home.path(), dir, "label:Public AND posture:underlabeled");
    assert_eq!(mislabeled, [abs("share/office/payroll.xlsx")]);
    assert_eq!(search(home.path(), dir, "type:jp-my-number AND label:Public"), mislabeled);
    let o = mamori(home.path(), dir, &["search", "--count", "path:share/hr/*"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "4");
    let o = mamori(home.path(), dir, &["search", "--count", "label:Secret"]);
    assert_eq!((o.status.code(), String::from_utf8_lossy(&o.stdout).trim()), (Some(1), "0"));
    let o = mamori(home.path(), dir, &["search", "colour:red"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown field \"colour\""));

    // new times on the same content: --rehash decides by content, and keeps the new times
    let csv = dir.join("share/hr/roster-sjis.csv");
    fs::File::options()
        .write(true)
        .open(&csv)
        .unwrap()
        .set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000))
        .unwrap();
    let (rehashed, _) = scan(home.path(), dir, &["--rehash"]);
    assert!(!rehashed.contains("share/hr/roster-sjis.csv"), "{rehashed:?}");
    let (after, _) = scan(home.path(), dir, &[]);
    assert_eq!(after, failed);

    // another catalog (scan options included) or another policy rescans everything
    let (narrowed, s) = scan(home.path(), dir, &["--only", "jp-my-number,email-address"]);
    assert_eq!((narrowed.len() as u64, s["unchanged"].as_u64()), (files - 1, Some(0)));
    let labels = dir.join("labels");
    fs::create_dir(&labels).unwrap();
    fs::copy(repo("labels/taxonomy.toml"), labels.join("taxonomy.toml")).unwrap();
    let policy = fs::read_to_string(repo("labels/policy.toml")).unwrap();
    fs::write(labels.join("policy.toml"), policy.replace("default_label = \"Internal\"", "default_label = \"Public\""))
        .unwrap();
    // a policy change decides labels again from the inventory, without reading content
    let default_public = "action:\"*would be labeled public (default label)\"";
    assert_eq!(search(home.path(), dir, default_public), Vec::<String>::new());
    let (repoliced, s) = scan(home.path(), dir, &["--only", "jp-my-number,email-address", "--labels", "labels"]);
    assert_eq!(repoliced, failed);
    assert_eq!(s["unchanged"].as_u64().unwrap(), files - 1 - failed.len() as u64);
    let public = search(home.path(), dir, default_public);
    assert!(public.len() > 3, "{public:?}");
    let (reset, s) = scan(home.path(), dir, &["--reset"]);
    assert_eq!((reset.len() as u64, s["unchanged"].as_u64()), (files - 1, Some(0)));
}

fn walk_count(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| if e.file_type().unwrap().is_dir() { walk_count(&e.path()) } else { 1 })
        .sum()
}

#[test]
fn a_scan_reports_what_the_policy_would_do_and_enforce_does_it() {
    let (tmp, home) = (scratch(), scratch());
    let dir = tmp.path();
    fs::create_dir_all(dir.join("share")).unwrap();
    for f in ["hr/roster-utf8.txt", "office/payroll.xlsx", "office/hr-list.docx"] {
        fs::copy(repo("corpus/share").join(f), dir.join("share").join(Path::new(f).file_name().unwrap())).unwrap();
    }
    let xlsx = dir.join("share/payroll.xlsx");
    let before = fs::read(&xlsx).unwrap();

    // discovery: the what-if is in the report, and nothing changes
    let o = mamori(home.path(), dir, &["scan", "--format", "jsonl", "share/payroll.xlsx"]);
    let item = &json_lines(&o)[0];
    let c = &item["classification"];
    assert_eq!(c["label"], Value::Null);
    assert_eq!(c["applied_label"], "Confidential/Restricted");
    assert_eq!(c["recommended_label"], "Confidential/Restricted");
    assert!(c["comment"].as_str().unwrap().starts_with("what-if: would be labeled Confidential/Restricted"));
    assert_eq!(fs::read(&xlsx).unwrap(), before);

    // enforcement: the per-file lines of `label set`, and the inventory keeps what was written
    let o = mamori(home.path(), dir, &["scan", "--enforce", "--no-protect", "--index", "share"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("success  share/payroll.xlsx: labeled Confidential/Restricted"), "{out}");
    assert_eq!(out.lines().filter(|l| l.starts_with("success ")).count(), 3, "{out}");
    assert_ne!(fs::read(&xlsx).unwrap(), before);
    let o = mamori(home.path(), dir, &["status", "--json", "share/payroll.xlsx"]);
    assert_eq!(json_lines(&o)[0]["label_name"], "Restricted");
    assert_eq!(search(home.path(), dir, "posture:underlabeled"), Vec::<String>::new());
    assert_eq!(search(home.path(), dir, "label:Confidential/Restricted nested:false").len(), 3);
    let (rescanned, s) = scan(home.path(), dir, &[]);
    assert!(rescanned.is_empty(), "{rescanned:?}");
    assert_eq!(s["unchanged"], 3);

    // where the label's template protects, enforcement encrypts the file in place
    fs::copy(repo("corpus/share/hr/roster-sjis.csv"), dir.join("share/roster.csv")).unwrap();
    let o = mamori(home.path(), dir, &["scan", "--enforce", "--index", "share/roster.csv"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("failed   share/roster.csv: labeled Confidential/Restricted") && out.contains("mamori id init"),
        "{out}"
    );
    assert!(mamori(home.path(), dir, &["id", "init", "--name", "alice@example.com"]).status.success());
    let o = mamori(home.path(), dir, &["scan", "--enforce", "--index", "share/roster.csv"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("; protected (document "), "{out}");
    let status = &json_lines(&mamori(home.path(), dir, &["status", "--json", "share/roster.csv"]))[0];
    assert_eq!((status["is_protected"].as_bool(), status["label_name"].as_str()), (Some(true), Some("Restricted")));
    assert_eq!(search(home.path(), dir, "protected:true label:Confidential").len(), 1);
}

/// Chromium and LibreOffice are here (see `programs_present`).
fn browser_and_calc() -> bool {
    common::programs_present(
        "report test",
        &[("chromium", &["chromium", "--version"]), ("soffice", &["soffice", "--version"])],
    )
}

#[test]
fn reports_open_in_calc_and_render_in_a_browser() {
    if !browser_and_calc() {
        return;
    }
    let (tmp, home) = (scratch(), scratch());
    let dir = tmp.path();
    copy_share(dir);
    // a local key service with one allowed and one denied open, for the access section
    assert!(mamori(home.path(), dir, &["id", "init", "--name", "alice@example.com"]).status.success());
    fs::copy(dir.join("share/hr/roster-utf8.txt"), dir.join("secret.txt")).unwrap();
    let o = mamori(home.path(), dir, &["protect", "secret.txt", "--out", "share/secret.txt.mamori"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(mamori(home.path(), dir, &["open", "share/secret.txt.mamori"]).status.success());
    scan(home.path(), dir, &[]);

    let o = mamori(home.path(), dir, &["report", "--format", "json"]);
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let totals = &report["totals"];
    let items = report["items"].as_array().unwrap();
    assert_eq!(totals["files"].as_u64().unwrap(), walk_count(&dir.join("share")));
    assert_eq!(totals["protected"], 1);
    assert_eq!(totals["items"].as_u64().unwrap(), items.len() as u64);

    // CSV: the DetailedReport columns, one row per item; LibreOffice Calc reads the same rows
    let o = mamori(home.path(), dir, &["report", "--format", "csv", "--out", "report.csv"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut rows = csv::Reader::from_path(dir.join("report.csv")).unwrap();
    let header: Vec<String> = rows.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header[..11],
        [
            "Repository",
            "File Name",
            "Status",
            "Comment",
            "Current Label",
            "Current Label ID",
            "Applied Label",
            "Applied Label ID",
            "Condition Name",
            "Information Type Name",
            "Action"
        ]
    );
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), items.len());
    let profile = dir.join("lo-profile");
    let o = Command::new("soffice")
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .args(["--headless", "--norestore", "--infilter=CSV:44,34,76,1", "--convert-to", "ods", "--outdir", "calc"])
        .arg(dir.join("report.csv"))
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new("soffice")
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .args(["--headless", "--norestore", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1", "--outdir"])
        .arg("back")
        .arg("calc/report.ods")
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let back: Vec<csv::StringRecord> =
        csv::Reader::from_path(dir.join("back/report.csv")).unwrap().records().map(Result::unwrap).collect();
    assert_eq!(back.len(), records.len());
    assert_eq!(back[0].get(1), records[0].get(1));

    // HTML: one file, nothing fetched, rendered by Chromium with the totals and no script error
    let o = mamori(home.path(), dir, &["report", "--out", "report.html"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(!page.contains("src=\"http") && !page.contains("href=\"http") && !page.contains("url("));
    let o = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", dir.join("chromium").display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", dir.join("report.html").display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&o.stdout);
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{log}");
    assert!(dom.contains("<html lang=\"en\" data-ready=\"1\">"), "the script did not finish: {log}");
    assert!(dom.contains("<pre id=\"script-errors\" hidden=\"\"></pre>"), "script errors: {dom}");
    assert!(!log.contains("Uncaught"), "{log}");
    for (card, key) in [("files", "files"), ("sensitive", "with_sensitive_content"), ("protected", "protected")] {
        let n = totals[key].as_u64().unwrap();
        assert!(dom.contains(&format!("id=\"total-{card}\" data-count=\"{n}\"")), "{card} ≠ {n}");
    }
    assert!(dom.contains("<td>jp-my-number</td>"));
    assert!(dom.contains("id=\"tree\""));
    // the access log: alice's protect and open, allowed
    assert!(dom.contains("id=\"access\""), "no access events: {dom}");
    assert!(dom.contains("<td>alice@example.com</td>"));
}
