//! Files and folders that are not documents: what editors and office suites write while
//! saving, their lock files, and folders of tools.

use std::ffi::OsStr;

/// Temp, lock and backup files of editors and office suites, partial downloads, and mamori's
/// own temp files: never classified, and their events never make a document pending.
pub fn is_temporary(name: &OsStr) -> bool {
    let Some(n) = name.to_str() else { return false };
    let lower = n.to_ascii_lowercase();
    // Microsoft Office's owner files (~$report.docx) and temp files
    // (~WRL0001.tmp), LibreOffice's lock files and the lu*.tmp it writes before renaming
    n.starts_with("~$")
        || n.starts_with(".~lock.")
        || lower.ends_with(".tmp")
        // GIO (gedit, Nautilus copies), Kate, vim (swap files and its 4913 probe), emacs
        || n.starts_with(".goutputstream-")
        || lower.ends_with(".kate-swp")
        || n.starts_with('.') && [".swp", ".swo", ".swx"].iter().any(|s| lower.ends_with(s))
        || n == "4913"
        || n.starts_with(".#")
        || n.starts_with('#') && n.ends_with('#')
        || n.ends_with('~')
        // partial downloads and copies
        || [".part", ".crdownload", ".download", ".partial"].iter().any(|s| lower.ends_with(s))
        // mamori's own temp files (labeling and protecting write one, then rename)
        || n.ends_with(".mamori-tmp")
        // NFS silly-renames and desktop clutter
        || n.starts_with(".nfs")
        || matches!(n, ".DS_Store" | "Thumbs.db" | "desktop.ini" | ".directory")
}

/// Folders of tools and trash that hold no documents people save.
pub fn is_temporary_dir(name: &OsStr) -> bool {
    let Some(n) = name.to_str() else { return false };
    matches!(n, ".git" | ".hg" | ".svn" | ".cache" | "node_modules" | "__pycache__" | ".Trash" | "lost+found")
        || n.starts_with(".Trash-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_and_lock_files_are_recognised_and_documents_are_not() {
        for t in [
            "~$report.docx",
            "~WRL0004.tmp",
            ".~lock.payroll.xlsx#",
            "lu123456abc.tmp",
            ".goutputstream-XY12Z0",
            "notes.txt.kate-swp",
            ".notes.txt.swp",
            "4913",
            ".#notes.txt",
            "#notes.txt#",
            "notes.txt~",
            "big.iso.part",
            "file.crdownload",
            ".payroll.xlsx.mamori-tmp",
            ".nfs000000001",
            ".DS_Store",
        ] {
            assert!(is_temporary(OsStr::new(t)), "{t}");
        }
        for d in ["report.docx", "payroll.xlsx", "マイナンバー一覧.csv", ".bashrc", "notes.swp.txt", "tmp.csv", "4914"]
        {
            assert!(!is_temporary(OsStr::new(d)), "{d}");
        }
        assert!(is_temporary_dir(OsStr::new(".git")) && is_temporary_dir(OsStr::new(".Trash-1000")));
        assert!(!is_temporary_dir(OsStr::new("Documents")));
    }
}
