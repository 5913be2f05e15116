//! `mamori eval`: precision, recall and F1 per type against a corpus's ground truth.
//!
//! A corpus is a directory holding `ground-truth*.jsonl`. A corpus inside another (such as
//! `corpus/independent/`, written apart from the rules) is scored on its own, beside it.

use anyhow::Context;
use clap::Args;
use mamori_detect::{Confidence, Engine};
use mamori_report::eval::{evaluate, Evaluation, TruthRow};
use mamori_scan::{ScanOptions, Scanner};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Args)]
pub struct EvalArgs {
    /// The corpus directory; its ground truth is CORPUS/ground-truth*.jsonl.
    corpus: PathBuf,
    /// Count matches at or above this confidence.
    #[arg(long, default_value = "medium")]
    min_confidence: Confidence,
    /// Print the evaluation as JSON.
    #[arg(long)]
    json: bool,
    /// Fail (exit 1) when overall F1 is below this, in any corpus.
    #[arg(long)]
    min_f1: Option<f64>,
    /// Add sensitive type definitions from this file or directory (same id: yours replaces
    /// ours), to measure a change to a type before building it in.
    #[arg(long = "types")]
    types: Vec<PathBuf>,
}

const LEVELS: [Confidence; 3] = [Confidence::Low, Confidence::Medium, Confidence::High];

/// One corpus scored at every level.
struct Scored {
    name: String,
    by_level: Vec<Evaluation>,
}

impl Scored {
    fn at(&self, min: Confidence) -> &Evaluation {
        &self.by_level[LEVELS.iter().position(|&l| l == min).unwrap()]
    }
}

pub fn run(a: EvalArgs) -> anyhow::Result<u8> {
    let engine = Arc::new(Engine::new(&crate::load_catalog(&a.types, &[])?)?);
    let nested: Vec<PathBuf> = std::fs::read_dir(&a.corpus)
        .with_context(|| format!("reading {}", a.corpus.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !truth_files(p).is_empty())
        .collect();
    let mut corpora = vec![score(&engine, &a.corpus, &nested, "corpus")?];
    for n in &nested {
        let name = n.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        corpora.push(score(&engine, n, &[], &name)?);
    }
    if a.json {
        let mut root = serde_json::to_value(corpora[0].at(a.min_confidence))?;
        let others: BTreeMap<&str, &Evaluation> =
            corpora[1..].iter().map(|c| (c.name.as_str(), c.at(a.min_confidence))).collect();
        root["corpora"] = serde_json::to_value(others)?;
        println!("{}", serde_json::to_string_pretty(&root)?);
    } else {
        for c in &corpora {
            print_table(c, a.min_confidence);
        }
    }
    let below = a.min_f1.is_some_and(|min| corpora.iter().any(|c| c.at(a.min_confidence).overall.f1 < min));
    Ok(u8::from(below))
}

/// The ground-truth files of a corpus directory, sorted.
fn truth_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("ground-truth") && n.ends_with(".jsonl"))
        })
        .collect();
    files.sort();
    files
}

/// Scans `dir` (less the corpora nested in it) and scores it at every level.
fn score(engine: &Arc<Engine>, dir: &Path, nested: &[PathBuf], name: &str) -> anyhow::Result<Scored> {
    let files = truth_files(dir);
    if files.is_empty() {
        anyhow::bail!("{}: no ground-truth*.jsonl", dir.display());
    }
    let mut truth: Vec<TruthRow> = Vec::new();
    for truth_path in &files {
        truth.extend(read_rows(truth_path)?);
    }
    let decoys = dir.join("hard-negatives.jsonl");
    let negatives = if decoys.exists() { read_rows(&decoys)? } else { Vec::new() };
    // the ground truth and the generators describe the corpus; they are not part of it
    let mut exclude = vec![
        "ground-truth*.jsonl".to_string(),
        "hard-negatives*.jsonl".to_string(),
        "generate*.py".to_string(),
        "README.md".to_string(),
    ];
    exclude.extend(nested.iter().map(|n| globset::escape(&n.to_string_lossy())));
    let scanner =
        Scanner::new(engine.clone(), ScanOptions { max_matches: usize::MAX, exclude, ..ScanOptions::default() })?;
    let items = Mutex::new(Vec::new());
    scanner.scan_paths(&[dir.to_path_buf()], |item| {
        let rel = Path::new(&item.path)
            .strip_prefix(dir)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_else(|_| item.path.clone());
        items.lock().unwrap().push((rel, item));
    })?;
    let items = items.into_inner().unwrap();
    let refs: Vec<(String, &mamori_model::ItemReport)> = items.iter().map(|(r, i)| (r.clone(), i)).collect();
    let by_level = LEVELS.iter().map(|&l| evaluate(&refs, &truth, &negatives, l)).collect();
    Ok(Scored { name: name.to_string(), by_level })
}

/// The rows of a JSON Lines truth file.
fn read_rows(path: &Path) -> anyhow::Result<Vec<TruthRow>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("{}:{}", path.display(), i + 1)))
        .collect()
}

fn print_table(c: &Scored, min: Confidence) {
    let ev = c.at(min);
    println!("== {} (counts at >= {min}; F1 at each level) ==", c.name);
    println!(
        "{:<36} {:>5} {:>5} {:>5} {:>9} {:>7} {:>6} {:>7} {:>7} {:>7}",
        "type", "TP", "FP", "FN", "precision", "recall", "F1", "F1 low", "F1 med", "F1 high"
    );
    let f1s = |t: Option<&str>| -> Vec<f64> {
        c.by_level.iter().map(|e| t.map_or(e.overall.f1, |t| e.per_type.get(t).map_or(1.0, |s| s.f1))).collect()
    };
    for (t, s) in &ev.per_type {
        let f = f1s(Some(t));
        println!(
            "{t:<36} {:>5} {:>5} {:>5} {:>9.3} {:>7.3} {:>6.3} {:>7.3} {:>7.3} {:>7.3}",
            s.true_positives, s.false_positives, s.false_negatives, s.precision, s.recall, s.f1, f[0], f[1], f[2]
        );
    }
    let (o, f) = (&ev.overall, f1s(None));
    println!(
        "{:<36} {:>5} {:>5} {:>5} {:>9.3} {:>7.3} {:>6.3} {:>7.3} {:>7.3} {:>7.3}",
        "overall",
        o.true_positives,
        o.false_positives,
        o.false_negatives,
        o.precision,
        o.recall,
        o.f1,
        f[0],
        f[1],
        f[2]
    );
    for (p, t, v) in &ev.false_negatives {
        println!("missed       {t:<30} {p}: {v}");
    }
    for (p, t, v) in &ev.false_positives {
        println!("false alarm  {t:<30} {p}: {v}");
    }
    if !ev.hard_negatives_flagged.is_empty() {
        println!("hard negatives flagged (decoys among the false alarms): {}", ev.hard_negatives_flagged.len());
    }
    for (t, n) in &ev.not_scored {
        println!("not scored   {t:<30} {n} value(s): the corpus does not cover this type");
    }
    println!();
}
