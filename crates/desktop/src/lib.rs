//! mamori on Linux desktops: what an employee sees of it. Desktop notifications (the
//! freedesktop Notifications interface over the session D-Bus), the "Classify and protect with
//! mamori" action in file managers (Nautilus scripts, Dolphin service menus, Nemo actions), the
//! label chooser those actions open (zenity or kdialog), and the systemd user unit that keeps
//! `mamori watch` running.
//!
//! It decides nothing about labels: the CLI passes it text to show and gets back what the person
//! chose. Everything here writes only under the user's own XDG directories and removes only
//! files that carry mamori's marker, so uninstalling never deletes a user's own scripts.
#![forbid(unsafe_code)]

pub mod dialog;
pub mod menu;
pub mod notify;
pub mod service;

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No session bus, or the notification service refused the call.
    #[error("desktop notification: {0}")]
    Bus(#[from] zbus::Error),
    /// A file could not be written or removed.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A file in the way was not written by mamori; it is left alone.
    #[error("{path} exists and was not written by mamori; remove it first")]
    NotOurs { path: PathBuf },
    /// Neither HOME nor the XDG directories are set.
    #[error("no home directory: set HOME or XDG_DATA_HOME and XDG_CONFIG_HOME")]
    NoHome,
}

/// The line that marks a file as written by mamori (checked before removing or replacing it).
pub const MARKER: &str = "Written by mamori";

/// `$XDG_DATA_HOME`, else `~/.local/share`.
pub fn data_home() -> Result<PathBuf, Error> {
    xdg("XDG_DATA_HOME", ".local/share")
}

/// `$XDG_CONFIG_HOME`, else `~/.config`.
pub fn config_home() -> Result<PathBuf, Error> {
    xdg("XDG_CONFIG_HOME", ".config")
}

fn xdg(var: &str, under_home: &str) -> Result<PathBuf, Error> {
    match std::env::var_os(var).filter(|v| Path::new(v).is_absolute()) {
        Some(v) => Ok(PathBuf::from(v)),
        None => std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| Path::new(&h).join(under_home))
            .ok_or(Error::NoHome),
    }
}

/// Writes `text` to `path` (through a temp file and a rename), with Unix `mode`, unless a file
/// not written by mamori is there.
fn write_ours(path: &Path, text: &str, mode: u32) -> Result<(), Error> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    if let Ok(old) = std::fs::read_to_string(path) {
        if !old.contains(MARKER) {
            return Err(Error::NotOurs { path: path.to_path_buf() });
        }
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let tmp = dir.join(format!(".{}.mamori-tmp", std::process::id()));
    std::fs::write(&tmp, text).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)).map_err(io)?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Removes `path` if mamori wrote it; whether it did.
fn remove_ours(path: &Path) -> Result<bool, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.contains(MARKER) => {
            std::fs::remove_file(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
            Ok(true)
        }
        Ok(_) => Err(Error::NotOurs { path: path.to_path_buf() }),
        Err(_) => Ok(false),
    }
}

/// Quotes `s` for a POSIX shell (and for the Exec key of desktop entries, which takes the
/// same double quotes; see [`menu`]).
fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+=:@".contains(&b)) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}
