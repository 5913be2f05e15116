//! `mamori eval`: precision, recall and F1 per type against a corpus's ground truth.

use anyhow::Context;
use clap::Args;
use mamori_detect::{Confidence, Engine};
use mamori_report::eval::{evaluate, TruthRow};
use mamori_scan::{ScanOptions, Scanner};
use std::path::PathBuf;
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
    /// Fail (exit 1) when overall F1 is below this.
    #[arg(long)]
    min_f1: Option<f64>,
}

pub fn run(a: EvalArgs) -> anyhow::Result<u8> {
    let mut truth: Vec<TruthRow> = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&a.corpus)
        .with_context(|| format!("reading {}", a.corpus.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("ground-truth") && n.ends_with(".jsonl"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        anyhow::bail!("{}: no ground-truth*.jsonl", a.corpus.display());
    }
    for truth_path in &files {
        let text = std::fs::read_to_string(truth_path).with_context(|| format!("reading {}", truth_path.display()))?;
        for (i, l) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            truth.push(serde_json::from_str(l).with_context(|| format!("{}:{}", truth_path.display(), i + 1))?);
        }
    }
    let engine = Arc::new(Engine::new(&crate::load_catalog(&[], &[])?)?);
    // the ground truth and the generator describe the corpus; they are not part of it
    let exclude = vec!["ground-truth*.jsonl".to_string(), "generate*.py".to_string()];
    let scanner = Scanner::new(engine, ScanOptions { max_matches: usize::MAX, exclude, ..ScanOptions::default() })?;
    let items = Mutex::new(Vec::new());
    scanner.scan_paths(std::slice::from_ref(&a.corpus), |item| {
        let rel = std::path::Path::new(&item.path)
            .strip_prefix(&a.corpus)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_else(|_| item.path.clone());
        items.lock().unwrap().push((rel, item));
    })?;
    let items = items.into_inner().unwrap();
    let refs: Vec<(String, &mamori_model::ItemReport)> = items.iter().map(|(r, i)| (r.clone(), i)).collect();
    let ev = evaluate(&refs, &truth, a.min_confidence);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&ev)?);
    } else {
        println!("{:<36} {:>5} {:>5} {:>5} {:>9} {:>7} {:>6}", "type", "TP", "FP", "FN", "precision", "recall", "F1");
        for (t, s) in &ev.per_type {
            println!(
                "{t:<36} {:>5} {:>5} {:>5} {:>9.3} {:>7.3} {:>6.3}",
                s.true_positives, s.false_positives, s.false_negatives, s.precision, s.recall, s.f1
            );
        }
        let o = &ev.overall;
        println!(
            "{:<36} {:>5} {:>5} {:>5} {:>9.3} {:>7.3} {:>6.3}   (at >= {})",
            "overall",
            o.true_positives,
            o.false_positives,
            o.false_negatives,
            o.precision,
            o.recall,
            o.f1,
            a.min_confidence
        );
        for (p, t, v) in &ev.false_negatives {
            println!("missed       {t:<30} {p}: {v}");
        }
        for (p, t, v) in &ev.false_positives {
            println!("false alarm  {t:<30} {p}: {v}");
        }
    }
    Ok(match a.min_f1 {
        Some(min) if ev.overall.f1 < min => 1,
        _ => 0,
    })
}
