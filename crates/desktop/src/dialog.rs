//! Small dialogs for the file-manager action, drawn by the desktop's own dialog program:
//! kdialog on KDE, zenity elsewhere (GNOME, Xfce, Cinnamon). Both print the answer on
//! standard output and exit 1 when the person cancels.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One row of a chooser: what is returned, what is shown, and a line about it.
pub struct Choice {
    pub key: String,
    pub label: String,
    pub detail: String,
}

/// The dialog program found.
pub enum Dialog {
    Zenity(PathBuf),
    Kdialog(PathBuf),
}

impl Dialog {
    /// kdialog under KDE Plasma, else zenity, else kdialog; `None` without a display or either.
    pub fn find() -> Option<Dialog> {
        if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
            return None;
        }
        let kde = std::env::var("XDG_CURRENT_DESKTOP").is_ok_and(|d| d.to_ascii_uppercase().contains("KDE"));
        let (zenity, kdialog) = (which("zenity").map(Dialog::Zenity), which("kdialog").map(Dialog::Kdialog));
        if kde {
            kdialog.or(zenity)
        } else {
            zenity.or(kdialog)
        }
    }

    /// Asks for one of `choices`, `selected` preselected; `None` if cancelled.
    pub fn choose(
        &self,
        title: &str,
        text: &str,
        choices: &[Choice],
        selected: Option<&str>,
    ) -> std::io::Result<Option<String>> {
        let on = |c: &Choice| selected == Some(c.key.as_str());
        let mut cmd = match self {
            Dialog::Zenity(p) => {
                // a plain list (not --radiolist, whose buttons the keyboard cannot toggle):
                // a double click, or Enter on a row, chooses it
                let mut cmd = Command::new(p);
                cmd.args(["--list", "--width=860", "--height=420", "--hide-column=1", "--print-column=1"])
                    .arg(format!("--title={title}"))
                    .arg(format!("--text={}", markup(text)))
                    .args(["--column=key", "--column=Label", "--column=Description"]);
                for c in choices {
                    let label = if on(c) { format!("{} (current)", c.label) } else { c.label.clone() };
                    cmd.args([&c.key, &label, &c.detail]);
                }
                cmd
            }
            Dialog::Kdialog(p) => {
                let mut cmd = Command::new(p);
                cmd.arg("--title").arg(title).arg("--radiolist").arg(text);
                for c in choices {
                    cmd.args([&c.key, &format!("{} — {}", c.label, c.detail)]).arg(if on(c) { "on" } else { "off" });
                }
                cmd
            }
        };
        answer(&mut cmd)
    }

    /// Asks for a line of text; `None` if cancelled.
    pub fn ask(&self, title: &str, text: &str) -> std::io::Result<Option<String>> {
        let mut cmd = match self {
            Dialog::Zenity(p) => {
                let mut cmd = Command::new(p);
                cmd.args(["--entry", "--width=480"])
                    .arg(format!("--title={title}"))
                    .arg(format!("--text={}", markup(text)));
                cmd
            }
            Dialog::Kdialog(p) => {
                let mut cmd = Command::new(p);
                cmd.arg("--title").arg(title).arg("--inputbox").arg(text);
                cmd
            }
        };
        answer(&mut cmd)
    }

    /// Shows a message (an error when `error`) and waits for it to be closed.
    pub fn show(&self, title: &str, text: &str, error: bool) -> std::io::Result<()> {
        let mut cmd = match self {
            Dialog::Zenity(p) => {
                let mut cmd = Command::new(p);
                cmd.arg(if error { "--error" } else { "--info" })
                    .arg("--width=560")
                    .arg(format!("--title={title}"))
                    .arg(format!("--text={}", markup(text)));
                cmd
            }
            Dialog::Kdialog(p) => {
                let mut cmd = Command::new(p);
                cmd.arg("--title").arg(title).arg(if error { "--error" } else { "--msgbox" }).arg(text);
                cmd
            }
        };
        answer(&mut cmd).map(drop)
    }
}

/// Runs a dialog: its answer, or `None` when the person cancelled (exit status 1, which is
/// also what zenity and kdialog return when they cannot open the display: that is an error).
fn answer(cmd: &mut Command) -> std::io::Result<Option<String>> {
    let out = cmd.output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => Ok(Some(String::from_utf8_lossy(&out.stdout).trim_end_matches('\n').to_string())),
        Some(1) if !err.to_ascii_lowercase().contains("display") => Ok(None),
        _ => Err(std::io::Error::other(format!("{:?} failed ({}): {}", cmd.get_program(), out.status, err.trim()))),
    }
}

/// zenity reads its text as Pango markup: file names with `&` or `<` must be escaped.
fn markup(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The program `name` on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    p.is_file()
}
