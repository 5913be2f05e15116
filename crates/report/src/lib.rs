//! mamori's renderers: one [`Printer`] per output format, fed item by item, and the run
//! [`Summary`]. Values are masked unless the printer was made with `reveal`.
//!
//! JSON Lines is a public contract (one object per item, then one summary object without a
//! `path`); fields may be added, never renamed or removed.
#![forbid(unsafe_code)]

pub mod eval;
pub mod inventory;

use mamori_model::{Confidence, ItemReport, ItemStatus, ItemView};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Output formats of `mamori scan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Jsonl,
    Json,
    Csv,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "table" => Ok(Format::Table),
            "jsonl" => Ok(Format::Jsonl),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            _ => Err(format!("unknown format {s:?} (table, jsonl, json or csv)")),
        }
    }
}

/// Counts of one run: what was scanned, skipped and failed (by reason), and found (by type).
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub items: u64,
    pub scanned: u64,
    pub skipped: u64,
    pub errors: u64,
    pub bytes: u64,
    pub items_with_findings: u64,
    pub skipped_reasons: BTreeMap<String, u64>,
    pub error_reasons: BTreeMap<String, u64>,
    /// Files an incremental scan found unchanged since the last one (not scanned again), and
    /// how many of them hold sensitive content by the inventory.
    pub unchanged: u64,
    pub unchanged_with_findings: u64,
    /// Files the inventory forgot because they were deleted.
    pub removed: u64,
    /// Per type: items and matches.
    pub findings: BTreeMap<String, TypeCount>,
    pub elapsed_seconds: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct TypeCount {
    pub items: u64,
    pub matches: u64,
    pub best_confidence: Option<Confidence>,
}

impl Summary {
    pub fn add(&mut self, item: &ItemReport) {
        self.items += 1;
        let reason = || item.error.clone().unwrap_or_default();
        match item.status {
            ItemStatus::Ok => {
                self.scanned += 1;
                // input bytes: members are inside their container's bytes already
                if !item.nested {
                    self.bytes += item.size.unwrap_or(0);
                }
            }
            ItemStatus::Skipped => {
                self.skipped += 1;
                *self.skipped_reasons.entry(reason()).or_default() += 1;
            }
            ItemStatus::Error => {
                self.errors += 1;
                // reasons carry no path, so equal failures group together
                *self.error_reasons.entry(reason()).or_default() += 1;
            }
        }
        if item.has_findings() {
            self.items_with_findings += 1;
        }
        for f in &item.findings {
            let t = self.findings.entry(f.type_id.clone()).or_default();
            t.items += 1;
            t.matches += f.count as u64;
            t.best_confidence = t.best_confidence.max(Some(f.confidence));
        }
    }

    /// The process exit code: 2 when any item failed, else 1 when anything was found, else 0.
    pub fn exit_code(&self) -> i32 {
        if self.errors > 0 {
            2
        } else if self.items_with_findings + self.unchanged_with_findings > 0 {
            1
        } else {
            0
        }
    }

    /// Human-readable summary lines.
    pub fn write_text(&self, w: &mut dyn Write) -> io::Result<()> {
        let mb = self.bytes as f64 / 1e6;
        let secs = self.elapsed_seconds.max(1e-9);
        writeln!(
            w,
            "{} items: {} scanned ({:.1} MB), {} skipped, {} errors; {} with sensitive content ({:.2}s, {:.0} files/s, {:.1} MB/s)",
            self.items, self.scanned, mb, self.skipped, self.errors, self.items_with_findings, self.elapsed_seconds,
            self.items as f64 / secs, mb / secs
        )?;
        if self.unchanged + self.removed > 0 {
            writeln!(
                w,
                "  {} files unchanged since the last scan (skipped; {} of them with sensitive content); {} deleted files removed from the inventory",
                self.unchanged, self.unchanged_with_findings, self.removed
            )?;
        }
        for (t, c) in &self.findings {
            writeln!(
                w,
                "  {t}: {} matches in {} items (best {})",
                c.matches,
                c.items,
                c.best_confidence.map(|c| c.as_str()).unwrap_or("-")
            )?;
        }
        for (r, n) in &self.skipped_reasons {
            writeln!(w, "  skipped {n}: {r}")?;
        }
        for (r, n) in &self.error_reasons {
            writeln!(w, "  error {n}: {r}")?;
        }
        Ok(())
    }
}

/// Writes items in one format as they arrive.
pub struct Printer<W: Write> {
    out: W,
    format: Format,
    reveal: bool,
    csv_header: bool,
    json_first: bool,
}

const CSV_HEADER: [&str; 13] = [
    "path",
    "format",
    "status",
    "error",
    "type",
    "finding_confidence",
    "count",
    "value",
    "confidence",
    "offset",
    "line",
    "part",
    // how often the item holds this value (added after `part`: columns are only appended)
    "value_count",
];

impl<W: Write> Printer<W> {
    pub fn new(out: W, format: Format, reveal: bool) -> Self {
        Printer { out, format, reveal, csv_header: false, json_first: true }
    }

    /// Writes one item. Table output lists only items with findings, skips or errors.
    pub fn item(&mut self, item: &ItemReport) -> io::Result<()> {
        let view = ItemView { item, reveal: self.reveal };
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut self.out, &view)?;
                self.out.write_all(b"\n")
            }
            Format::Json => {
                self.out.write_all(if self.json_first { b"{\"items\": [\n" } else { b",\n" })?;
                self.json_first = false;
                serde_json::to_writer(&mut self.out, &view).map_err(io::Error::from)
            }
            Format::Csv => self.csv(item),
            Format::Table => self.table(item),
        }
    }

    fn value(&self, m: &mamori_model::Match) -> String {
        if self.reveal {
            m.value.reveal().to_string()
        } else {
            m.value.masked()
        }
    }

    fn csv(&mut self, item: &ItemReport) -> io::Result<()> {
        let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
        if !self.csv_header {
            w.write_record(CSV_HEADER)?;
            self.csv_header = true;
        }
        let base = [
            item.path.clone(),
            item.format.clone(),
            item.status.as_str().to_string(),
            item.error.clone().unwrap_or_default(),
        ];
        if item.findings.is_empty() {
            w.write_record(base.iter().cloned().chain(std::iter::repeat_n(String::new(), 9)))?;
        }
        for f in &item.findings {
            for m in &f.matches {
                let row = [
                    f.type_id.clone(),
                    f.confidence.to_string(),
                    f.count.to_string(),
                    self.value(m),
                    m.confidence.to_string(),
                    m.offset.to_string(),
                    m.line.to_string(),
                    m.part.clone().unwrap_or_default(),
                    m.count.to_string(),
                ];
                w.write_record(base.iter().cloned().chain(row))?;
            }
        }
        let bytes = w.into_inner().map_err(|e| io::Error::other(e.to_string()))?;
        self.out.write_all(&bytes)
    }

    fn table(&mut self, item: &ItemReport) -> io::Result<()> {
        if item.status == ItemStatus::Ok && item.findings.is_empty() {
            return Ok(());
        }
        writeln!(self.out, "{}", item.path)?;
        for f in &item.findings {
            let shown: Vec<String> = f
                .matches
                .iter()
                .take(3)
                .map(|m| match &m.part {
                    Some(part) => format!("{part}:{}", self.value(m)),
                    None => format!("{}:{}", m.line, self.value(m)),
                })
                .collect();
            let more = if f.count > 3 { format!(" (+{} more)", f.count - 3) } else { String::new() };
            writeln!(self.out, "  {:<34} {:<6} {:>5}  {}{}", f.type_id, f.confidence, f.count, shown.join("  "), more)?;
        }
        if item.status != ItemStatus::Ok {
            writeln!(self.out, "  {}: {}", item.status.as_str(), item.error.as_deref().unwrap_or(""))?;
        }
        if let Some(c) = &item.classification {
            let label = c.label.as_deref().unwrap_or("none");
            match c.outcome.as_str() {
                "success" => writeln!(self.out, "  label {label}; {}", c.comment)?,
                o => writeln!(self.out, "  label {label}; {o}: {}", c.comment)?,
            }
        }
        Ok(())
    }

    /// Closes the output with the summary (a JSON Lines object, the JSON document's tail, or
    /// text lines for the table).
    pub fn finish(mut self, summary: &Summary) -> io::Result<W> {
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut self.out, &serde_json::json!({ "summary": summary }))?;
                self.out.write_all(b"\n")?;
            }
            Format::Json => {
                if self.json_first {
                    self.out.write_all(b"{\"items\": [")?;
                }
                self.out.write_all(b"\n], \"summary\": ")?;
                serde_json::to_writer(&mut self.out, summary)?;
                self.out.write_all(b"}\n")?;
            }
            Format::Csv => {
                if !self.csv_header {
                    let mut w = csv::Writer::from_writer(Vec::new());
                    w.write_record(CSV_HEADER)?;
                    self.out.write_all(&w.into_inner().map_err(|e| io::Error::other(e.to_string()))?)?;
                }
            }
            Format::Table => {
                writeln!(self.out)?;
                summary.write_text(&mut self.out)?;
            }
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mamori_model::{Finding, Match, SensitiveValue};

    fn item() -> ItemReport {
        let mut r = ItemReport::new("share/hr/list.txt");
        r.format = "text".into();
        r.findings.push(Finding {
            type_id: "jp-my-number".into(),
            confidence: Confidence::High,
            count: 1,
            matches: vec![Match {
                value: SensitiveValue::new("6214 9832 0257"),
                confidence: Confidence::High,
                offset: 120,
                line: 3,
                part: None,
                count: 1,
                note: None,
            }],
        });
        r
    }

    #[test]
    fn jsonl_follows_the_contract_and_masks() {
        let mut p = Printer::new(Vec::new(), Format::Jsonl, false);
        p.item(&item()).unwrap();
        let mut s = Summary::default();
        s.add(&item());
        let out = String::from_utf8(p.finish(&s).unwrap()).unwrap();
        let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let f = &lines[0]["findings"][0];
        assert_eq!(lines[0]["path"], "share/hr/list.txt");
        assert_eq!(lines[0]["status"], "ok");
        assert!(lines[0]["error"].is_null());
        assert_eq!(f["type"], "jp-my-number");
        assert_eq!(f["count"], 1);
        assert_eq!(f["matches"][0]["value"], "6214 **** 0257");
        assert_eq!(f["matches"][0]["offset"], 120);
        assert!(lines[1].get("path").is_none());
        assert_eq!(s.exit_code(), 1);
    }

    #[test]
    fn json_and_csv_are_well_formed() {
        let mut p = Printer::new(Vec::new(), Format::Json, true);
        p.item(&item()).unwrap();
        p.item(&ItemReport::new("b")).unwrap();
        let out = p.finish(&Summary::default()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["items"][0]["findings"][0]["matches"][0]["value"], "6214 9832 0257");
        let mut p = Printer::new(Vec::new(), Format::Csv, false);
        p.item(&item()).unwrap();
        let out = String::from_utf8(p.finish(&Summary::default()).unwrap()).unwrap();
        assert!(out.starts_with("path,format,status"));
        assert!(out.contains("jp-my-number,high,1,6214 **** 0257,high,120,3"));
    }
}
