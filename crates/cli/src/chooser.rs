//! The label chooser behind "Classify and protect with mamori" and `mamori label set
//! --interactive`: shows the files' current label, lets the person pick another (or none),
//! asks for a justification when that lowers or removes a label, applies it as a label a
//! person chose (method Privileged), protects where the label says so, and lists the results.
//! The questions go to a desktop dialog or to the terminal; the decisions are the same.

use mamori_desktop::dialog::{Choice, Dialog};
use mamori_label::{Labeler, Method, Outcome, OutcomeStatus, WriteOptions};
use std::io::{BufRead, Write};
use std::path::PathBuf;

/// Where the questions are asked.
pub(crate) trait Ask {
    /// One of `choices` (`selected` first offered); `None` if cancelled.
    fn choose(&mut self, text: &str, choices: &[Choice], selected: Option<&str>) -> anyhow::Result<Option<String>>;
    /// A line of text; `None` if cancelled.
    fn ask(&mut self, text: &str) -> anyhow::Result<Option<String>>;
    /// The results.
    fn show(&mut self, text: &str, error: bool) -> anyhow::Result<()>;
}

const TITLE: &str = "Classify and protect with mamori";
/// The key of the "no label" choice.
const REMOVE: &str = "remove";

impl Ask for Dialog {
    fn choose(&mut self, text: &str, choices: &[Choice], selected: Option<&str>) -> anyhow::Result<Option<String>> {
        Ok(Dialog::choose(self, TITLE, text, choices, selected)?)
    }
    fn ask(&mut self, text: &str) -> anyhow::Result<Option<String>> {
        Ok(Dialog::ask(self, TITLE, text)?)
    }
    fn show(&mut self, text: &str, error: bool) -> anyhow::Result<()> {
        Ok(Dialog::show(self, TITLE, text, error)?)
    }
}

/// Questions on standard error, answers from standard input.
pub(crate) struct Terminal<R> {
    pub(crate) input: R,
}

impl<R: BufRead> Terminal<R> {
    fn line(&mut self) -> anyhow::Result<Option<String>> {
        let mut s = String::new();
        if self.input.read_line(&mut s)? == 0 {
            return Ok(None); // end of input: cancelled
        }
        Ok(Some(s.trim().to_string()))
    }
}

impl<R: BufRead> Ask for Terminal<R> {
    fn choose(&mut self, text: &str, choices: &[Choice], selected: Option<&str>) -> anyhow::Result<Option<String>> {
        let mut err = std::io::stderr().lock();
        writeln!(err, "{text}\n")?;
        for (i, c) in choices.iter().enumerate() {
            let mark = if selected == Some(c.key.as_str()) { "*" } else { " " };
            writeln!(err, "{mark}{:>2}) {:<32} {}", i + 1, c.label, c.detail)?;
        }
        loop {
            write!(err, "\nLabel number (Enter or q to cancel): ")?;
            err.flush()?;
            let Some(answer) = self.line()? else { return Ok(None) };
            if answer.is_empty() || answer.eq_ignore_ascii_case("q") {
                return Ok(None);
            }
            match answer.parse::<usize>().ok().and_then(|n| n.checked_sub(1)).and_then(|n| choices.get(n)) {
                Some(c) => return Ok(Some(c.key.clone())),
                None => writeln!(err, "{answer:?} is not one of 1–{}", choices.len())?,
            }
        }
    }

    fn ask(&mut self, text: &str) -> anyhow::Result<Option<String>> {
        let mut err = std::io::stderr().lock();
        write!(err, "{text}\n> ")?;
        err.flush()?;
        Ok(self.line()?.filter(|s| !s.is_empty()))
    }

    fn show(&mut self, text: &str, _error: bool) -> anyhow::Result<()> {
        println!("{text}");
        Ok(())
    }
}

/// Runs the chooser on `files`; the exit code (0 done or cancelled, 2 a file failed).
pub(crate) fn run(labeler: &Labeler, files: &[PathBuf], ask: &mut dyn Ask, protect: bool) -> anyhow::Result<u8> {
    let t = &labeler.taxonomy;
    if files.is_empty() {
        ask.show("No files selected.", true)?;
        return Ok(2);
    }
    // protected files carry their label in the header: relabeling them means unprotecting
    let (protected, files): (Vec<&PathBuf>, Vec<&PathBuf>) =
        files.iter().partition(|f| mamori_protect::peek(f).is_ok_and(|h| h.is_some()));
    let statuses: Vec<_> = files.iter().map(|f| labeler.status(f)).collect();
    let current_of = |s: &mamori_label::Status| s.label_id.as_deref().and_then(|id| t.by_id(id));
    let mut text = String::new();
    for (f, s) in files.iter().zip(&statuses).take(10) {
        let name = f.file_name().map_or_else(|| f.display().to_string(), |n| n.to_string_lossy().into_owned());
        let label = match (current_of(s), &s.error) {
            (_, Some(e)) => format!("cannot be read: {e}"),
            (Some(l), _) => {
                let how = s.labeling_method.map_or("", |m| {
                    if m == Method::Privileged {
                        " (chosen by a person)"
                    } else {
                        " (automatic)"
                    }
                });
                format!("{}{how}", t.path(l))
            }
            (None, _) if s.is_labeled => {
                format!("labeled by another organisation ({})", s.label_name.clone().unwrap_or_default())
            }
            (None, _) => "no label".into(),
        };
        text.push_str(&format!("{name}: {label}\n"));
    }
    if files.len() > 10 {
        text.push_str(&format!("… and {} more files\n", files.len() - 10));
    }
    for p in &protected {
        text.push_str(&format!("{}: protected (unprotect it to change its label)\n", p.display()));
    }
    if files.is_empty() {
        ask.show(&text, true)?;
        return Ok(0);
    }
    text.push_str("\nChoose a label:");
    let mut choices: Vec<Choice> = t
        .labels
        .iter()
        .filter(|l| t.children(l).next().is_none())
        .map(|l| Choice {
            key: l.id.clone(),
            label: t.path(l),
            detail: match &l.protection {
                Some(_) => format!("{} Protects the file.", l.description),
                None => l.description.clone(),
            },
        })
        .collect();
    choices.push(Choice { key: REMOVE.into(), label: "No label".into(), detail: "Remove the label.".into() });
    let selected = match statuses.as_slice() {
        [one] => current_of(one).map(|l| l.id.clone()),
        _ => None,
    };
    let Some(key) = ask.choose(&text, &choices, selected.as_deref())? else { return Ok(0) };
    let target = (key != REMOVE).then(|| t.by_id(&key)).flatten();
    // one justification for every file it lowers
    let lowers = statuses.iter().any(|s| labeler.policy.needs_justification(current_of(s), target));
    let justification = if lowers {
        let what = target.map_or("Removing the label".to_string(), |l| {
            format!("{} is less sensitive than the current label", t.path(l))
        });
        match ask.ask(&format!("{what}: why? (your organisation requires a justification)"))? {
            Some(j) => Some(j),
            None => return Ok(0),
        }
    } else {
        None
    };
    let opts = WriteOptions { justification, ..WriteOptions::default() };
    let mut client = None;
    let outcomes: Vec<Outcome> = files
        .iter()
        .map(|f| match target {
            None => labeler.remove(f, &opts),
            Some(l) => apply_choice(&mut client, labeler, l, f, &opts, protect),
        })
        .collect();
    let failed = outcomes.iter().any(|o| o.status == OutcomeStatus::Failed);
    let mut report = String::from(if failed { "Finished, with errors:\n" } else { "Work finished:\n" });
    for o in &outcomes {
        report.push_str(&format!("{} {}: {}\n", o.status.as_str(), o.path, o.comment));
    }
    ask.show(report.trim_end(), failed)?;
    Ok(if failed { 2 } else { 0 })
}

/// Applies `label` as a person's choice (method Privileged, which automatic labeling never
/// overrides), protecting the file when `protect` and the label's template say so; the key
/// service client is made at the first file and kept in `client`.
pub(crate) fn apply_choice(
    client: &mut Option<mamori_protect::Client>,
    labeler: &Labeler,
    label: &mamori_label::Label,
    path: &std::path::Path,
    opts: &WriteOptions,
    protect: bool,
) -> Outcome {
    let mut o = labeler.set(path, label, Method::Privileged, opts);
    if protect && o.status != OutcomeStatus::Failed && label.protection.is_some() {
        crate::protect::protect_labeled(client, labeler, label, path, &mut o);
    }
    o
}
