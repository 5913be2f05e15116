//! The policy: from findings to a label, with the reasons, and the rules for changing a label.

use crate::taxonomy::{Label, Taxonomy};
use crate::Error;
use mamori_model::{Confidence, Finding};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// `labels/policy.toml`, with its label names resolved against the taxonomy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Label id applied by `classify` to an unlabeled file that no rule matches.
    pub default_label: Option<String>,
    /// Every file must carry a label: removing one needs a justification.
    pub mandatory: bool,
    /// Lowering or removing a label needs a justification.
    pub justification_required: bool,
    pub rules: Vec<Rule>,
}

#[derive(Clone, Debug)]
pub struct Rule {
    /// The label id this rule applies or recommends.
    pub label: String,
    pub mode: Mode,
    pub any: Vec<Condition>,
    pub all: Vec<Condition>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Apply the label.
    Automatic,
    /// Suggest the label; a person decides.
    Recommended,
}

/// "At least `min_count` matches of `type` at `min_confidence` or above."
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_id: String,
    #[serde(default = "low")]
    pub min_confidence: Confidence,
    #[serde(default = "one")]
    pub min_count: usize,
}

fn low() -> Confidence {
    Confidence::Low
}
fn one() -> usize {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    default_label: Option<String>,
    #[serde(default)]
    mandatory: bool,
    #[serde(default)]
    justification_required: bool,
    #[serde(default, rename = "rule")]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    label: String,
    mode: Mode,
    #[serde(default)]
    any: Vec<Condition>,
    #[serde(default)]
    all: Vec<Condition>,
}

/// Why a rule matched: one condition that held, with what was found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    #[serde(rename = "type")]
    pub type_id: String,
    pub count: usize,
    pub min_confidence: Confidence,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} × {} at {} or above", self.count, self.type_id, self.min_confidence)
    }
}

/// A label the policy arrives at, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub label_id: String,
    pub mode: Mode,
    pub reasons: Vec<Reason>,
}

/// What the policy says about one item's findings.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Decision {
    /// The most sensitive label of the automatic rules that matched.
    pub automatic: Option<Verdict>,
    /// The most sensitive label of the recommended rules that matched, when it is more
    /// sensitive than the automatic one.
    pub recommended: Option<Verdict>,
}

impl Policy {
    /// The policy built into the binary (`labels/policy.toml`).
    pub fn builtin(taxonomy: &Taxonomy) -> Policy {
        Policy::parse(include_str!("../../../labels/policy.toml"), "labels/policy.toml", taxonomy)
            .expect("the built-in policy is valid")
    }

    pub fn load(path: &Path, taxonomy: &Taxonomy) -> Result<Policy, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Policy::parse(&text, &path.display().to_string(), taxonomy)
    }

    /// Parses and resolves every label name to an applicable label of `taxonomy`.
    pub fn parse(text: &str, origin: &str, taxonomy: &Taxonomy) -> Result<Policy, Error> {
        let bad = |reason: String| Error::Config { origin: origin.to_string(), reason };
        let raw: RawPolicy = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let resolve = |name: &str| taxonomy.applicable(name).map(|l| l.id.clone()).map_err(|e| bad(e.to_string()));
        let default_label = raw.default_label.as_deref().map(resolve).transpose()?;
        let mut rules = Vec::new();
        for (n, r) in raw.rules.into_iter().enumerate() {
            if r.any.is_empty() && r.all.is_empty() {
                return Err(bad(format!("rule {} ({}) has no condition: give `any` or `all`", n + 1, r.label)));
            }
            rules.push(Rule { label: resolve(&r.label)?, mode: r.mode, any: r.any, all: r.all });
        }
        Ok(Policy {
            default_label,
            mandatory: raw.mandatory,
            justification_required: raw.justification_required,
            rules,
        })
    }

    /// Type ids named by the rules, to check against the type catalog.
    pub fn type_ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().flat_map(|r| r.any.iter().chain(&r.all)).map(|c| c.type_id.as_str())
    }

    /// Evaluates every rule against one item's findings.
    pub fn decide(&self, taxonomy: &Taxonomy, findings: &[Finding]) -> Decision {
        let mut best: [Option<Verdict>; 2] = [None, None];
        for rule in &self.rules {
            let Some(reasons) = rule.matches(findings) else { continue };
            let slot = &mut best[rule.mode as usize];
            match slot {
                Some(v) if rank(taxonomy, &v.label_id) > rank(taxonomy, &rule.label) => {}
                Some(v) if v.label_id == rule.label => v.reasons.extend(reasons),
                _ => *slot = Some(Verdict { label_id: rule.label.clone(), mode: rule.mode, reasons }),
            }
        }
        let [automatic, recommended] = best;
        let above = |r: &Verdict| match &automatic {
            Some(a) => rank(taxonomy, &r.label_id) > rank(taxonomy, &a.label_id),
            None => true,
        };
        let recommended = recommended.filter(above);
        Decision { automatic, recommended }
    }

    /// Does changing from `from` to `to` (`None`: removing) need a justification?
    pub fn needs_justification(&self, from: Option<&Label>, to: Option<&Label>) -> bool {
        match (from, to) {
            (None, _) => false,
            (Some(_), None) => self.justification_required || self.mandatory,
            (Some(f), Some(t)) => self.justification_required && t.order < f.order,
        }
    }
}

fn rank(taxonomy: &Taxonomy, id: &str) -> u32 {
    taxonomy.by_id(id).map_or(0, |l| l.order)
}

impl Rule {
    /// The reasons this rule holds for `findings`, or `None`.
    fn matches(&self, findings: &[Finding]) -> Option<Vec<Reason>> {
        let held: Vec<Option<Reason>> = self.all.iter().map(|c| c.holds(findings)).collect();
        if held.iter().any(Option::is_none) {
            return None;
        }
        let mut reasons: Vec<Reason> = held.into_iter().flatten().collect();
        if !self.any.is_empty() {
            let any: Vec<Reason> = self.any.iter().filter_map(|c| c.holds(findings)).collect();
            if any.is_empty() {
                return None;
            }
            reasons.extend(any);
        }
        Some(reasons)
    }
}

impl Condition {
    fn holds(&self, findings: &[Finding]) -> Option<Reason> {
        let f = findings.iter().find(|f| f.type_id == self.type_id)?;
        let count = if f.matches.is_empty() {
            if f.confidence >= self.min_confidence {
                f.count
            } else {
                0
            }
        } else {
            // every occurrence counts, as in Purview: a value written three times is three
            f.matches.iter().filter(|m| m.confidence >= self.min_confidence).map(|m| m.count.max(1) as usize).sum()
        };
        (count >= self.min_count && count > 0).then(|| Reason {
            type_id: self.type_id.clone(),
            count,
            min_confidence: self.min_confidence,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mamori_model::{Match, SensitiveValue};

    fn finding(type_id: &str, confs: &[Confidence]) -> Finding {
        let matches: Vec<Match> = confs
            .iter()
            .map(|&confidence| Match {
                value: SensitiveValue::new("x".to_string()),
                confidence,
                offset: 0,
                line: 1,
                part: None,
                count: 1,
                note: None,
            })
            .collect();
        Finding { type_id: type_id.into(), confidence: *confs.iter().max().unwrap(), count: confs.len(), matches }
    }

    #[test]
    fn the_most_sensitive_automatic_label_wins_with_its_reasons() {
        let t = Taxonomy::builtin();
        let p = Policy::builtin(&t);
        let d = p.decide(
            &t,
            &[finding("iban", &[Confidence::High]), finding("jp-my-number", &[Confidence::High, Confidence::Low])],
        );
        let a = d.automatic.unwrap();
        assert_eq!(t.by_id(&a.label_id).unwrap().name, "Confidential-Restricted");
        assert_eq!(
            a.reasons,
            vec![Reason { type_id: "jp-my-number".into(), count: 1, min_confidence: Confidence::High }]
        );
        assert!(d.recommended.is_none(), "a recommendation below the automatic label is dropped");
    }

    #[test]
    fn a_medium_my_number_is_only_recommended() {
        let t = Taxonomy::builtin();
        let p = Policy::builtin(&t);
        let d = p.decide(&t, &[finding("jp-my-number", &[Confidence::Medium])]);
        assert!(d.automatic.is_none());
        assert_eq!(t.by_id(&d.recommended.unwrap().label_id).unwrap().name, "Confidential-AllEmployees");
        assert!(p.decide(&t, &[finding("us-ssn", &[Confidence::Low])]).automatic.is_none());
    }

    #[test]
    fn all_conditions_must_hold_and_counts_count() {
        let t = Taxonomy::builtin();
        let p = Policy::builtin(&t);
        let phones = finding("jp-phone-number", &[Confidence::Medium; 5]);
        let mails = finding("email-address", &[Confidence::Medium; 5]);
        assert!(p.decide(&t, std::slice::from_ref(&phones)).recommended.is_none());
        let d = p.decide(&t, &[phones, mails]);
        assert_eq!(t.by_id(&d.recommended.unwrap().label_id).unwrap().name, "Internal");
        let few = finding("email-address", &[Confidence::High; 99]);
        assert!(p.decide(&t, &[few]).automatic.is_none());
    }

    #[test]
    fn lowering_or_removing_needs_a_justification() {
        let t = Taxonomy::builtin();
        let p = Policy::builtin(&t);
        let (public, internal) = (t.find("Public"), t.find("Internal"));
        assert!(p.needs_justification(internal, public));
        assert!(!p.needs_justification(public, internal));
        assert!(!p.needs_justification(None, public));
        assert!(p.needs_justification(public, None));
    }

    #[test]
    fn unknown_labels_and_empty_rules_are_refused() {
        let t = Taxonomy::builtin();
        let e = Policy::parse("default_label = 'Secret'", "p", &t).unwrap_err().to_string();
        assert!(e.contains("Secret"), "{e}");
        let e = Policy::parse("[[rule]]\nlabel='Public'\nmode='automatic'\n", "p", &t).unwrap_err().to_string();
        assert!(e.contains("no condition"), "{e}");
    }
}
