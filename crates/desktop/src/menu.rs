//! "Classify and protect with mamori" in the context menu of file managers: a Nautilus
//! (GNOME Files) script, a Dolphin service menu (KDE Frameworks 6 and 5), and a Nemo action.
//! Each runs `mamori desktop classify -- FILES…`, which opens the label chooser.

use crate::{remove_ours, shell_quote, write_ours, Error, MARKER};
use std::path::{Path, PathBuf};

/// The entry's name in the menus.
pub const ACTION: &str = "Classify and protect with mamori";

/// The files `install` writes under the XDG data directory `data`.
pub fn files(data: &Path) -> Vec<PathBuf> {
    vec![
        data.join("nautilus/scripts").join(ACTION),
        data.join("kio/servicemenus/mamori-classify.desktop"),
        data.join("kservices5/ServiceMenus/mamori-classify.desktop"),
        data.join("nemo/actions/mamori-classify.nemo_action"),
    ]
}

/// Adds the action to each file manager's menu, running `exe`; the files written.
pub fn install(data: &Path, exe: &Path) -> Result<Vec<PathBuf>, Error> {
    let exe = exe.to_string_lossy();
    let [nautilus, dolphin6, dolphin5, nemo] = <[PathBuf; 4]>::try_from(files(data)).expect("four files");
    // Nautilus runs a script in the folder shown, with the selected files as arguments
    let script = format!(
        "#!/bin/sh\n# {MARKER} (`mamori desktop install`; `mamori desktop uninstall` removes it): {ACTION}.\n# Nautilus passes the selected files as arguments.\nexec {} desktop classify -- \"$@\"\n",
        shell_quote(&exe)
    );
    write_ours(&nautilus, &script, 0o755)?;
    // Plasma 6 runs a service menu from the user's folder only if it is executable
    let exec = format!("{} desktop classify -- %F", exec_quote(&exe));
    let service = format!(
        "# {MARKER} (`mamori desktop install`; `mamori desktop uninstall` removes it).\n[Desktop Entry]\nType=Service\nMimeType=application/octet-stream;all/allfiles;\n\
         X-KDE-ServiceTypes=KonqPopupMenu/Plugin\nX-KDE-Priority=TopLevel\nActions=classify;\n\n\
         [Desktop Action classify]\nName={ACTION}\nIcon=security-high\nExec={exec}\n"
    );
    write_ours(&dolphin6, &service, 0o755)?;
    write_ours(&dolphin5, &service, 0o755)?;
    let action = format!(
        "# {MARKER} (`mamori desktop install`; `mamori desktop uninstall` removes it).\n[Nemo Action]\nName={ACTION}\nComment=Show and change the sensitivity label of the selected files\n\
         Exec={exec}\nIcon-Name=security-high\nSelection=notnone\nExtensions=any;\n"
    );
    write_ours(&nemo, &action, 0o644)?;
    Ok(vec![nautilus, dolphin6, dolphin5, nemo])
}

/// Removes what `install` wrote; the files removed. A file of the same name that mamori did
/// not write is left where it is.
pub fn uninstall(data: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut removed = Vec::new();
    for f in files(data) {
        match remove_ours(&f) {
            Ok(true) => removed.push(f),
            Ok(false) | Err(Error::NotOurs { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

/// Quotes an argument for the Exec key of a desktop entry: double quotes with `"`, `` ` ``,
/// `$` and `\` escaped, then `\` doubled again as the string value requires, and `%` as `%%`.
fn exec_quote(s: &str) -> String {
    let plain = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+=:@".contains(&b));
    if plain {
        return s.to_string();
    }
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '`' | '$' => q.push_str(&format!("\\\\{c}")),
            '\\' => q.push_str("\\\\\\\\"),
            '%' => q.push_str("%%"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_writes_each_menu_and_uninstall_removes_only_ours() {
        let dir = tempfile::tempdir().unwrap();
        let exe = Path::new("/opt/my tools/mamori");
        let written = install(dir.path(), exe).unwrap();
        assert_eq!(written.len(), 4);
        let script = std::fs::read_to_string(&written[0]).unwrap();
        assert!(script.contains("exec '/opt/my tools/mamori' desktop classify -- \"$@\""), "{script}");
        let menu = std::fs::read_to_string(&written[1]).unwrap();
        assert!(menu.contains("Exec=\"/opt/my tools/mamori\" desktop classify -- %F"), "{menu}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&written[0]).unwrap().permissions().mode() & 0o777, 0o755);
            assert_eq!(std::fs::metadata(&written[1]).unwrap().permissions().mode() & 0o777, 0o755);
        }
        // a second install replaces its own files
        install(dir.path(), exe).unwrap();
        // a user's own file in the way is neither replaced nor removed
        std::fs::write(&written[3], "[Nemo Action]\nName=mine\n").unwrap();
        assert!(matches!(install(dir.path(), exe), Err(Error::NotOurs { .. })));
        assert_eq!(uninstall(dir.path()).unwrap().len(), 3);
        assert!(written[..3].iter().all(|f| !f.exists()));
        assert_eq!(std::fs::read_to_string(&written[3]).unwrap(), "[Nemo Action]\nName=mine\n");
    }

    #[test]
    fn exec_arguments_are_quoted_as_the_desktop_entry_spec_says() {
        assert_eq!(exec_quote("/usr/bin/mamori"), "/usr/bin/mamori");
        assert_eq!(exec_quote("/a b/$x%"), "\"/a b/\\\\$x%%\"");
    }
}
