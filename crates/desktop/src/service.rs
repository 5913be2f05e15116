//! The systemd user unit that runs `mamori watch` at login and restarts it if it fails. Its
//! output goes to the user's journal (`journalctl --user -u mamori-watch`).

use crate::{remove_ours, write_ours, Error, MARKER};
use std::path::{Path, PathBuf};

/// The unit's name.
pub const UNIT: &str = "mamori-watch.service";

/// Where the unit goes under the XDG config directory `config`.
pub fn unit_path(config: &Path) -> PathBuf {
    config.join("systemd/user").join(UNIT)
}

/// The unit running `exe` with `args`, with these environment variables set.
pub fn unit(exe: &Path, args: &[String], env: &[(String, String)]) -> String {
    let mut exec = quote(&exe.to_string_lossy());
    for a in args {
        exec.push(' ');
        exec.push_str(&quote(a));
    }
    let mut text = format!(
        "# {MARKER} (`mamori watch --install-service`; `mamori watch --uninstall-service` removes it).\n[Unit]\n\
         Description=mamori desktop classifier: labels files saved in watched folders\n\n\
         [Service]\nType=simple\nExecStart={exec}\nRestart=on-failure\nRestartSec=5\n\
         # stay out of the way of the person at the desk\nNice=10\nIOSchedulingClass=idle\n"
    );
    for (k, v) in env {
        text.push_str(&format!("Environment={}\n", quote(&format!("{k}={v}"))));
    }
    text.push_str("\n[Install]\nWantedBy=default.target\n");
    text
}

/// Writes the unit; its path.
pub fn install(config: &Path, text: &str) -> Result<PathBuf, Error> {
    let path = unit_path(config);
    write_ours(&path, text, 0o644)?;
    Ok(path)
}

/// Removes the unit if mamori wrote it; whether there was one.
pub fn uninstall(config: &Path) -> Result<bool, Error> {
    remove_ours(&unit_path(config))
}

/// Quotes a word of ExecStart or Environment: systemd takes C-style double quotes, and
/// expands `%` specifiers and `$` variables, which are doubled to stay literal.
fn quote(s: &str) -> String {
    let escaped = s.replace('%', "%%").replace('$', "$$");
    if !escaped.is_empty() && escaped.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+=:@%$,".contains(&b)) {
        return escaped;
    }
    format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_runs_the_watcher_with_its_folders_quoted() {
        let text = unit(
            Path::new("/usr/bin/mamori"),
            &["watch".into(), "/home/a/My Documents".into(), "/home/a/100%".into()],
            &[("MAMORI_HOME".into(), "/home/a/.config/mamori".into())],
        );
        assert!(text.contains("ExecStart=/usr/bin/mamori watch \"/home/a/My Documents\" /home/a/100%%\n"), "{text}");
        assert!(text.contains("Environment=MAMORI_HOME=/home/a/.config/mamori\n"));
        assert!(text.contains("WantedBy=default.target"));
        let dir = tempfile::tempdir().unwrap();
        let path = install(dir.path(), &text).unwrap();
        assert!(path.ends_with("systemd/user/mamori-watch.service"));
        assert!(uninstall(dir.path()).unwrap());
        assert!(!uninstall(dir.path()).unwrap());
    }
}
