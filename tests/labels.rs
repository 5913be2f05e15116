//! End-to-end tests of labeling: status, set, relabel, remove and classify on real documents,
//! the Excel-labeled fixture, refusals that leave files untouched, and a process killed while
//! it writes.

mod common;

use common::{cfb_streams, raw_members, repo, scratch};
use serde_json::Value;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Output};

const RESTRICTED: &str = "0f57ecdd-7847-409e-973a-2864fb8938a6";
const SITE: &str = "c37a12d5-f566-419a-bb33-0d631118fd5e";

fn mamori(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mamori")).args(args).current_dir(dir).output().expect("mamori runs")
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn one(dir: &Path, args: &[&str]) -> Value {
    let out = mamori(dir, args);
    let mut v = lines(&out);
    assert_eq!(v.len(), 1, "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    v.remove(0)
}

fn status(dir: &Path, file: &str) -> Value {
    one(dir, &["status", file, "--json"])
}

/// Members of `before` that the label does not own are byte for byte the same in `after`.
fn assert_untouched(before: &Path, after: &Path) {
    let label_parts =
        ["[Content_Types].xml", "_rels/.rels", "docProps/custom.xml", "docMetadata/LabelInfo.xml", "meta.xml"];
    let after = raw_members(after);
    for m in raw_members(before) {
        if label_parts.contains(&m.0.as_str()) {
            continue;
        }
        let a = after.iter().find(|a| a.0 == m.0).unwrap_or_else(|| panic!("{} lost", m.0));
        assert_eq!(*a, m, "{} changed", m.0);
    }
}

#[test]
fn the_excel_labeled_fixture_reads_back_exactly() {
    let s = status(&repo("."), "tests/data/mip/excel-labeled-confidential.xlsx");
    assert_eq!(s["is_labeled"], true);
    assert_eq!(s["label_name"], "Confidential");
    assert_eq!(s["label_id"], "2096f6a2-d2f7-48be-b329-b73aaa526e5d");
    assert_eq!(s["site_id"], "cb46c030-1825-4e81-a295-151c039dbf02");
    assert_eq!(s["labeling_method"], "Privileged");
    assert_eq!(s["label_date"], "2024-01-01T12:00:00Z");
    assert_eq!(s["metadata"], "custom.xml");
    let csv = mamori(&repo("."), &["status", "--csv", "tests/data/mip/excel-labeled-confidential.xlsx"]);
    let text = String::from_utf8(csv.stdout).unwrap();
    assert!(text.starts_with("FileName,IsLabeled,LabelId,LabelName,"), "{text}");
    assert!(text.contains(",True,2096f6a2-d2f7-48be-b329-b73aaa526e5d,Confidential,"), "{text}");
}

#[test]
fn every_format_is_labeled_relabeled_and_unlabeled() {
    let dir = scratch();
    let d = dir.path();
    let files = [
        "hr-list.docx",
        "payroll.xlsx",
        "deck.pptx",
        "hr-list.odt",
        "payroll.ods",
        "deck.odp",
        "hr-list.pdf",
        "mail.eml",
        "member.html",
        "records.zip",
        "hr-list.doc",
        "payroll.xls",
        "deck.ppt",
    ];
    for f in files {
        fs::copy(repo("corpus/share/office").join(f), d.join(f)).unwrap();
    }
    fs::copy(repo("tests/data/mip/excel-labeled-confidential.xlsx"), d.join("excel.xlsx")).unwrap();
    let out = mamori(d, &["label", "set", ".", "--label", "Confidential/Restricted", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let results = lines(&out);
    assert_eq!(results.len(), files.len() + 1);
    for r in &results {
        assert_eq!(r["status"], "success", "{r}");
    }
    for f in files.iter().chain(&["excel.xlsx"]) {
        let s = status(d, f);
        assert_eq!(s["label_id"], RESTRICTED, "{f}: {s}");
        assert_eq!((&s["label_name"], &s["parent_label_name"]), (&"Restricted".into(), &"Confidential".into()), "{f}");
        assert_eq!(s["site_id"], SITE, "{f}");
        assert_eq!(s["labeling_method"], "Privileged", "{f}");
    }
    // The Office label of another organisation stays beside ours.
    assert_eq!(status(d, "excel.xlsx")["other_labels"], serde_json::json!(["Confidential"]));
    for f in ["hr-list.docx", "payroll.xlsx", "deck.pptx", "hr-list.odt", "payroll.ods", "deck.odp", "excel.xlsx"] {
        let original = if f == "excel.xlsx" {
            repo("tests/data/mip/excel-labeled-confidential.xlsx")
        } else {
            repo("corpus/share/office").join(f)
        };
        assert_untouched(&original, &d.join(f));
    }
    // Office 97-2003 files: the label is in DocumentSummaryInformation, every other stream as it was.
    for f in ["hr-list.doc", "payroll.xls", "deck.ppt"] {
        assert_eq!(status(d, f)["metadata"], "DocumentSummaryInformation", "{f}");
        let before = cfb_streams(&repo("corpus/share/office").join(f));
        let after = cfb_streams(&d.join(f));
        for s in before.iter().filter(|s| !s.0.contains("DocumentSummaryInformation")) {
            assert!(after.contains(s), "{f}: stream {} changed", s.0);
        }
    }
    // The PDF is an incremental update: the original bytes are its prefix.
    let pdf = fs::read(d.join("hr-list.pdf")).unwrap();
    assert!(pdf.starts_with(&fs::read(repo("corpus/share/office/hr-list.pdf")).unwrap()));
    // The labeled documents still read: the scanner finds the same values.
    let scan = mamori(
        d,
        &["scan", "hr-list.docx", "hr-list.odt", "hr-list.pdf", "mail.eml", "hr-list.doc", "--format", "jsonl"],
    );
    let items = lines(&scan);
    for f in ["hr-list.docx", "hr-list.odt", "hr-list.pdf", "mail.eml", "hr-list.doc"] {
        let item = items.iter().find(|i| i["path"] == f).unwrap_or_else(|| panic!("{f} scanned"));
        assert_eq!(item["status"], "ok", "{f}: {item}");
        assert!(!item["findings"].as_array().unwrap().is_empty(), "{f} still holds its values");
    }

    // Lowering without a justification is skipped and writes nothing.
    let before = fs::read(d.join("hr-list.docx")).unwrap();
    let r = one(d, &["label", "set", "hr-list.docx", "--label", "Public", "--json"]);
    assert_eq!(r["status"], "skipped");
    assert!(r["comment"].as_str().unwrap().contains("Justification required"), "{r}");
    assert_eq!(fs::read(d.join("hr-list.docx")).unwrap(), before);
    for f in files {
        let r = one(d, &["label", "set", f, "--label", "Public", "--justification", "published", "--json"]);
        assert_eq!(r["status"], "success", "{r}");
        assert!(r["comment"].as_str().unwrap().contains("justification: published"), "{r}");
        assert_eq!(status(d, f)["label_name"], "Public", "{f}");
    }
    // Removing: skipped without a justification, done with one.
    let r = one(d, &["label", "remove", "deck.pptx", "--json"]);
    assert_eq!(r["status"], "skipped", "{r}");
    for f in files {
        let r = one(d, &["label", "remove", f, "--justification", "not ours", "--json"]);
        assert_eq!(r["status"], "success", "{f}: {r}");
        assert_eq!(status(d, f)["is_labeled"], false, "{f}");
    }
    // A docx with no label left has no MSIP keys left either.
    let mut z = zip::ZipArchive::new(fs::File::open(d.join("hr-list.docx")).unwrap()).unwrap();
    let mut custom = String::new();
    z.by_name("docProps/custom.xml").unwrap().read_to_string(&mut custom).unwrap();
    assert!(!custom.contains("MSIP_Label_"), "{custom}");
    let mail = fs::read_to_string(d.join("mail.eml")).unwrap();
    assert_eq!(mail, fs::read_to_string(repo("corpus/share/office/mail.eml")).unwrap(), "mail is back as it was");
}

#[test]
fn labelinfo_is_written_with_its_relationship_and_content_type() {
    let dir = scratch();
    let d = dir.path();
    fs::copy(repo("corpus/share/office/hr-list.docx"), d.join("a.docx")).unwrap();
    let r = one(d, &["label", "set", "a.docx", "--label", "Internal", "--metadata", "labelinfo", "--json"]);
    assert_eq!(r["status"], "success", "{r}");
    let part = |name: &str| {
        let mut z = zip::ZipArchive::new(fs::File::open(d.join("a.docx")).unwrap()).unwrap();
        let mut s = String::new();
        z.by_name(name).map(|mut f| f.read_to_string(&mut s).unwrap()).ok().map(|_| s)
    };
    let li = part("docMetadata/LabelInfo.xml").expect("a LabelInfo part");
    assert!(li.contains("xmlns:clbl=\"http://schemas.microsoft.com/office/2020/mipLabelMetadata\""), "{li}");
    assert!(li.contains("id=\"{78ab9bef-b96b-42fe-8644-935081610f8a}\" enabled=\"1\" method=\"Privileged\""), "{li}");
    assert!(li.contains(&format!("siteId=\"{{{SITE}}}\" contentBits=\"0\" removed=\"0\"")), "{li}");
    let rels = part("_rels/.rels").unwrap();
    assert!(rels.contains("Type=\"http://schemas.microsoft.com/office/2020/02/relationships/classificationlabels\" Target=\"docMetadata/LabelInfo.xml\""), "{rels}");
    let types = part("[Content_Types].xml").unwrap();
    assert!(types.contains("PartName=\"/docMetadata/LabelInfo.xml\" ContentType=\"application/vnd.ms-office.classificationlabels+xml\""), "{types}");
    assert!(part("docProps/custom.xml").is_none_or(|c| !c.contains("MSIP_Label_")));
    assert_eq!(status(d, "a.docx")["metadata"], "LabelInfo.xml");
    // Relabeling with the default (auto) keeps using LabelInfo, where the label already is.
    one(d, &["label", "set", "a.docx", "--label", "Confidential/Restricted", "--json"]);
    assert_eq!(status(d, "a.docx")["metadata"], "LabelInfo.xml");
    // Removal leaves a tombstone, so readers do not fall back to custom.xml.
    one(d, &["label", "remove", "a.docx", "--justification", "test", "--json"]);
    let li = part("docMetadata/LabelInfo.xml").unwrap();
    assert!(
        li.contains(&format!(
            "id=\"{{{SITE}}}\" enabled=\"0\" method=\"Standard\" siteId=\"{{{SITE}}}\" removed=\"1\""
        )),
        "{li}"
    );
    assert_eq!(status(d, "a.docx")["is_labeled"], false);
    // --metadata both writes the two places.
    one(d, &["label", "set", "a.docx", "--label", "Public", "--metadata", "both", "--json"]);
    assert!(part("docProps/custom.xml").unwrap().contains("MSIP_Label_1b60ddee-8f5e-43c6-b3a2-6bfd332e41d5_SiteId"));
    assert!(part("docMetadata/LabelInfo.xml").unwrap().contains("1b60ddee-8f5e-43c6-b3a2-6bfd332e41d5"));
}

#[test]
fn refused_files_are_failures_with_reasons_and_stay_untouched() {
    let dir = scratch();
    let d = dir.path();
    fs::copy(repo("corpus/share/office/hr-list.docx"), d.join("ro.docx")).unwrap();
    let mut perms = fs::metadata(d.join("ro.docx")).unwrap().permissions();
    perms.set_readonly(true);
    fs::set_permissions(d.join("ro.docx"), perms).unwrap();
    fs::copy(repo("corpus/share/office/payroll.xlsx"), d.join("open.xlsx")).unwrap();
    fs::write(d.join(".~lock.open.xlsx#"), "someone,host,2026").unwrap();
    fs::write(d.join("corrupt.docx"), b"PK\x03\x04 this is not a zip").unwrap();
    // Found by fuzzing: a damaged PDF that parses, but whose rewrite would not read back.
    fs::copy(repo("tests/data/labels/fail_damaged-xref.pdf"), d.join("damaged.pdf")).unwrap();
    let out = mamori(
        d,
        &[
            "label",
            "set",
            "ro.docx",
            "open.xlsx",
            "corrupt.docx",
            "missing.txt",
            "damaged.pdf",
            "--label",
            "Public",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let r = lines(&out);
    assert!(r.len() == 5 && r.iter().all(|o| o["status"] == "failed"), "{r:?}");
    let comment = |file: &str| {
        let o = r.iter().find(|o| o["path"] == file).unwrap_or_else(|| panic!("no result for {file}"));
        o["comment"].as_str().unwrap().to_string()
    };
    assert!(comment("ro.docx").contains("read-only"), "{}", comment("ro.docx"));
    assert!(comment("open.xlsx").contains("LibreOffice"), "{}", comment("open.xlsx"));
    assert!(comment("corrupt.docx").contains("zip"), "{}", comment("corrupt.docx"));
    assert!(comment("missing.txt").contains("missing.txt"), "{}", comment("missing.txt"));
    assert!(comment("damaged.pdf").contains("could not be relabeled safely"), "{}", comment("damaged.pdf"));
    assert_eq!(
        fs::read(d.join("damaged.pdf")).unwrap(),
        fs::read(repo("tests/data/labels/fail_damaged-xref.pdf")).unwrap()
    );
    assert_eq!(fs::read(d.join("ro.docx")).unwrap(), fs::read(repo("corpus/share/office/hr-list.docx")).unwrap());
    assert_eq!(fs::read(d.join("open.xlsx")).unwrap(), fs::read(repo("corpus/share/office/payroll.xlsx")).unwrap());
    let left: Vec<_> = fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".mamori-tmp"))
        .collect();
    assert!(left.is_empty(), "no temp file is left behind");
}

#[test]
fn plain_files_carry_the_label_in_an_extended_attribute() {
    let dir = scratch();
    let d = dir.path();
    fs::write(d.join("notes.txt"), "nothing to see").unwrap();
    let r = one(d, &["label", "set", "notes.txt", "--label", "Internal", "--json"]);
    if r["status"] == "failed" {
        // Only a filesystem without user xattrs may refuse, and then with the protect hint.
        assert!(r["comment"].as_str().unwrap().contains("protect it instead"), "{r}");
        assert!(std::env::var("CI").is_err(), "the CI build disk supports extended attributes: {r}");
        return;
    }
    assert_eq!(r["status"], "success", "{r}");
    let s = status(d, "notes.txt");
    assert_eq!((&s["label_name"], &s["metadata"]), (&"Internal".into(), &"xattr".into()));
    assert_eq!(fs::read_to_string(d.join("notes.txt")).unwrap(), "nothing to see");
}

#[test]
fn classify_applies_the_policy_with_its_reasons_and_respects_people() {
    let dir = scratch();
    let d = dir.path();
    fs::create_dir(d.join("share")).unwrap();
    fs::write(d.join("share/roster.txt"), "氏名 山田太郎 マイナンバー 6214 9832 0257\n").unwrap();
    fs::write(d.join("share/menu.txt"), "lunch: curry\n").unwrap();
    fs::copy(repo("corpus/share/office/hr-list.docx"), d.join("share/hr.docx")).unwrap();
    fs::write(d.join("share/chosen.txt"), "個人番号: 6214 9832 0257\n").unwrap();
    one(d, &["label", "set", "share/chosen.txt", "--label", "Public", "--json"]);

    // --what-if decides and changes nothing.
    let before: Vec<Vec<u8>> =
        ["roster.txt", "menu.txt", "hr.docx"].iter().map(|f| fs::read(d.join("share").join(f)).unwrap()).collect();
    let out = mamori(d, &["classify", "share", "--what-if", "--json"]);
    let r = lines(&out);
    let by = |r: &[Value], f: &str| r.iter().find(|o| o["path"].as_str().unwrap().ends_with(f)).unwrap().clone();
    let roster = by(&r, "roster.txt");
    assert_eq!(roster["label_name"], "Confidential/Restricted", "{roster}");
    assert!(roster["comment"].as_str().unwrap().starts_with("what-if"), "{roster}");
    assert_eq!(roster["reasons"][0]["type"], "jp-my-number");
    let after: Vec<Vec<u8>> =
        ["roster.txt", "menu.txt", "hr.docx"].iter().map(|f| fs::read(d.join("share").join(f)).unwrap()).collect();
    assert_eq!(before, after);
    assert_eq!(status(d, "share/roster.txt")["is_labeled"], false);

    let out = mamori(d, &["classify", "share", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r = lines(&out);
    assert_eq!(status(d, "share/roster.txt")["label_name"], "Restricted");
    assert_eq!(status(d, "share/roster.txt")["labeling_method"], "Standard");
    assert_eq!(status(d, "share/hr.docx")["parent_label_name"], "Confidential");
    assert_eq!(status(d, "share/menu.txt")["label_name"], "Internal", "the default label");
    assert!(by(&r, "menu.txt")["comment"].as_str().unwrap().contains("default label"));
    // A label a person chose is never replaced by classify; the suggestion is reported.
    let chosen = by(&r, "chosen.txt");
    assert_eq!(chosen["status"], "skipped", "{chosen}");
    assert!(chosen["comment"].as_str().unwrap().contains("by a person"), "{chosen}");
    assert_eq!(status(d, "share/chosen.txt")["label_name"], "Public");
    // A second run has nothing to do.
    let again = lines(&mamori(d, &["classify", "share", "--json"]));
    assert!(again.iter().all(|o| o["status"] == "skipped"), "{again:?}");
}

#[test]
fn labels_list_shows_the_taxonomy() {
    let out = mamori(&repo("."), &["labels", "list", "--json"]);
    let labels = lines(&out);
    let restricted = labels.iter().find(|l| l["id"] == RESTRICTED).unwrap();
    assert_eq!(restricted["path"], "Confidential/Restricted");
    assert_eq!(restricted["protection"]["grants"][0]["principal"], "confidential-restricted@example.com");
    let parent = labels.iter().find(|l| l["name"] == "Confidential").unwrap();
    assert_eq!(parent["applicable"], false);
    let bad = mamori(&repo("."), &["label", "set", "x", "--label", "Confidential"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("choose one of"));
}

/// SIGKILL at many points while a large document is rewritten: every time, the file is either
/// the original, byte for byte, or the complete labeled document.
#[cfg(unix)]
#[test]
fn a_killed_labeler_never_leaves_a_broken_file() {
    use std::io::Write;
    use std::time::{Duration, Instant};
    let dir = scratch();
    let d = dir.path();
    // A real document with a 48 MiB stored image: rewriting takes long enough to be interrupted.
    let original = d.join("original.docx");
    {
        let mut src = zip::ZipArchive::new(fs::File::open(repo("corpus/share/office/hr-list.docx")).unwrap()).unwrap();
        let mut w = zip::ZipWriter::new(fs::File::create(&original).unwrap());
        for i in 0..src.len() {
            w.raw_copy_file(src.by_index_raw(i).unwrap()).unwrap();
        }
        let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        w.start_file("word/media/image1.bin", stored).unwrap();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let block: Vec<u8> = (0..1 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for _ in 0..48 {
            w.write_all(&block).unwrap();
        }
        w.finish().unwrap();
    }
    let original_bytes = fs::read(&original).unwrap();
    let target = d.join("report.docx");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_mamori"))
            .args(["label", "set", "report.docx", "--label", "Internal"])
            .current_dir(d)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    fs::write(&target, &original_bytes).unwrap();
    let t = Instant::now();
    assert!(run().wait().unwrap().success());
    let full = t.elapsed();
    let (mut intact, mut labeled) = (0, 0);
    for i in 0..32u32 {
        fs::write(&target, &original_bytes).unwrap();
        let mut child = run();
        std::thread::sleep(full.mul_f64(f64::from(i) / 16.0).min(Duration::from_secs(10)));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let now = fs::read(&target).unwrap();
        if now == original_bytes {
            intact += 1;
            continue;
        }
        labeled += 1;
        assert_untouched(&original, &target);
        assert_eq!(
            status(d, "report.docx")["label_name"],
            "Internal",
            "kill {i}: a changed file is the whole labeled file"
        );
    }
    assert_eq!(intact + labeled, 32);
    eprintln!("full run {full:?}: {intact} kills left the original, {labeled} the labeled file");
    // Each kill may leave a temp file (never the document): named so people recognise it.
    for e in fs::read_dir(d).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(["original.docx", "report.docx"].contains(&name.as_str()) || name.ends_with(".mamori-tmp"), "{name}");
    }
}

/// A rewrite replaces the file a link points to, keeps the link, and keeps the file's other
/// extended attributes; a file with hard links is refused (a rename would split them).
#[cfg(unix)]
#[test]
fn links_and_extended_attributes_survive_a_rewrite() {
    let dir = scratch();
    let d = dir.path();
    fs::copy(repo("corpus/share/office/hr-list.docx"), d.join("real.docx")).unwrap();
    std::os::unix::fs::symlink("real.docx", d.join("link.docx")).unwrap();
    fs::copy(repo("corpus/share/office/hr-list.docx"), d.join("linked.docx")).unwrap();
    fs::hard_link(d.join("linked.docx"), d.join("other-name.docx")).unwrap();
    let r = one(d, &["label", "set", "linked.docx", "--label", "Internal", "--json"]);
    assert_eq!(r["status"], "failed", "{r}");
    assert!(r["comment"].as_str().unwrap().contains("hard links"), "{r}");
    let tagged = xattr::set(d.join("real.docx"), "user.tag", b"blue").is_ok();
    let r = one(d, &["label", "set", "link.docx", "--label", "Internal", "--json"]);
    assert_eq!(r["status"], "success", "{r}");
    assert!(fs::symlink_metadata(d.join("link.docx")).unwrap().file_type().is_symlink());
    assert_eq!(status(d, "real.docx")["label_name"], "Internal");
    if tagged {
        assert_eq!(xattr::get(d.join("real.docx"), "user.tag").unwrap().as_deref(), Some(&b"blue"[..]));
    }
}
