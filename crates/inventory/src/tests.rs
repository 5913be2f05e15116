use super::*;

fn record(path: &str, label: Option<(&str, u32)>, types: &[(&str, Confidence)]) -> Record {
    let file = path.split('!').next().unwrap().to_string();
    Record {
        path: path.into(),
        nested: file != path,
        file,
        repository: "/srv/share".into(),
        size: Some(100),
        modified: Some(1),
        changed: None,
        hash: None,
        format: "text".into(),
        status: ItemStatus::Ok,
        reason: None,
        label: label.map(|l| l.0.to_string()),
        label_id: None,
        label_order: label.map_or(0, |l| l.1),
        labeling_method: None,
        protected: false,
        content_id: None,
        recommended: (!types.is_empty()).then(|| "Confidential".into()),
        recommended_id: None,
        recommended_order: if types.is_empty() { 0 } else { 30 },
        recommended_protects: false,
        applied: None,
        applied_id: None,
        action: None,
        conditions: Vec::new(),
        types: types.iter().map(|(t, c)| TypeFound { id: t.to_string(), count: 2, confidence: *c }).collect(),
        scanned_at: 0,
        engine: "0".into(),
        catalog: "c".into(),
        policy: "p".into(),
    }
}

fn paths(rs: Vec<Record>) -> Vec<String> {
    rs.into_iter().map(|r| r.path).collect()
}

#[test]
fn finds_replaces_and_forgets() {
    let dir = tempfile::tempdir().unwrap();
    let inv = Inventory::open(&dir.path().join("inv")).unwrap();
    let mut w = inv.writer().unwrap();
    let hr = "/srv/share/hr/list.txt";
    w.replace(hr, &[record(hr, Some(("Public", 10)), &[("jp-my-number", Confidence::High)])]).unwrap();
    let zip = "/srv/share/it/a.zip";
    w.replace(
        zip,
        &[
            record("/srv/share/it/a.zip!x/keys.txt", None, &[("aws-access-key", Confidence::Medium)]),
            record(zip, Some(("Confidential/All Employees", 30)), &[("aws-access-key", Confidence::Medium)]),
        ],
    )
    .unwrap();
    let plain = "/srv/share/hrx/notes.txt";
    w.replace(plain, &[record(plain, None, &[])]).unwrap();
    w.commit().unwrap();

    assert_eq!(paths(inv.find("type:jp-my-number AND label:Public").unwrap()), [hr]);
    assert_eq!(paths(inv.find("type:JP-MY-NUMBER label:public").unwrap()), [hr]);
    assert_eq!(paths(inv.find("path:share/hr/*").unwrap()), [hr]);
    assert_eq!(paths(inv.find("path:share/hr").unwrap()), [hr]);
    assert_eq!(paths(inv.find("path:*.txt nested:false").unwrap()), [hr, plain]);
    assert_eq!(paths(inv.find("label:confidential").unwrap()), ["/srv/share/it/a.zip"]);
    assert_eq!(paths(inv.find("label:\"Confidential/All Employees\"").unwrap()), ["/srv/share/it/a.zip"]);
    assert_eq!(inv.count("confidence:medium").unwrap(), 3);
    assert_eq!(inv.count("confidence:high").unwrap(), 1);
    assert_eq!(paths(inv.find("posture:underlabeled").unwrap()), [hr, "/srv/share/it/a.zip!x/keys.txt"]);
    assert_eq!(inv.count("-type:*").unwrap(), 1);
    assert_eq!(inv.count("NOT label:none").unwrap(), 2);
    assert_eq!(inv.count("size:>99 size:<=100").unwrap(), 4);
    assert_eq!(inv.count("*").unwrap(), 4);
    assert!(matches!(inv.find("colour:red"), Err(Error::Query { .. })));
    let files = inv.files().unwrap();
    assert_eq!(files.len(), 3);
    let hr_seen = &files[hr];
    assert_eq!((hr_seen.size, hr_seen.modified, hr_seen.sensitive, hr_seen.failed), (Some(100), Some(1), true, false));
    let v = &hr_seen.versions;
    assert_eq!((v.engine.as_str(), v.catalog.as_str(), v.policy.as_str()), ("0", "c", "p"));
    assert!(!files["/srv/share/hrx/notes.txt"].sensitive);

    // a rescan replaces a file and its members; a deleted file leaves
    w.replace(zip, &[record(zip, None, &[])]).unwrap();
    w.remove(hr);
    w.commit().unwrap();
    assert_eq!(paths(inv.records().unwrap()), ["/srv/share/hrx/notes.txt", "/srv/share/it/a.zip"]);
}

#[test]
fn refuses_what_is_not_an_inventory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("precious.txt"), "x").unwrap();
    assert!(Inventory::open(dir.path()).is_err());
    assert!(Inventory::destroy(dir.path()).is_err());
    assert!(dir.path().join("precious.txt").exists());
    let inv_dir = dir.path().join("inv");
    drop(Inventory::open(&inv_dir).unwrap());
    std::fs::write(inv_dir.join("mamori-inventory-version"), "99\n").unwrap();
    assert!(matches!(Inventory::open(&inv_dir), Err(Error::Version { .. })));
    Inventory::destroy(&inv_dir).unwrap();
    assert!(!inv_dir.exists());
}
