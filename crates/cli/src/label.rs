//! `mamori labels`, `status`, `label set|remove` and `classify`: labels from scripts, with the
//! fields and per-file results of the AIP cmdlets (Get-AIPFileStatus, Set-AIPFileLabel,
//! Set-AIPFileClassification).

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use mamori_label::{ClassifyOptions, Labeler, Metadata, Method, Outcome, Status, WriteOptions};
use mamori_model::Finding;
use rayon::prelude::*;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Where the taxonomy and policy come from.
#[derive(Args, Clone)]
pub struct LabelsDir {
    /// A directory with taxonomy.toml and policy.toml (default: the built-in `labels/`).
    #[arg(long = "labels", env = "MAMORI_LABELS", global = true)]
    dir: Option<PathBuf>,
}

impl LabelsDir {
    pub fn load(&self) -> anyhow::Result<Labeler> {
        Ok(Labeler::load(self.dir.as_deref())?)
    }
}

#[derive(Subcommand)]
pub enum LabelsCommand {
    /// List the labels of the taxonomy: id, name, order, protection.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        labels: LabelsDir,
    },
}

#[derive(Args)]
pub struct StatusArgs {
    /// Files and directories (recursive); `-` reads paths from standard input, one per line.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// One JSON object per file.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// CSV with Get-AIPFileStatus's column names.
    #[arg(long)]
    csv: bool,
    #[command(flatten)]
    labels: LabelsDir,
}

#[derive(Subcommand)]
pub enum LabelCommand {
    /// Apply a label to files (directories recursively).
    Set {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The label: its name, `Parent/Sublabel`, or its GUID.
        #[arg(long, short = 'l', required_unless_present = "interactive")]
        label: Option<String>,
        /// Show the current label and choose the new one at the terminal (asks for a
        /// justification when lowering, protects when the label says so).
        #[arg(long, conflicts_with_all = ["label", "json"])]
        interactive: bool,
        /// Why a label is lowered (required by the policy; without it such files are skipped).
        #[arg(long)]
        justification: Option<String>,
        /// privileged (a person chose it: classify never overrides it) or standard (automatic).
        #[arg(long, default_value = "privileged", value_parser = parse_method)]
        method: Method,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Remove this organisation's label from files.
    Remove {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Why the label is removed (required by the policy).
        #[arg(long)]
        justification: Option<String>,
        #[command(flatten)]
        write: WriteArgs,
    },
}

#[derive(Args)]
pub struct WriteArgs {
    /// Where Office files carry the label: auto (where this organisation's label already is,
    /// else custom), custom (docProps/custom.xml), labelinfo (docMetadata/LabelInfo.xml), both.
    #[arg(long, default_value = "auto")]
    metadata: Metadata,
    /// Keep each file's modification time.
    #[arg(long)]
    preserve_file_details: bool,
    /// One JSON object per file.
    #[arg(long)]
    json: bool,
    /// Worker threads (0: one per core).
    #[arg(long, short = 'j', default_value_t = 0)]
    threads: usize,
    #[command(flatten)]
    labels: LabelsDir,
}

#[derive(Args)]
pub struct ClassifyArgs {
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Decide and report only; change nothing.
    #[arg(long)]
    what_if: bool,
    /// Apply recommended rules too, as the AIP scanner's RecommendedAsAutomatic.
    #[arg(long)]
    recommended_as_automatic: bool,
    /// Load more sensitive type definitions (repeatable).
    #[arg(long = "types")]
    types: Vec<PathBuf>,
    #[command(flatten)]
    write: WriteArgs,
}

fn parse_method(s: &str) -> Result<Method, String> {
    Method::parse(s).ok_or_else(|| format!("unknown method {s:?} (privileged or standard)"))
}

/// Files under `paths`, skipping mamori's temp files and office lock files.
/// The files named, directories walked (skipping mamori's temp files and office lock files);
/// `-` reads paths from standard input.
pub(crate) fn files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            for line in std::io::stdin().lock().lines() {
                let line = line.context("reading paths from standard input")?;
                if !line.trim().is_empty() {
                    out.extend(files(&[PathBuf::from(line.trim_end())])?);
                }
            }
            continue;
        }
        if !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        for e in walkdir::WalkDir::new(p).follow_links(false).sort_by_file_name() {
            let e = e.with_context(|| format!("walking {}", p.display()))?;
            let name = e.file_name().to_string_lossy();
            let ours = name.ends_with(".mamori-tmp") || name.starts_with(".~lock.") || name.starts_with("~$");
            if e.file_type().is_file() && !ours {
                out.push(e.into_path());
            }
        }
    }
    Ok(out)
}

fn pool(threads: usize) -> anyhow::Result<rayon::ThreadPool> {
    Ok(rayon::ThreadPoolBuilder::new().num_threads(threads).build()?)
}

pub fn labels(c: LabelsCommand) -> anyhow::Result<u8> {
    let LabelsCommand::List { json, labels } = c;
    let l = labels.load()?;
    let t = &l.taxonomy;
    let mut out = std::io::stdout().lock();
    for label in &t.labels {
        let applicable = t.children(label).next().is_none();
        if json {
            let row = serde_json::json!({
                "id": label.id,
                "name": label.name,
                "display_name": label.display_name(),
                "path": t.path(label),
                "parent": label.parent,
                "order": label.order,
                "color": label.color,
                "description": label.description,
                "applicable": applicable,
                "protection": label.protection,
                "site_id": t.organization.site_id,
            });
            writeln!(out, "{row}")?;
        } else {
            let protection = match &label.protection {
                None => "none".to_string(),
                Some(p) => p
                    .grants
                    .iter()
                    .map(|g| format!("{}: {}", g.principal, g.rights.join(",")))
                    .collect::<Vec<_>>()
                    .join("; "),
            };
            let name = if applicable { t.path(label) } else { format!("{} (choose a sublabel)", t.path(label)) };
            writeln!(out, "{:<4} {}  {:<40} {}", label.order, label.id, name, protection)?;
        }
    }
    Ok(0)
}

pub fn status(a: StatusArgs) -> anyhow::Result<u8> {
    let labeler = a.labels.load()?;
    let files = files(&a.paths)?;
    let rows: Vec<Status> = files
        .par_iter()
        .map(|f| match mamori_protect::peek(f) {
            Ok(None) => labeler.status(f),
            Ok(Some(h)) => labeler.protected_status(f, Ok(mamori_protect::protection_of(&h))),
            Err(mamori_protect::Error::Io { .. }) => labeler.status(f),
            Err(e) => labeler.protected_status(f, Err(e.to_string())),
        })
        .collect();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if a.csv {
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "FileName",
            "IsLabeled",
            "LabelId",
            "LabelName",
            "ParentLabelName",
            "LabelingMethod",
            "LabelDate",
            "SiteId",
            "IsProtected",
            "Metadata",
            "Error",
            "ContentId",
            "RMSOwner",
            "RMSIssuer",
        ])?;
        for s in &rows {
            let o = |v: &Option<String>| v.clone().unwrap_or_default();
            w.write_record([
                s.path.clone(),
                capital(s.is_labeled),
                o(&s.label_id),
                o(&s.label_name),
                o(&s.parent_label_name),
                s.labeling_method.map(|m| m.as_str().to_string()).unwrap_or_default(),
                o(&s.label_date),
                o(&s.site_id),
                capital(s.is_protected),
                s.metadata.map_or("", |m| m.as_str()).to_string(),
                o(&s.error),
                s.protection.as_ref().map(|p| p.content_id.clone()).unwrap_or_default(),
                s.protection.as_ref().map(|p| p.owner.clone()).unwrap_or_default(),
                s.protection.as_ref().map(|p| p.issuer.clone()).unwrap_or_default(),
            ])?;
        }
        w.flush()?;
    } else {
        for s in &rows {
            if a.json {
                writeln!(out, "{}", serde_json::to_string(s)?)?;
            } else {
                let label = match (&s.parent_label_name, &s.label_name) {
                    (Some(p), Some(n)) => format!("{p}/{n}"),
                    (None, Some(n)) => n.clone(),
                    _ if s.is_labeled => s.label_id.clone().unwrap_or_default(),
                    _ => "-".into(),
                };
                let detail = match &s.error {
                    Some(e) => format!("error: {e}"),
                    None if s.protection.is_some() => {
                        let p = s.protection.as_ref().expect("checked");
                        format!("protected: document {} owner {}", p.content_id, p.owner)
                    }
                    None if s.is_labeled => format!(
                        "{} {} {}",
                        s.labeling_method.map_or("", |m| m.as_str()),
                        s.label_date.as_deref().unwrap_or(""),
                        s.metadata.map_or("", |m| m.as_str())
                    ),
                    None => String::new(),
                };
                writeln!(out, "{}\t{label}\t{detail}", s.path)?;
            }
        }
    }
    Ok(if rows.iter().any(|s| s.error.is_some()) { 2 } else { 0 })
}

fn capital(b: bool) -> String {
    if b { "True" } else { "False" }.into()
}

fn write_options(w: &WriteArgs, justification: Option<String>, what_if: bool) -> WriteOptions {
    WriteOptions { justification, metadata: w.metadata, preserve_mtime: w.preserve_file_details, what_if }
}

pub fn label(c: LabelCommand) -> anyhow::Result<u8> {
    match c {
        LabelCommand::Set { paths, interactive: true, write, .. } => {
            let labeler = write.labels.load()?;
            let mut terminal = crate::chooser::Terminal { input: std::io::stdin().lock() };
            crate::chooser::run(&labeler, &files(&paths)?, &mut terminal, true)
        }
        LabelCommand::Set { paths, label, justification, method, write, .. } => {
            let labeler = write.labels.load()?;
            let label = label.context("--label is required")?;
            let target = labeler.taxonomy.applicable(&label)?.clone();
            let opts = write_options(&write, justification, false);
            let files = files(&paths)?;
            let reporter = Reporter::new(write.json, Some(files.len()));
            pool(write.threads)?
                .install(|| files.par_iter().for_each(|f| reporter.emit(labeler.set(f, &target, method, &opts))));
            reporter.finish()
        }
        LabelCommand::Remove { paths, justification, write } => {
            let labeler = write.labels.load()?;
            let opts = write_options(&write, justification, false);
            let files = files(&paths)?;
            let reporter = Reporter::new(write.json, Some(files.len()));
            pool(write.threads)?.install(|| files.par_iter().for_each(|f| reporter.emit(labeler.remove(f, &opts))));
            reporter.finish()
        }
    }
}

pub fn classify(a: ClassifyArgs) -> anyhow::Result<u8> {
    let labeler = a.write.labels.load()?;
    let catalog = crate::load_catalog(&a.types, &[])?;
    let unknown: Vec<&str> = labeler.policy.type_ids().filter(|id| catalog.get(id).is_none()).collect();
    if !unknown.is_empty() {
        anyhow::bail!("the policy names unknown sensitive types: {}", unknown.join(", "));
    }
    let engine = Arc::new(mamori_detect::Engine::new(&catalog)?);
    let scanner =
        mamori_scan::Scanner::new(engine, mamori_scan::ScanOptions { threads: a.write.threads, ..Default::default() })?;
    let files = files(&a.paths)?;
    let opts = write_options(&a.write, None, a.what_if);
    let how = ClassifyOptions { recommended_as_automatic: a.recommended_as_automatic, apply_default_label: true };
    let reporter = Reporter::new(a.write.json, Some(files.len()));
    pool(a.write.threads)?
        .install(|| files.par_iter().for_each(|f| reporter.emit(classify_one(&scanner, &labeler, f, &opts, &how))));
    reporter.finish()
}

/// Scans one file and everything inside it (members, attachments), and labels it by what all
/// of that holds.
fn classify_one(
    scanner: &mamori_scan::Scanner,
    labeler: &Labeler,
    f: &std::path::Path,
    opts: &WriteOptions,
    how: &ClassifyOptions,
) -> Outcome {
    // The file and everything inside it (members, attachments) decide its label.
    let items = scanner.scan_one(f).items;
    if let Some(bad) = items.iter().find(|i| !i.nested && i.status != mamori_model::ItemStatus::Ok) {
        return labeler.not_classified(f, bad.error.as_deref().unwrap_or_default());
    }
    let unread = crate::scan::policy::unread_inside(&items);
    let findings = Finding::merge(items.into_iter().flat_map(|i| i.findings));
    let mut o = labeler.classify(f, &findings, opts, how);
    o.comment.push_str(&unread.unwrap_or_default());
    o
}

/// Prints each file's result as it completes (`STATUS path: comment`, or JSON Lines), with a
/// progress line on a terminal; the exit code is 2 if any file failed.
pub(crate) struct Reporter {
    json: bool,
    state: Mutex<ReportState>,
    progress: Option<ProgressBar>,
}

struct ReportState {
    out: std::io::BufWriter<std::io::Stdout>,
    counts: [usize; 3],
    failed_to_write: Option<std::io::Error>,
}

impl Reporter {
    /// `total`: the number of files, for a progress bar on a terminal.
    pub(crate) fn new(json: bool, total: Option<usize>) -> Reporter {
        let progress = total.filter(|_| std::io::stderr().is_terminal()).map(|total| {
            let pb = ProgressBar::new(total as u64);
            pb.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} files, {per_sec}, eta {eta} {msg}")
                    .expect("valid template"),
            );
            pb
        });
        let out = std::io::BufWriter::new(std::io::stdout());
        Reporter { json, state: Mutex::new(ReportState { out, counts: [0; 3], failed_to_write: None }), progress }
    }

    pub(crate) fn emit(&self, o: Outcome) {
        let line = if self.json {
            serde_json::to_string(&o).expect("outcomes serialize")
        } else {
            let rec = o.recommended_label.as_ref().map(|r| format!(" [recommended: {r}]")).unwrap_or_default();
            format!("{:<8} {}: {}{rec}", o.status.as_str(), o.path, o.comment)
        };
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.counts[o.status as usize] += 1;
        if st.failed_to_write.is_none() {
            let written = match &self.progress {
                Some(pb) => pb.suspend(|| writeln!(st.out, "{line}").and_then(|_| st.out.flush())),
                None => writeln!(st.out, "{line}"),
            };
            st.failed_to_write = written.err();
        }
        drop(st);
        if let Some(pb) = &self.progress {
            pb.inc(1);
        }
    }

    pub(crate) fn finish(self) -> anyhow::Result<u8> {
        if let Some(pb) = &self.progress {
            pb.finish_and_clear();
        }
        let mut st = self.state.into_inner().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = st.failed_to_write.take() {
            return Err(e).context("writing output");
        }
        st.out.flush().context("writing output")?;
        let [ok, skipped, failed] = st.counts;
        if !self.json || std::io::stderr().is_terminal() {
            eprintln!("{ok} succeeded, {skipped} skipped, {failed} failed");
        }
        Ok(if failed > 0 { 2 } else { 0 })
    }
}
