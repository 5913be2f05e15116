//! Scoring findings against ground truth: precision, recall and F1 per type.
//!
//! A true value is (item path, type, canonical value); a file that holds the same value twice
//! counts it once. A corpus scores the types it covers: those its ground truth (or its list of
//! hard negatives) names. Findings of other types are counted apart, not as false alarms: a
//! corpus written for Japanese ids says nothing of whether a 9-digit column is an ITIN.
//! Used by `mamori eval` and by the tests that guard the catalog's accuracy.

use mamori_model::{canonical_value, Confidence, ItemReport};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One line of `ground-truth.jsonl`.
#[derive(Debug, Clone, Deserialize)]
pub struct TruthRow {
    /// Path relative to the corpus root, `/`-separated.
    pub path: String,
    #[serde(rename = "type")]
    pub type_id: String,
    pub value: String,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Score {
    pub true_positives: u64,
    pub false_positives: u64,
    pub false_negatives: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Score {
    fn finish(&mut self) {
        let (tp, fp, fnn) = (self.true_positives as f64, self.false_positives as f64, self.false_negatives as f64);
        self.precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 1.0 };
        self.recall = if tp + fnn > 0.0 { tp / (tp + fnn) } else { 1.0 };
        self.f1 = if self.precision + self.recall > 0.0 {
            2.0 * self.precision * self.recall / (self.precision + self.recall)
        } else {
            0.0
        };
    }
}

/// The result of one evaluation at one confidence threshold.
#[derive(Debug, Default, Serialize)]
pub struct Evaluation {
    pub min_confidence: Option<Confidence>,
    pub overall: Score,
    pub per_type: BTreeMap<String, Score>,
    /// The misses and false alarms, for a person to look at (values in clear: test data).
    pub false_positives: Vec<(String, String, String)>,
    pub false_negatives: Vec<(String, String, String)>,
    /// Distinct values found of types the corpus does not cover, per type.
    pub not_scored: BTreeMap<String, u64>,
    /// The corpus's hard negatives (decoys) reported as their type.
    pub hard_negatives_flagged: Vec<(String, String, String)>,
}

/// Scores `items` (paths relative to the corpus root) against `truth`, counting matches at or
/// above `min`. `negatives` are the corpus's hard negatives: they widen the covered types and
/// are listed when flagged.
pub fn evaluate(
    items: &[(String, &ItemReport)],
    truth: &[TruthRow],
    negatives: &[TruthRow],
    min: Confidence,
) -> Evaluation {
    let key = |t: &TruthRow| (t.path.clone(), t.type_id.clone(), canonical_value(&t.value));
    let expected: BTreeSet<(String, String, String)> = truth.iter().map(key).collect();
    let decoys: BTreeSet<(String, String, String)> = negatives.iter().map(key).collect();
    let covered: BTreeSet<&str> = truth.iter().chain(negatives).map(|t| t.type_id.as_str()).collect();
    let mut ev = Evaluation { min_confidence: Some(min), ..Default::default() };
    let mut found = BTreeSet::new();
    for (rel, item) in items {
        for f in &item.findings {
            for m in f.matches.iter().filter(|m| m.confidence >= min) {
                let k = (rel.clone(), f.type_id.clone(), canonical_value(m.value.reveal()));
                if covered.contains(f.type_id.as_str()) {
                    found.insert(k);
                } else if found.insert(k) {
                    *ev.not_scored.entry(f.type_id.clone()).or_default() += 1;
                }
            }
        }
    }
    found.retain(|k| covered.contains(k.1.as_str()));
    ev.hard_negatives_flagged = found.intersection(&decoys).cloned().collect();
    for k in found.union(&expected) {
        let s = ev.per_type.entry(k.1.clone()).or_default();
        match (found.contains(k), expected.contains(k)) {
            (true, true) => {
                s.true_positives += 1;
                ev.overall.true_positives += 1;
            }
            (true, false) => {
                s.false_positives += 1;
                ev.overall.false_positives += 1;
                ev.false_positives.push(k.clone());
            }
            (false, true) => {
                s.false_negatives += 1;
                ev.overall.false_negatives += 1;
                ev.false_negatives.push(k.clone());
            }
            (false, false) => unreachable!(),
        }
    }
    ev.overall.finish();
    for s in ev.per_type.values_mut() {
        s.finish();
    }
    ev
}
