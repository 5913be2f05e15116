//! `mamori desktop`: the "Classify and protect with mamori" action in file managers.

use clap::Subcommand;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum DesktopCommand {
    /// Add "Classify and protect with mamori" to the context menu of Nautilus (GNOME Files),
    /// Dolphin and Nemo.
    Install,
    /// Remove the menu action.
    Uninstall,
    /// The chooser the menu action opens: shows the files' label and applies the one picked
    /// (zenity or kdialog; the terminal when there is no display).
    Classify {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Label only, never protect.
        #[arg(long)]
        no_protect: bool,
        #[command(flatten)]
        labels: crate::label::LabelsDir,
    },
}

pub fn run(c: DesktopCommand) -> anyhow::Result<u8> {
    use mamori_desktop::menu;
    match c {
        DesktopCommand::Install => {
            let exe = std::env::current_exe()?;
            for f in menu::install(&mamori_desktop::data_home()?, &exe)? {
                println!("wrote {}", f.display());
            }
            println!("Right-click files in Files (Nautilus: Scripts ▸), Dolphin or Nemo: “{}”.", menu::ACTION);
            if mamori_desktop::dialog::Dialog::find().is_none() && std::env::var_os("DISPLAY").is_some() {
                eprintln!("note: the chooser needs zenity or kdialog (e.g. apt install zenity)");
            }
            Ok(0)
        }
        DesktopCommand::Uninstall => {
            let removed = menu::uninstall(&mamori_desktop::data_home()?)?;
            for f in &removed {
                println!("removed {}", f.display());
            }
            if removed.is_empty() {
                println!("nothing to remove");
            }
            Ok(0)
        }
        DesktopCommand::Classify { files, no_protect, labels } => {
            let labeler = labels.load()?;
            let files = crate::label::files(&files)?;
            if let Some(mut dialog) = mamori_desktop::dialog::Dialog::find() {
                return crate::chooser::run(&labeler, &files, &mut dialog, !no_protect);
            }
            if std::io::stdin().is_terminal() {
                let mut terminal = crate::chooser::Terminal { input: std::io::stdin().lock() };
                return crate::chooser::run(&labeler, &files, &mut terminal, !no_protect);
            }
            let why = "no dialog program to ask with: install zenity (GNOME, Xfce) or kdialog (KDE)";
            if let Ok(n) = mamori_desktop::notify::Notifier::session() {
                let _ =
                    n.send("mamori cannot show the label chooser", why, mamori_desktop::notify::Urgency::Critical, &[]);
            }
            anyhow::bail!(why)
        }
    }
}
