//! Reports of the inventory: the AIP scanner's DetailedReport as CSV, JSON, and a dashboard in
//! one self-contained HTML file (no network, no external script or style).

use mamori_inventory::Record;
use mamori_model::ItemStatus;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Counts over the files of an inventory (members count only as part of their file).
#[derive(Debug, Default, Serialize)]
pub struct Totals {
    pub files: u64,
    pub items: u64,
    pub bytes: u64,
    pub with_sensitive_content: u64,
    pub labeled: u64,
    pub protected: u64,
    pub skipped: u64,
    pub errors: u64,
    pub underlabeled: u64,
    pub unprotected: u64,
    /// Per type: files holding it, and matches.
    pub types: BTreeMap<String, (u64, u64)>,
    /// Files per label (`(unlabeled)` for none).
    pub labels: BTreeMap<String, u64>,
    /// Items skipped or failed, per reason.
    pub not_scanned: BTreeMap<String, u64>,
}

impl Totals {
    pub fn of(records: &[Record]) -> Totals {
        let mut t = Totals::default();
        for r in records {
            t.items += 1;
            match r.status {
                ItemStatus::Ok => {}
                ItemStatus::Skipped => t.skipped += 1,
                ItemStatus::Error => t.errors += 1,
            }
            if r.status != ItemStatus::Ok {
                *t.not_scanned.entry(r.reason.clone().unwrap_or_default()).or_default() += 1;
            }
            if r.nested {
                continue;
            }
            t.files += 1;
            t.bytes += r.size.unwrap_or(0);
            t.with_sensitive_content += u64::from(!r.types.is_empty());
            t.labeled += u64::from(r.label.is_some());
            t.protected += u64::from(r.protected);
            let posture = r.posture();
            t.underlabeled += u64::from(posture.contains(&"underlabeled"));
            t.unprotected += u64::from(posture.contains(&"unprotected"));
            for ty in &r.types {
                let e = t.types.entry(ty.id.clone()).or_default();
                e.0 += 1;
                e.1 += ty.count;
            }
            *t.labels.entry(r.label.clone().unwrap_or_else(|| "(unlabeled)".into())).or_default() += 1;
        }
        t
    }
}

/// The columns of the AIP scanner's DetailedReport that mamori fills, then its own.
pub const DETAILED_COLUMNS: [&str; 21] = [
    "Repository",
    "File Name",
    "Status",
    "Comment",
    "Current Label",
    "Current Label ID",
    "Applied Label",
    "Applied Label ID",
    "Condition Name",
    "Information Type Name",
    "Action",
    "Last Modified",
    "Protection before action",
    "Protection after action",
    "Labeling Method",
    "Recommended Label",
    "Information Type Counts",
    "Size",
    "Format",
    "Content Hash",
    "Scan Time",
];

/// What the policy did or would do to a file, in the words of the DetailedReport's Action.
pub fn action(r: &Record) -> &'static str {
    let what_if = r.action.as_deref().is_some_and(|a| a.contains("what-if"));
    match (&r.applied, what_if) {
        (Some(_), true) => "Would label",
        (Some(_), false) => "Labeled",
        (None, _) if r.posture().contains(&"underlabeled") => "Relabel recommended",
        _ => "None",
    }
}

fn time(nanos: i64) -> String {
    jiff::Timestamp::from_nanosecond(nanos as i128).map(|t| t.to_string()).unwrap_or_default()
}

/// The I/O error inside a CSV error, so a closed pipe stays recognisable.
fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        k => io::Error::other(format!("{k:?}")),
    }
}

/// One row per item, with the DetailedReport's columns; opens in Excel and LibreOffice Calc.
pub fn detailed_csv(records: &[Record], out: impl Write) -> io::Result<()> {
    write_csv(records, out).map_err(csv_io)
}

fn write_csv(records: &[Record], out: impl Write) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(DETAILED_COLUMNS)?;
    for r in records {
        let status = match r.status {
            ItemStatus::Ok => "Success",
            ItemStatus::Skipped => "Skipped",
            ItemStatus::Error => "Failed",
        };
        let comment = r.reason.clone().or_else(|| r.action.clone()).unwrap_or_default();
        let protected = if r.protected { "True" } else { "False" };
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        w.write_record([
            r.repository.clone(),
            r.path.clone(),
            status.to_string(),
            comment,
            o(&r.label),
            o(&r.label_id),
            o(&r.applied),
            o(&r.applied_id),
            r.conditions.join("; "),
            r.types.iter().map(|t| t.id.as_str()).collect::<Vec<_>>().join(", "),
            action(r).to_string(),
            r.modified.map(time).unwrap_or_default(),
            protected.to_string(),
            protected.to_string(),
            o(&r.labeling_method),
            o(&r.recommended),
            r.types.iter().map(|t| format!("{}={} ({})", t.id, t.count, t.confidence)).collect::<Vec<_>>().join(", "),
            r.size.map(|s| s.to_string()).unwrap_or_default(),
            r.format.clone(),
            o(&r.hash),
            jiff::Timestamp::from_second(r.scanned_at).map(|t| t.to_string()).unwrap_or_default(),
        ])?;
    }
    Ok(w.flush()?)
}

/// `{"totals": ..., "items": [...]}`.
pub fn json(records: &[Record], out: impl Write) -> io::Result<()> {
    let doc = serde_json::json!({ "totals": Totals::of(records), "items": records });
    let mut out = io::BufWriter::new(out);
    serde_json::to_writer_pretty(&mut out, &doc)?;
    writeln!(out)?;
    out.flush()
}

/// One attempt to open a protected document, from the key service's access log.
#[derive(Clone, Debug)]
pub struct AccessEvent {
    pub time: String,
    pub principal: String,
    pub document: String,
    pub action: String,
    pub allowed: bool,
    pub reason: String,
}

/// What the dashboard shows besides the inventory.
pub struct Dashboard<'a> {
    pub records: &'a [Record],
    /// Where the inventory is, and when the report was made.
    pub source: String,
    pub generated: String,
    /// Recent access events, or why there are none (no key service reachable).
    pub access: Result<Vec<AccessEvent>, String>,
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A folder and what is under it, for the tree.
#[derive(Default)]
struct Folder {
    files: u64,
    sensitive: u64,
    children: BTreeMap<String, Folder>,
}

impl Folder {
    fn add(&mut self, parts: &[&str], sensitive: bool) {
        self.files += 1;
        self.sensitive += u64::from(sensitive);
        if let [first, rest @ ..] = parts {
            if !rest.is_empty() {
                self.children.entry(first.to_string()).or_default().add(rest, sensitive);
            }
        }
    }

    fn render(&self, name: &str, depth: usize, out: &mut String) {
        let density = self.sensitive as f64 / self.files.max(1) as f64;
        // from green through amber to red as the share of sensitive files grows
        let hue = (120.0 * (1.0 - density)).round();
        let summary = format!(
            "<span class=\"bar\" style=\"width:{w}px;background:hsl({hue},70%,45%)\"></span> <b>{n}</b> \
             <span class=\"muted\">{s} of {f} files sensitive ({p:.0}%)</span>",
            w = 8 + (density * 80.0) as u32,
            n = esc(name),
            s = self.sensitive,
            f = self.files,
            p = density * 100.0
        );
        if self.children.is_empty() {
            out.push_str(&format!("<div class=\"leaf\">{summary}</div>"));
            return;
        }
        let open = if depth < 2 { " open" } else { "" };
        out.push_str(&format!("<details{open}><summary>{summary}</summary>"));
        for (n, c) in &self.children {
            c.render(n, depth + 1, out);
        }
        out.push_str("</details>");
    }
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}\
h1{font-size:22px}h2{font-size:17px;margin-top:28px}.cards{display:flex;flex-wrap:wrap;gap:10px}\
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:120px}\
.card b{display:block;font-size:22px}.warn b{color:#b3261e}table{border-collapse:collapse;background:#fff}\
td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f0f0f0}\
.num{text-align:right}.bar{display:inline-block;height:10px;border-radius:2px;vertical-align:middle}\
.muted{color:#666}details{margin-left:16px}.leaf{margin-left:32px}.deny{color:#b3261e}\
#script-errors{color:#b3261e}input{margin:6px 0;padding:4px;width:320px}";

/// Filters tables as the user types; marks the page ready, and shows any script error.
const SCRIPT: &str = "window.onerror=function(m){var e=document.getElementById('script-errors');\
e.textContent+=m+'\\n';e.hidden=false};\
document.querySelectorAll('input[data-filter]').forEach(function(i){i.addEventListener('input',function(){\
var q=i.value.toLowerCase();document.querySelectorAll('#'+i.dataset.filter+' tbody tr').forEach(function(r){\
r.hidden=q!==''&&r.textContent.toLowerCase().indexOf(q)<0})})});\
document.querySelectorAll('[data-count]').forEach(function(e){e.title=Number(e.dataset.count).toLocaleString()});\
document.documentElement.dataset.ready='1';";

fn card(out: &mut String, key: &str, label: &str, n: u64, warn: bool) {
    let class = if warn && n > 0 { "card warn" } else { "card" };
    out.push_str(&format!("<div class=\"{class}\" id=\"total-{key}\" data-count=\"{n}\"><b>{n}</b>{label}</div>"));
}

fn table(out: &mut String, id: &str, head: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    out.push_str(&format!("<table id=\"{id}\"><thead><tr>"));
    for h in head {
        out.push_str(&format!("<th>{}</th>", esc(h)));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            out.push_str(&cell);
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

fn td(s: &str) -> String {
    format!("<td>{}</td>", esc(s))
}

fn td_num(n: u64) -> String {
    format!("<td class=\"num\">{n}</td>")
}

/// The dashboard: totals, types and labels by count, the folder tree with the density of
/// sensitive files, posture findings, and recent access events.
pub fn html(d: &Dashboard, out: impl Write) -> io::Result<()> {
    let t = Totals::of(d.records);
    let files: Vec<&Record> = d.records.iter().filter(|r| !r.nested).collect();
    let mut h = String::with_capacity(64 << 10);
    h.push_str("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">");
    h.push_str(&format!("<title>mamori inventory report</title><style>{STYLE}</style></head><body>"));
    h.push_str(&format!(
        "<h1>mamori inventory report</h1><p class=\"muted\">{} · generated {}</p>",
        esc(&d.source),
        esc(&d.generated)
    ));
    h.push_str("<pre id=\"script-errors\" hidden></pre><div class=\"cards\">");
    card(&mut h, "files", "files", t.files, false);
    card(&mut h, "sensitive", "with sensitive content", t.with_sensitive_content, false);
    card(&mut h, "labeled", "labeled", t.labeled, false);
    card(&mut h, "protected", "protected", t.protected, false);
    card(&mut h, "underlabeled", "labeled lower than the policy says", t.underlabeled, true);
    card(&mut h, "unprotected", "should be protected, are not", t.unprotected, true);
    card(&mut h, "skipped", "items skipped", t.skipped, false);
    card(&mut h, "errors", "items failed", t.errors, true);
    h.push_str(&format!("</div><p class=\"muted\">{} items in {:.1} MB of files.</p>", t.items, t.bytes as f64 / 1e6));

    h.push_str("<h2>Sensitive information types</h2>");
    let mut types: Vec<_> = t.types.iter().collect();
    types.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
    let top = types.first().map_or(1, |x| x.1 .0.max(1));
    table(
        &mut h,
        "types",
        &["Type", "Files", "Matches", ""],
        types.iter().map(|(id, (n, m))| {
            let bar = format!(
                "<td><span class=\"bar\" style=\"width:{}px;background:#3f6fb5\"></span></td>",
                4 + n * 200 / top
            );
            vec![td(id), td_num(*n), td_num(*m), bar]
        }),
    );

    h.push_str("<h2>Labels</h2>");
    table(&mut h, "labels", &["Label", "Files"], t.labels.iter().map(|(l, n)| vec![td(l), td_num(*n)]));

    h.push_str("<h2>Folders</h2><div id=\"tree\">");
    let mut roots: BTreeMap<&str, Folder> = BTreeMap::new();
    for r in &files {
        let rel = r.path.strip_prefix(&r.repository).unwrap_or(&r.path).trim_start_matches('/');
        let parts: Vec<&str> = rel.split('/').collect();
        roots.entry(r.repository.as_str()).or_default().add(&parts, !r.types.is_empty());
    }
    for (name, f) in &roots {
        f.render(if name.is_empty() { "(files given by name)" } else { name }, 0, &mut h);
    }
    h.push_str("</div>");

    h.push_str("<h2>Findings</h2><h3>Sensitive content labeled lower than the policy recommends</h3>");
    h.push_str("<input placeholder=\"filter\" data-filter=\"underlabeled\">");
    let posture = |p: &'static str| files.iter().filter(move |r| r.posture().contains(&p));
    let types_of = |r: &Record| r.types.iter().map(|t| format!("{} ×{}", t.id, t.count)).collect::<Vec<_>>().join(", ");
    table(
        &mut h,
        "underlabeled",
        &["File", "Label", "Policy says", "Types"],
        posture("underlabeled").map(|r| {
            vec![
                td(&r.path),
                td(r.label.as_deref().unwrap_or("(unlabeled)")),
                td(r.recommended.as_deref().unwrap_or("")),
                td(&types_of(r)),
            ]
        }),
    );
    h.push_str("<h3>Labels that protect, on files that are not protected</h3>");
    table(
        &mut h,
        "unprotected",
        &["File", "Label", "Policy says"],
        posture("unprotected").map(|r| {
            vec![
                td(&r.path),
                td(r.label.as_deref().unwrap_or("(unlabeled)")),
                td(r.recommended.as_deref().unwrap_or("")),
            ]
        }),
    );
    h.push_str("<h3>Items not scanned, by reason</h3>");
    table(&mut h, "not-scanned", &["Reason", "Items"], t.not_scanned.iter().map(|(r, n)| vec![td(r), td_num(*n)]));

    h.push_str("<h2>Access to protected documents</h2>");
    match &d.access {
        Err(why) => h.push_str(&format!("<p class=\"muted\" id=\"access-unavailable\">{}</p>", esc(why))),
        Ok(events) => {
            let denied = events.iter().filter(|e| !e.allowed).count();
            h.push_str(&format!("<p>{} recent events, <span class=\"deny\">{denied} denied</span>.</p>", events.len()));
            table(
                &mut h,
                "access",
                &["Time", "Principal", "Document", "Action", "Decision", "Reason"],
                events.iter().map(|e| {
                    let decision = if e.allowed { td("allow") } else { "<td class=\"deny\">deny</td>".to_string() };
                    vec![td(&e.time), td(&e.principal), td(&e.document), td(&e.action), decision, td(&e.reason)]
                }),
            );
        }
    }
    h.push_str(&format!("<script>{SCRIPT}</script></body></html>\n"));
    let mut out = out;
    out.write_all(h.as_bytes())?;
    out.flush()
}
