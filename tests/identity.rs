//! `mamori id init` and `mamori id show` against a real mamori home.

use serde_json::Value;
use std::process::{Command, Output};

fn mamori(home: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mamori")).args(args).env("MAMORI_HOME", home).output().expect("mamori runs")
}

#[test]
fn an_identity_is_made_once_shown_without_secrets_and_replaced_only_by_force() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let shown = mamori(&home, &["id", "show"]);
    assert_eq!(shown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&shown.stderr).contains("mamori id init"), "the error says what to do");

    let init = mamori(&home, &["id", "init", "--name", "alice@example.com"]);
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let file = std::fs::read_to_string(home.join("identity.toml")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.join("identity.toml")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let v: Value = serde_json::from_slice(&mamori(&home, &["id", "show", "--json"]).stdout).unwrap();
    assert_eq!(v["principal"], "alice@example.com");
    assert!(v["recipient"].as_str().unwrap().starts_with("age1"));
    assert!(v["signing_key"].as_str().unwrap().starts_with("ed25519:"));
    let age_secret = file.lines().find_map(|l| l.strip_prefix("age_identity = ")).unwrap().trim_matches('"');
    let seed = file.lines().find_map(|l| l.strip_prefix("signing_key = ")).unwrap().trim_matches('"');
    for out in [init, mamori(&home, &["id", "show"]), mamori(&home, &["id", "show", "--json"])] {
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        assert!(
            !text.contains(age_secret) && !text.contains(&seed["ed25519-secret:".len()..]),
            "no secret printed: {text}"
        );
    }

    let again = mamori(&home, &["id", "init", "--name", "bob@example.com"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(home.join("identity.toml")).unwrap(), file, "the identity is kept");
    assert!(mamori(&home, &["id", "init", "--name", "bob@example.com", "--force"]).status.success());
    let v: Value = serde_json::from_slice(&mamori(&home, &["id", "show", "--json"]).stdout).unwrap();
    assert_eq!(v["principal"], "bob@example.com");
}
