//! End-to-end tests of the `mamori` binary on the bundled corpus and on hostile input.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mamori(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mamori"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("mamori runs")
}

fn jsonl(out: &Output) -> (Vec<Value>, Value) {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let mut items: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    let summary = items.pop().expect("a summary line");
    assert!(summary.get("path").is_none(), "the summary has no path");
    (items, summary)
}

fn item<'a>(items: &'a [Value], suffix: &str) -> &'a Value {
    items.iter().find(|i| i["path"].as_str().unwrap().ends_with(suffix)).unwrap_or_else(|| panic!("no item {suffix}"))
}

#[test]
fn corpus_scan_follows_the_jsonl_contract() {
    let out = mamori(&["scan", "corpus/share", "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(1), "findings exit 1: {}", String::from_utf8_lossy(&out.stderr));
    let (items, summary) = jsonl(&out);
    for i in &items {
        for key in ["path", "format", "status", "error", "findings"] {
            assert!(i.get(key).is_some(), "{key} missing in {i}");
        }
        for f in i["findings"].as_array().unwrap() {
            let best =
                f["matches"].as_array().unwrap().iter().map(|m| m["confidence"].as_str().unwrap()).max_by_key(|c| {
                    match *c {
                        "high" => 3,
                        "medium" => 2,
                        _ => 1,
                    }
                });
            assert_eq!(f["confidence"].as_str(), best, "finding confidence is its best match's");
            assert_eq!(f["count"].as_u64().unwrap() as usize, f["matches"].as_array().unwrap().len());
            for m in f["matches"].as_array().unwrap() {
                assert!(m["offset"].is_u64() && m["value"].is_string());
            }
        }
    }
    let roster = item(&items, "hr/roster-sjis.csv");
    assert_eq!(roster["status"], "ok");
    let mn = roster["findings"].as_array().unwrap().iter().find(|f| f["type"] == "jp-my-number").unwrap();
    assert_eq!(mn["confidence"], "high");
    let v = mn["matches"][0]["value"].as_str().unwrap();
    assert!(v.contains('*'), "values are masked by default: {v}");
    assert_eq!(item(&items, "misc/blob.bin")["status"], "skipped");
    assert_eq!(item(&items, "misc/logo.png")["format"], "png");
    assert!(summary["summary"]["skipped"].as_u64().unwrap() >= 2);
}

#[test]
fn every_encoding_of_the_corpus_is_decoded() {
    let out = mamori(&["scan", "corpus/share", "--format", "jsonl", "--only", "jp-my-number,credit-card-number"]);
    let (items, _) = jsonl(&out);
    for (file, enc) in [
        ("roster-utf8.txt", "UTF-8"),
        ("roster-sjis.csv", "Shift_JIS"),
        ("roster-eucjp.txt", "EUC-JP"),
        ("payments-utf16le.txt", "UTF-16LE"),
        ("vendors-utf16be.txt", "UTF-16BE"),
        ("call-log-bom.txt", "UTF-8"),
    ] {
        assert_eq!(item(&items, file)["encoding"], enc, "{file}");
    }
}

#[test]
fn reveal_prints_values_and_offsets_point_at_them() {
    let dir = tempfile::tempdir().unwrap();
    let text = "お客様のクレジットカード番号は4111111111111111です。\nTEL 03-1234-5678\n";
    std::fs::write(dir.path().join("a.txt"), text).unwrap();
    let out = mamori(&["scan", dir.path().to_str().unwrap(), "--format", "jsonl", "--reveal"]);
    let (items, _) = jsonl(&out);
    let f = items[0]["findings"].as_array().unwrap().iter().find(|f| f["type"] == "credit-card-number").unwrap();
    let m = &f["matches"][0];
    assert_eq!(m["value"], "4111111111111111");
    let off = m["offset"].as_u64().unwrap() as usize;
    assert_eq!(&text[off..off + 16], "4111111111111111");
    assert_eq!(m["line"], 1);
}

#[test]
fn exit_codes_say_clean_found_or_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("clean.txt"), "nothing to see here").unwrap();
    assert_eq!(mamori(&["scan", dir.path().to_str().unwrap()]).status.code(), Some(0));
    let missing = dir.path().join("vanished.txt");
    let out = mamori(&["scan", missing.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    let (items, _) = jsonl(&out);
    assert_eq!(items[0]["status"], "error");
    assert!(items[0]["error"].as_str().unwrap().contains("No such file"), "{}", items[0]);
    assert_eq!(mamori(&["scan", "--min-confidence", "bogus", "x"]).status.code(), Some(2));
}

#[test]
fn bad_input_is_reported_per_item_and_never_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("binary.dat"), b"\x00\x01\x02\x03garbage\x00").unwrap();
    std::fs::write(p("invalid.txt"), b"caf\xe9 \xff\xfe\xfd broken \x80 bytes, card number 4111111111111111").unwrap();
    // huge: larger than one window, with a value straddling the first window boundary
    let mut big = "lorem ipsum dolor sit amet ".repeat(400_000).into_bytes();
    let at = 8 << 20;
    big.splice(at - 6..at - 6, b" card number 4111 1111 1111 1111 ".iter().copied());
    std::fs::write(p("huge.log"), &big).unwrap();
    std::fs::write(p("ok.txt"), "個人番号：6214 9832 0257").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(p("locked.txt"), "secret").unwrap();
        std::fs::set_permissions(p("locked.txt"), std::fs::Permissions::from_mode(0o000)).unwrap();
        let fifo = p("pipe");
        let _ = Command::new("mkfifo").arg(&fifo).status();
    }
    let out = mamori(&["scan", dir.path().to_str().unwrap(), "--format", "jsonl", "--max-filesize", "50000000"]);
    let (items, summary) = jsonl(&out);
    assert_eq!(item(&items, "binary.dat")["status"], "skipped");
    let invalid = item(&items, "invalid.txt");
    assert_eq!(invalid["status"], "ok");
    assert_eq!(invalid["findings"][0]["type"], "credit-card-number");
    let huge = item(&items, "huge.log");
    assert_eq!(huge["findings"][0]["count"], 1, "the value on the window boundary is found once: {huge}");
    assert_eq!(item(&items, "ok.txt")["findings"][0]["type"], "jp-my-number");
    if Path::new(&dir.path().join("pipe")).exists() {
        assert_eq!(item(&items, "pipe")["status"], "skipped");
    }
    // root can read anything; elsewhere the locked file is an error with a reason
    let locked = item(&items, "locked.txt");
    assert!(locked["status"] == "ok" || locked["error"].as_str().unwrap().contains("ermission"), "{locked}");
    assert!(summary["summary"]["items"].as_u64().unwrap() >= 5);
    let out = mamori(&["scan", p("huge.log").to_str().unwrap(), "--format", "jsonl", "--max-filesize", "1000"]);
    let (items, _) = jsonl(&out);
    assert_eq!(items[0]["status"], "skipped");
    assert!(items[0]["error"].as_str().unwrap().contains("size limit"));
}

#[test]
fn eval_f1_at_medium_stays_above_097() {
    let out = mamori(&["eval", "corpus", "--json", "--min-confidence", "medium"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let ev: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f1 = ev["overall"]["f1"].as_f64().unwrap();
    assert!(
        f1 >= 0.97,
        "overall F1 {f1} < 0.97; misses {} false alarms {}",
        ev["false_negatives"],
        ev["false_positives"]
    );
    for id in ["jp-my-number", "credit-card-number", "jp-corporate-number", "iban", "email-address", "us-ssn"] {
        assert!(ev["per_type"][id]["true_positives"].as_u64().unwrap() > 0, "{id} is in the corpus");
    }
}

/// Floors on the independent corpus at >= medium (the issue's bar: 0.97 overall, 0.90 per
/// type, no type's precision under 0.95).
const INDEPENDENT_F1: f64 = 0.97;
const INDEPENDENT_TYPE_F1: f64 = 0.90;
const INDEPENDENT_TYPE_PRECISION: f64 = 0.95;

/// The independent corpus (`corpus/independent/`, written from a description of real
/// documents before and apart from the rules): floors, not a target the rules were tuned to.
#[test]
fn eval_on_the_independent_corpus_holds_its_floors() {
    let out = mamori(&["eval", "corpus", "--json", "--min-confidence", "medium"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let ev: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ind = &ev["corpora"]["independent"];
    let f1 = ind["overall"]["f1"].as_f64().unwrap();
    assert!(f1 >= INDEPENDENT_F1, "independent corpus F1 {f1} < {INDEPENDENT_F1}");
    for (id, s) in ind["per_type"].as_object().unwrap() {
        let (p, f) = (s["precision"].as_f64().unwrap(), s["f1"].as_f64().unwrap());
        assert!(f >= INDEPENDENT_TYPE_F1 && p >= INDEPENDENT_TYPE_PRECISION, "{id}: precision {p}, F1 {f}");
    }
}

/// Rosters keep the keyword in the header only: every row of the column is found with it, in
/// a CSV of any encoding, and counted as often as it occurs.
#[test]
fn csv_headers_label_every_row_and_every_occurrence_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("社員番号,氏名,個人番号,電話番号\r\n");
    let numbers = ["621498320257", "328186620114", "129772769310"];
    for i in 0..300 {
        csv.push_str(&format!("{:06},\"佐藤, 花子\",{},090-1234-{:04}\r\n", 200000 + i, numbers[i % 3], i));
    }
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&csv);
    std::fs::write(dir.path().join("roster.csv"), &sjis).unwrap();
    let out = mamori(&["scan", dir.path().to_str().unwrap(), "--format", "jsonl", "--reveal"]);
    let (items, _) = jsonl(&out);
    let f = items[0]["findings"].as_array().unwrap().iter().find(|f| f["type"] == "jp-my-number").unwrap().clone();
    assert_eq!(f["count"], 300, "{f}");
    let matches = f["matches"].as_array().unwrap();
    assert_eq!(matches.len(), 3, "distinct values, each with its count");
    for m in matches {
        assert_eq!((m["confidence"].as_str(), m["count"].as_u64()), (Some("high"), Some(100)), "{m}");
    }
    let phones = items[0]["findings"].as_array().unwrap().iter().find(|f| f["type"] == "jp-phone-number").unwrap();
    assert_eq!(phones["confidence"], "high");
    // CSV: one row per distinct value, its count in the appended `value_count` column
    let out = mamori(&["scan", dir.path().to_str().unwrap(), "--format", "csv", "--only", "jp-my-number"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().ends_with(",part,value_count"), "{text}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(rows.iter().all(|r| r.ends_with(",100")), "{text}");
}

#[test]
fn iso_2022_jp_text_is_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let (jis, _, _) = encoding_rs::ISO_2022_JP.encode("社員各位\nマイナンバー：6214 9832 0257 を提出してください。\n");
    std::fs::write(dir.path().join("notice.txt"), &jis).unwrap();
    let out = mamori(&["scan", dir.path().to_str().unwrap(), "--format", "jsonl"]);
    let (items, _) = jsonl(&out);
    assert_eq!(items[0]["encoding"], "ISO-2022-JP");
    assert_eq!(items[0]["findings"][0]["type"], "jp-my-number");
    assert_eq!(items[0]["findings"][0]["confidence"], "high");
}

#[test]
fn user_types_load_override_and_check_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"
[[type]]
id = "acme-employee-id"
name = "ACME employee id"
category = "internal-id"
[[type.pattern]]
regex = '''\bACME-\d{6}\b'''
[type.keywords.staff]
terms = ["社員番号", "employee id"]
[[type.confidence]]
level = "high"
all = ["staff"]
[[type.confidence]]
level = "low"
[[type.example]]
text = "社員番号 ACME-123456"
confidence = "high"
"#;
    std::fs::write(dir.path().join("acme.toml"), good).unwrap();
    let d = dir.path().to_str().unwrap();
    let out = mamori(&["types", "check", d]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let data = dir.path().join("data.txt");
    std::fs::write(&data, "社員番号 ACME-654321").unwrap();
    let out = mamori(&["scan", "--types", d, "--only", "acme-employee-id", data.to_str().unwrap(), "-f", "jsonl"]);
    let (items, _) = jsonl(&out);
    assert_eq!(items[0]["findings"][0]["type"], "acme-employee-id");

    let bad = PathBuf::from(d).join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("x.toml"), good.replace("level = \"low\"", "level = \"sure\"")).unwrap();
    let out = mamori(&["types", "check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("x.toml:14: type acme-employee-id: confidence[1].level"), "{err}");
}

#[test]
fn types_list_shows_the_catalog() {
    let out = mamori(&["types", "list", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.as_array().unwrap().len() >= 50);
    let out = mamori(&["types", "patterns"]);
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() >= 50);
}

/// Every document format is read, by content, with the place of each value.
#[test]
fn documents_are_read_with_the_part_of_each_value() {
    let out = mamori(&["scan", "corpus/share/office", "--format", "jsonl", "--reveal"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let (items, _) = jsonl(&out);
    let formats = [
        ("hr-list.docx", "docx"),
        ("hr-list.odt", "odt"),
        ("hr-list.doc", "doc"),
        ("hr-list.rtf", "rtf"),
        ("hr-list.pdf", "pdf"),
        ("payroll.xlsx", "xlsx"),
        ("payroll.ods", "ods"),
        ("payroll.xls", "xls"),
        ("deck.pptx", "pptx"),
        ("deck.odp", "odp"),
        ("deck.ppt", "ppt"),
        ("mail.eml", "eml"),
        ("member.html", "html"),
        ("export.xml", "xml"),
        ("records.zip", "zip"),
        ("logs.tar.gz", "gz"),
        ("mail.eml!payroll.xlsx", "xlsx"),
        ("records.zip!inner.zip!hr-list.docx", "docx"),
        ("logs.tar.gz!logs.tar", "tar"),
    ];
    for (name, format) in formats {
        let it = item(&items, &format!("office/{name}"));
        assert_eq!(it["format"], format, "{it}");
        assert_eq!(it["status"], "ok", "{it}");
    }
    for (name, format) in formats.iter().filter(|(_, f)| !matches!(*f, "zip" | "gz" | "tar")) {
        assert!(!item(&items, &format!("office/{name}"))["findings"].as_array().unwrap().is_empty(), "{format}");
    }
    assert!(item(&items, "hr-list.doc")["note"].as_str().unwrap().contains("best effort"));
    // where each value is: parts, cells, slides, pages
    let parts = |name: &str, type_id: &str| -> Vec<String> {
        let it = item(&items, &format!("office/{name}"));
        let f = it["findings"].as_array().unwrap().iter().find(|f| f["type"] == type_id).expect(type_id);
        f["matches"].as_array().unwrap().iter().map(|m| m["part"].as_str().unwrap_or("").to_string()).collect()
    };
    let docx_phone = parts("hr-list.docx", "jp-phone-number");
    assert!(docx_phone.contains(&"word/footer1.xml".to_string()), "{docx_phone:?}");
    assert!(parts("hr-list.docx", "email-address").contains(&"word/comments.xml".to_string()));
    assert_eq!(parts("payroll.xlsx", "jp-my-number")[0], "給与!B2");
    assert_eq!(parts("payroll.xlsx", "us-ssn")[0], "'US staff'!B2");
    assert!(parts("deck.pptx", "jp-my-number").iter().all(|p| p == "slide 2 notes"));
    assert!(parts("deck.pptx", "credit-card-number").iter().all(|p| p == "slide 2"));
    assert!(parts("hr-list.pdf", "jp-my-number").iter().all(|p| p == "page 1"));
    // a My Number stored as a number reads as its digits; one split across Word runs is whole
    let xlsx = item(&items, "office/payroll.xlsx");
    let my_number = &xlsx["findings"].as_array().unwrap().iter().find(|f| f["type"] == "jp-my-number").unwrap();
    assert!(my_number["matches"][0]["value"].as_str().unwrap().bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(parts("hr-list.docx", "jp-my-number").len(), 4);
}

/// Hostile input ends as a status with a reason, never a crash or a hang; good parts still count.
#[test]
fn hostile_fixtures_are_reported_with_reasons() {
    let out = mamori(&["scan", "corpus/hostile", "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let (items, summary) = jsonl(&out);
    let expect = [
        ("fail_truncated.docx", "error", "zip"),
        ("fail_zip-bomb.zip!zeros.txt", "skipped", "zip bomb"),
        ("level8.zip!level9.zip", "skipped", "nested deeper than 8"),
        ("fail_xml-entities.docx", "error", "DOCTYPE"),
        ("fail_malformed.pdf", "error", "PDF"),
        ("fail_encrypted.pdf", "skipped", "password-protected PDF"),
        ("fail_encrypted.docx", "skipped", "EncryptedPackage"),
        ("fail_password.zip!hr.docx", "skipped", "password-protected zip"),
    ];
    for (name, status, reason) in expect {
        let it = item(&items, name);
        assert_eq!(it["status"], status, "{it}");
        assert!(it["error"].as_str().unwrap().contains(reason), "{it}");
    }
    // the entity bomb's other parts are still read
    assert!(!item(&items, "fail_xml-entities.docx")["findings"].as_array().unwrap().is_empty());
    assert_eq!(summary["summary"]["skipped"], 5);
    assert!(summary["summary"]["skipped_reasons"].as_object().unwrap().len() >= 4);
    // limits are options
    let out = mamori(&["scan", "corpus/share/office/records.zip", "--max-depth", "0", "--format", "jsonl"]);
    let (items, _) = jsonl(&out);
    assert_eq!(item(&items, "records.zip!inner.zip")["error"], "nested deeper than 0 levels");
}

/// Standard input is sniffed like a file: a document piped in is read as a document.
#[test]
fn documents_on_standard_input() {
    let docx = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/share/office/hr-list.docx")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mamori"))
        .args(["scan", "-", "--format", "jsonl"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&docx).unwrap();
    let out = child.wait_with_output().unwrap();
    let (items, _) = jsonl(&out);
    assert_eq!(items[0]["format"], "docx");
    assert!(!items[0]["findings"].as_array().unwrap().is_empty());
}
