//! Interop with real software: documents written by python-docx, openpyxl, python-pptx and
//! LibreOffice are labeled by mamori, then LibreOffice still converts each to PDF, the Python
//! libraries still load them and see the label's custom properties, LibreOffice carries the
//! label from docx to odt, doc and back, qpdf finds the labeled PDF sound, and every member the
//! label does not own is byte-identical.
//!
//! Needs `soffice`, `qpdf` and the Python packages (`.ci/run` installs them through
//! `scripts/install-test-tools`). Under `CI=true` a missing program fails the test.

mod common;

use common::{raw_members, repo, scratch};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const RESTRICTED: &str = "0f57ecdd-7847-409e-973a-2864fb8938a6";

/// LibreOffice, qpdf and the Python Office libraries are here (see `programs_present`).
fn tools_present() -> bool {
    common::programs_present(
        "interop test",
        &[
            ("soffice", &["soffice", "--version"]),
            ("qpdf", &["qpdf", "--version"]),
            ("python3 with docx, openpyxl, pptx", &["python3", "-c", "import docx, openpyxl, pptx"]),
        ],
    )
}

/// `soffice --headless --convert-to FORMAT` of `files` into `out`, with a private profile.
fn soffice(profile: &Path, format: &str, out: &Path, files: &[PathBuf]) {
    let o = Command::new("soffice")
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .args(["--headless", "--norestore", "--convert-to", format, "--outdir"])
        .arg(out)
        .args(files)
        .output()
        .expect("soffice runs");
    assert!(o.status.success(), "soffice --convert-to {format}: {}", String::from_utf8_lossy(&o.stderr));
    for f in files {
        let ext = format.split(':').next().unwrap();
        let made = out.join(f.with_extension(ext).file_name().unwrap());
        assert!(fs::metadata(&made).is_ok_and(|m| m.len() > 0), "LibreOffice made no {}", made.display());
    }
}

fn mamori(dir: &Path, args: &[&str]) -> Vec<Value> {
    let o = Command::new(env!("CARGO_BIN_EXE_mamori")).args(args).current_dir(dir).output().unwrap();
    String::from_utf8(o.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn office_compatible_software_reads_labeled_files() {
    if !tools_present() {
        return;
    }
    let dir = scratch();
    let d = dir.path();
    let (py, lo, work, profile) = (d.join("py"), d.join("lo"), d.join("work"), d.join("profile"));
    fs::create_dir_all(&work).unwrap();
    let made = Command::new("python3").arg(repo("tests/interop/make.py")).arg(&py).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let (docx, xlsx, pptx) = (py.join("py.docx"), py.join("py.xlsx"), py.join("py.pptx"));
    // LibreOffice's own files: OOXML re-saved by it, and ODF.
    for (format, src) in
        [("docx", &docx), ("xlsx", &xlsx), ("pptx", &pptx), ("odt", &docx), ("ods", &xlsx), ("odp", &pptx)]
    {
        soffice(&profile, format, &lo, std::slice::from_ref(src));
    }
    let mut files = Vec::new();
    for (dir, who) in [(&py, "python"), (&lo, "libreoffice")] {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let name = format!("{who}.{}", e.path().extension().unwrap().to_string_lossy());
            fs::copy(e.path(), work.join(&name)).unwrap();
            files.push(name);
        }
    }
    files.sort();
    assert_eq!(files.len(), 9, "{files:?}");
    // A PDF written by LibreOffice, labeled too.
    soffice(&profile, "pdf", &lo, std::slice::from_ref(&docx));
    fs::copy(lo.join("py.pdf"), work.join("libreoffice.pdf")).unwrap();
    let originals = d.join("originals");
    fs::create_dir(&originals).unwrap();
    for f in &files {
        fs::copy(work.join(f), originals.join(f)).unwrap();
    }

    let mut args = vec!["label", "set", "--label", "Confidential/Restricted", "--json"];
    args.extend(files.iter().map(String::as_str));
    args.push("libreoffice.pdf");
    for r in mamori(&work, &args) {
        assert_eq!(r["status"], "success", "{r}");
    }

    for f in files.iter().chain(&["libreoffice.pdf".to_string()]) {
        let s = &mamori(&work, &["status", f, "--json"])[0];
        assert_eq!(s["label_id"], RESTRICTED, "mamori reads the label of {f} back: {s}");
    }
    // Every member the label does not own is byte for byte the same.
    let owned = ["[Content_Types].xml", "_rels/.rels", "docProps/custom.xml", "meta.xml"];
    for f in &files {
        let after = raw_members(&work.join(f));
        for m in raw_members(&originals.join(f)).into_iter().filter(|m| !owned.contains(&m.0.as_str())) {
            assert!(after.contains(&m), "{f}: {} changed", m.0);
        }
    }
    // The Python libraries load the files and see the label's properties.
    let ooxml: Vec<PathBuf> = files.iter().filter(|f| f.ends_with('x')).map(|f| work.join(f)).collect();
    let checked = Command::new("python3").arg(repo("tests/interop/check.py")).args(&ooxml).output().unwrap();
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
    let props: Value = serde_json::from_slice(&checked.stdout).unwrap();
    for f in &ooxml {
        let p = &props[f.to_str().unwrap()];
        assert_eq!(p[format!("MSIP_Label_{RESTRICTED}_Name")], "Confidential-Restricted", "{}: {p}", f.display());
        assert_eq!(p[format!("MSIP_Label_{RESTRICTED}_Method")], "Privileged", "{}", f.display());
    }
    // LibreOffice still opens every labeled file: it converts each to PDF.
    let labeled: Vec<PathBuf> = files.iter().map(|f| work.join(f)).collect();
    soffice(&profile, "pdf", &d.join("pdf"), &labeled);
    // LibreOffice carries the label across formats: docx → odt and odt → docx.
    soffice(&profile, "odt", &d.join("to-odt"), &[work.join("python.docx")]);
    soffice(&profile, "docx", &d.join("to-docx"), &[work.join("libreoffice.odt")]);
    for f in ["to-odt/python.odt", "to-docx/libreoffice.docx"] {
        let s = &mamori(d, &["status", f, "--json"])[0];
        assert_eq!(s["label_id"], RESTRICTED, "LibreOffice kept the label in {f}: {s}");
    }
    // Office 97-2003: LibreOffice writes a docx label into the .doc's properties; mamori reads
    // and relabels it there; LibreOffice carries the new label back to docx.
    soffice(&profile, "doc", &d.join("to-doc"), &[work.join("python.docx")]);
    assert_eq!(mamori(d, &["status", "to-doc/python.doc", "--json"])[0]["label_id"], RESTRICTED);
    let r =
        &mamori(d, &["label", "set", "to-doc/python.doc", "--label", "Public", "--justification", "interop", "--json"])
            [0];
    assert_eq!(r["status"], "success", "{r}");
    soffice(&profile, "docx", &d.join("from-doc"), &[d.join("to-doc/python.doc")]);
    let s = &mamori(d, &["status", "from-doc/python.docx", "--json"])[0];
    assert_eq!((&s["label_name"], &s["metadata"]), (&"Public".into(), &"custom.xml".into()), "{s}");
    // The label Microsoft Excel wrote survives LibreOffice's conversion to ODF, and reads back.
    soffice(&profile, "ods", &d.join("excel"), &[repo("tests/data/mip/excel-labeled-confidential.xlsx")]);
    let s = &mamori(d, &["status", "excel/excel-labeled-confidential.ods", "--json"])[0];
    assert_eq!(s["label_id"], "2096f6a2-d2f7-48be-b329-b73aaa526e5d", "{s}");
    assert_eq!((&s["label_name"], &s["labeling_method"]), (&"Confidential".into(), &"Privileged".into()), "{s}");
    // qpdf finds the incrementally updated PDF sound, also for a PDF with object streams and a
    // cross-reference stream (as Word writes them).
    let streams = Command::new("qpdf")
        .args(["--object-streams=generate"])
        .arg(lo.join("py.pdf"))
        .arg(work.join("streams.pdf"))
        .output()
        .unwrap();
    assert!(streams.status.success(), "{}", String::from_utf8_lossy(&streams.stderr));
    let r = &mamori(&work, &["label", "set", "streams.pdf", "--label", "Internal", "--json"])[0];
    assert_eq!(r["status"], "success", "{r}");
    assert_eq!(mamori(&work, &["status", "streams.pdf", "--json"])[0]["label_name"], "Internal");
    for pdf in ["libreoffice.pdf", "streams.pdf"] {
        let q = Command::new("qpdf").arg("--check").arg(work.join(pdf)).output().unwrap();
        assert!(q.status.success(), "{pdf}: {}", String::from_utf8_lossy(&q.stdout));
    }
}
