//! mamori's inventory: what sensitive data lives where, kept in a tantivy index on local disk.
//!
//! One [`Record`] per scanned item (a file, or a member inside one: `a.zip!b.docx`), keyed by
//! the absolute path of the file it is in, so a rescan replaces a file and everything inside
//! it in one step. The whole record is stored as JSON; the fields people search on are
//! indexed beside it, lower-cased (see [`query`] for the query language).
//!
//! The index answers three callers: an incremental scan ([`Inventory::files`]: what was seen,
//! with size, mtime, hash and the versions that produced it), `mamori search`, and reports
//! ([`Inventory::records`]).
#![forbid(unsafe_code)]

pub mod query;

use mamori_model::{Confidence, ItemStatus};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use tantivy::collector::{Count, DocSetCollector};
use tantivy::schema::{Field, Schema, Value, FAST, INDEXED, STORED, STRING};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

/// Bumped when the schema or the meaning of a field changes; an index of another version is
/// refused with a hint instead of being misread.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("inventory {}: {message}", path.display())]
    Index { path: PathBuf, message: String },
    #[error("inventory {}: written by another version of mamori (schema {found}, this one reads {SCHEMA_VERSION}); rescan with --reset to rebuild it", path.display())]
    Version { path: PathBuf, found: String },
    #[error("query {query:?}: {message}")]
    Query { query: String, message: String },
}

/// What a scan found in one item, and what the policy made of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The item: an absolute path, with members joined by `!`.
    pub path: String,
    /// The file the item is in (its own path for a file).
    pub file: String,
    /// The scan root the file was found under (AIP's Repository).
    pub repository: String,
    #[serde(default)]
    pub nested: bool,
    pub size: Option<u64>,
    /// Modification time of the file, in nanoseconds since the Unix epoch.
    pub modified: Option<i64>,
    /// Status change time of the file (nanoseconds), where the system has one.
    #[serde(default)]
    pub changed: Option<i64>,
    /// BLAKE3 of the content, when the scan read all of it.
    pub hash: Option<String>,
    pub format: String,
    pub status: ItemStatus,
    /// Why the item was skipped or failed.
    pub reason: Option<String>,
    /// The label in the file's metadata (`Parent/Sub`), and its id.
    pub label: Option<String>,
    pub label_id: Option<String>,
    /// The label's order in the taxonomy (0: unlabeled), for "labeled lower than" questions.
    #[serde(default)]
    pub label_order: u32,
    /// `privileged` (a person chose it) or `standard`.
    pub labeling_method: Option<String>,
    #[serde(default)]
    pub protected: bool,
    /// The protected document's id (ContentId).
    pub content_id: Option<String>,
    /// The label the policy gives this content (automatic or recommended), its id and order.
    pub recommended: Option<String>,
    pub recommended_id: Option<String>,
    #[serde(default)]
    pub recommended_order: u32,
    /// Whether the label the taxonomy gives as `recommended` carries protection.
    #[serde(default)]
    pub recommended_protects: bool,
    /// The label applying the policy gave the file (`--enforce`) or would give it.
    pub applied: Option<String>,
    #[serde(default)]
    pub applied_id: Option<String>,
    /// What the scan did (`--enforce`) or would do, in the words of `mamori label set`.
    pub action: Option<String>,
    /// The conditions that chose the recommended label.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// Sensitive types found: in a file's record, what it and everything inside it hold.
    #[serde(default)]
    pub types: Vec<TypeFound>,
    /// Unix seconds.
    pub scanned_at: i64,
    /// The mamori version, type catalog and policy that produced the record.
    pub engine: String,
    pub catalog: String,
    pub policy: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeFound {
    #[serde(rename = "type")]
    pub id: String,
    pub count: u64,
    pub confidence: Confidence,
}

impl Record {
    /// The posture findings of a file: `underlabeled` (its label is below what the policy
    /// gives its content) and `unprotected` (its label, or the one it should have, protects,
    /// but the file is not protected).
    pub fn posture(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.recommended.is_some() && self.recommended_order > self.label_order {
            out.push("underlabeled");
        }
        if self.recommended_protects && !self.protected && self.recommended_order >= self.label_order {
            out.push("unprotected");
        }
        out
    }

    /// The best confidence of any type found.
    pub fn confidence(&self) -> Option<Confidence> {
        self.types.iter().map(|t| t.confidence).max()
    }
}

/// The fields of the index; `record` holds the whole [`Record`] as JSON.
#[derive(Clone, Copy)]
struct Fields {
    record: Field,
    file: Field,
    path: Field,
    repository: Field,
    format: Field,
    status: Field,
    reason: Field,
    label: Field,
    recommended: Field,
    method: Field,
    type_: Field,
    confidence: Field,
    posture: Field,
    protected: Field,
    nested: Field,
    action: Field,
    size: Field,
    version: Field,
    // columns an incremental scan reads for every file (see [`Inventory::files`])
    modified: Field,
    changed: Field,
    hash: Field,
    versions: Field,
    flags: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let f = Fields {
        record: b.add_text_field("record", STORED),
        file: b.add_text_field("file", STRING | FAST),
        path: b.add_text_field("path", STRING),
        repository: b.add_text_field("repository", STRING),
        format: b.add_text_field("format", STRING),
        status: b.add_text_field("status", STRING),
        reason: b.add_text_field("reason", STRING),
        label: b.add_text_field("label", STRING),
        recommended: b.add_text_field("recommended", STRING),
        method: b.add_text_field("method", STRING),
        type_: b.add_text_field("type", STRING),
        confidence: b.add_text_field("confidence", STRING),
        posture: b.add_text_field("posture", STRING),
        protected: b.add_text_field("protected", STRING),
        nested: b.add_text_field("nested", STRING),
        action: b.add_text_field("action", STRING),
        size: b.add_u64_field("size", INDEXED | FAST),
        version: b.add_text_field("schema_version", STRING),
        modified: b.add_i64_field("modified", FAST),
        changed: b.add_i64_field("changed", FAST),
        hash: b.add_text_field("hash", FAST),
        versions: b.add_text_field("versions", FAST),
        flags: b.add_u64_field("flags", FAST),
    };
    (b.build(), f)
}

/// A label path and each of its ancestors, lower-cased: `label:Confidential` finds
/// `Confidential/All Employees` too.
fn label_terms(label: &str) -> impl Iterator<Item = String> + '_ {
    let lower = label.to_lowercase();
    let mut cuts: Vec<usize> = lower.match_indices('/').map(|(i, _)| i).collect();
    cuts.push(lower.len());
    cuts.into_iter().map(move |i| lower[..i].to_string())
}

const NESTED: u64 = 1;
const FAILED: u64 = 2;
const PROTECTED: u64 = 4;
const SENSITIVE: u64 = 8;

/// What the last scan saw of a file: what an incremental scan compares with, read from
/// columns (no record is decoded).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Seen {
    pub size: Option<u64>,
    pub modified: Option<i64>,
    pub changed: Option<i64>,
    pub hash: Option<String>,
    /// What produced the record (shared: most files have the same).
    pub versions: std::sync::Arc<Versions>,
    /// The scan failed on it.
    pub failed: bool,
    pub protected: bool,
    /// It holds sensitive content.
    pub sensitive: bool,
}

/// The mamori version, type catalog and policy that produced a record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Versions {
    pub engine: String,
    pub catalog: String,
    pub policy: String,
}

/// The inventory at one directory.
pub struct Inventory {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

impl Inventory {
    /// Opens the inventory at `dir`, creating it (and `dir`) if needed.
    pub fn open(dir: &Path) -> Result<Inventory, Error> {
        let err = |e: &dyn std::fmt::Display| Error::Index { path: dir.to_path_buf(), message: e.to_string() };
        std::fs::create_dir_all(dir).map_err(|e| err(&e))?;
        let version_file = dir.join("mamori-inventory-version");
        match std::fs::read_to_string(&version_file) {
            Ok(v) if v.trim() == SCHEMA_VERSION.to_string() => {}
            Ok(v) => return Err(Error::Version { path: dir.to_path_buf(), found: v.trim().to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if std::fs::read_dir(dir).map_err(|e| err(&e))?.next().is_some() {
                    return Err(err(&"the directory is not empty and holds no mamori inventory"));
                }
                std::fs::write(&version_file, format!("{SCHEMA_VERSION}\n")).map_err(|e| err(&e))?;
            }
            Err(e) => return Err(err(&e)),
        }
        let (schema, fields) = schema();
        let directory = tantivy::directory::MmapDirectory::open(dir).map_err(|e| err(&e))?;
        let index = Index::open_or_create(directory, schema).map_err(|e| err(&e))?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(|e| err(&e))?;
        Ok(Inventory { dir: dir.to_path_buf(), index, reader, fields })
    }

    /// Deletes the inventory at `dir` (for `--reset`); a directory that is not one is refused.
    pub fn destroy(dir: &Path) -> Result<(), Error> {
        if !dir.exists() {
            return Ok(());
        }
        if !dir.join("mamori-inventory-version").exists() {
            let message = "not a mamori inventory; refusing to delete it".to_string();
            return Err(Error::Index { path: dir.to_path_buf(), message });
        }
        std::fs::remove_dir_all(dir).map_err(|e| Error::Index { path: dir.to_path_buf(), message: e.to_string() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::Index { path: self.dir.clone(), message: e.to_string() }
    }

    /// A writer; its changes show after [`Writer::commit`]. One writer at a time: a second
    /// (another scan on the same inventory) is refused.
    pub fn writer(&self) -> Result<Writer<'_>, Error> {
        let writer = self.index.writer_with_num_threads(1, 64 << 20).map_err(|e| self.err(e))?;
        Ok(Writer { inventory: self, writer })
    }

    /// What the last scan saw of each file (not members), by path.
    pub fn files(&self) -> Result<HashMap<String, Seen>, Error> {
        let searcher = self.reader.searcher();
        let mut out = HashMap::new();
        for seg in searcher.segment_readers() {
            let ff = seg.fast_fields();
            let err = |e: tantivy::TantivyError| self.err(e);
            let (files, hashes, versions) =
                (ff.str("file").map_err(err)?, ff.str("hash").map_err(err)?, ff.str("versions").map_err(err)?);
            let size = ff.u64("size").map_err(err)?;
            let (modified, changed) = (ff.i64("modified").map_err(err)?, ff.i64("changed").map_err(err)?);
            let flags = ff.u64("flags").map_err(err)?;
            // every term of a column in ord order, decoded once (a lookup per document
            // walks the dictionary from a block's start each time)
            let terms = |col: &Option<tantivy::columnar::StrColumn>| -> Result<Vec<String>, Error> {
                let Some(col) = col else { return Ok(Vec::new()) };
                let mut out = Vec::with_capacity(col.dictionary().num_terms());
                let mut stream = col.dictionary().stream().map_err(|e| self.err(e))?;
                while stream.advance() {
                    out.push(std::str::from_utf8(stream.key()).map_err(|e| self.err(e))?.to_string());
                }
                Ok(out)
            };
            let (mut file_terms, mut hash_terms) = (terms(&files)?, terms(&hashes)?);
            let version_terms: Vec<std::sync::Arc<Versions>> = terms(&versions)?
                .iter()
                .map(|v| {
                    let mut v = v.splitn(3, '\n').map(str::to_string);
                    let mut next = || v.next().unwrap_or_default();
                    std::sync::Arc::new(Versions { engine: next(), catalog: next(), policy: next() })
                })
                .collect();
            let ord = |col: &Option<tantivy::columnar::StrColumn>, doc: u32| {
                Some(col.as_ref()?.term_ords(doc).next()? as usize)
            };
            // a file's path and hash are its own: moved out, not copied
            let take =
                |terms: &mut Vec<String>, ord: Option<usize>| ord.and_then(|o| terms.get_mut(o)).map(std::mem::take);
            for doc in 0..seg.max_doc() {
                let flag = flags.first(doc).unwrap_or(0);
                if seg.is_deleted(doc) || flag & NESTED != 0 {
                    continue;
                }
                let Some(file) = take(&mut file_terms, ord(&files, doc)) else { continue };
                let seen = Seen {
                    size: size.first(doc),
                    modified: modified.first(doc),
                    changed: changed.first(doc),
                    hash: take(&mut hash_terms, ord(&hashes, doc)),
                    versions: ord(&versions, doc).and_then(|o| version_terms.get(o)).cloned().unwrap_or_default(),
                    failed: flag & FAILED != 0,
                    protected: flag & PROTECTED != 0,
                    sensitive: flag & SENSITIVE != 0,
                };
                out.insert(file, seen);
            }
        }
        Ok(out)
    }

    /// The records of one file and its members.
    pub fn records_of(&self, file: &str) -> Result<Vec<Record>, Error> {
        self.search(&tantivy::query::TermQuery::new(
            Term::from_field_text(self.fields.file, file),
            tantivy::schema::IndexRecordOption::Basic,
        ))
    }

    /// Every record, in path order.
    pub fn records(&self) -> Result<Vec<Record>, Error> {
        self.search(&tantivy::query::AllQuery)
    }

    /// The records `query` selects, in path order.
    pub fn find(&self, query: &str) -> Result<Vec<Record>, Error> {
        let q = self.parse(query)?;
        self.search(&*q)
    }

    /// How many records `query` selects.
    pub fn count(&self, query: &str) -> Result<u64, Error> {
        let q = self.parse(query)?;
        let n = self.reader.searcher().search(&*q, &Count).map_err(|e| self.err(e))?;
        Ok(n as u64)
    }

    fn parse(&self, text: &str) -> Result<Box<dyn tantivy::query::Query>, Error> {
        let expr = query::parse(text).map_err(|message| Error::Query { query: text.to_string(), message })?;
        self.query_of(&expr).map_err(|e| match e {
            Error::Query { message, .. } => Error::Query { query: text.to_string(), message },
            e => e,
        })
    }

    fn search(&self, q: &dyn tantivy::query::Query) -> Result<Vec<Record>, Error> {
        let searcher = self.reader.searcher();
        let hits = searcher.search(q, &DocSetCollector).map_err(|e| self.err(e))?;
        // read each segment's store in document order, so each block is decompressed once
        let mut by_segment: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for addr in &hits {
            by_segment.entry(addr.segment_ord).or_default().push(addr.doc_id);
        }
        let mut out = Vec::with_capacity(hits.len());
        for (segment, mut docs) in by_segment {
            docs.sort_unstable();
            let store = searcher.segment_reader(segment).get_store_reader(1).map_err(|e| self.err(e))?;
            for doc in docs {
                let doc: TantivyDocument = store.get(doc).map_err(|e| self.err(e))?;
                let json = doc.get_first(self.fields.record).and_then(|v| v.as_str()).unwrap_or_default();
                let record: Record =
                    serde_json::from_str(json).map_err(|e| self.err(format!("a damaged record: {e}")))?;
                out.push(record);
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    fn document(&self, r: &Record) -> TantivyDocument {
        let f = &self.fields;
        let mut d = TantivyDocument::new();
        d.add_text(f.record, serde_json::to_string(r).expect("records serialize"));
        d.add_text(f.file, &r.file);
        d.add_text(f.path, &r.path);
        d.add_text(f.repository, &r.repository);
        d.add_text(f.format, r.format.to_lowercase());
        d.add_text(f.status, r.status.as_str());
        if let Some(reason) = &r.reason {
            d.add_text(f.reason, reason.to_lowercase());
        }
        match &r.label {
            Some(l) => label_terms(l).for_each(|t| d.add_text(f.label, t)),
            None => d.add_text(f.label, "none"),
        }
        match &r.recommended {
            Some(l) => label_terms(l).for_each(|t| d.add_text(f.recommended, t)),
            None => d.add_text(f.recommended, "none"),
        }
        if let Some(m) = &r.labeling_method {
            d.add_text(f.method, m.to_lowercase());
        }
        for t in &r.types {
            d.add_text(f.type_, t.id.to_lowercase());
        }
        // `confidence:medium` finds items with a finding at medium or above
        if let Some(best) = r.confidence() {
            for c in Confidence::ALL.iter().filter(|c| **c <= best) {
                d.add_text(f.confidence, c.as_str());
            }
        }
        for p in r.posture() {
            d.add_text(f.posture, p);
        }
        d.add_text(f.protected, if r.protected { "true" } else { "false" });
        d.add_text(f.nested, if r.nested { "true" } else { "false" });
        if let Some(a) = &r.action {
            d.add_text(f.action, a.to_lowercase());
        }
        if let Some(s) = r.size {
            d.add_u64(f.size, s);
        }
        if let Some(t) = r.modified {
            d.add_i64(f.modified, t);
        }
        if let Some(t) = r.changed {
            d.add_i64(f.changed, t);
        }
        if let Some(h) = &r.hash {
            d.add_text(f.hash, h);
        }
        d.add_text(f.versions, format!("{}\n{}\n{}", r.engine, r.catalog, r.policy));
        let flag = |b: bool, bit: u64| if b { bit } else { 0 };
        d.add_u64(
            f.flags,
            flag(r.nested, NESTED)
                | flag(r.status == ItemStatus::Error, FAILED)
                | flag(r.protected, PROTECTED)
                | flag(!r.types.is_empty(), SENSITIVE),
        );
        d.add_text(f.version, SCHEMA_VERSION.to_string());
        d
    }

    fn field(&self, name: &str) -> Option<Field> {
        let f = &self.fields;
        Some(match name {
            "file" => f.file,
            "path" => f.path,
            "repository" => f.repository,
            "format" => f.format,
            "status" => f.status,
            "reason" => f.reason,
            "label" => f.label,
            "recommended" => f.recommended,
            "method" => f.method,
            "type" => f.type_,
            "confidence" => f.confidence,
            "posture" => f.posture,
            "protected" => f.protected,
            "nested" => f.nested,
            "action" => f.action,
            _ => return None,
        })
    }

    fn query_of(&self, e: &query::Expr) -> Result<Box<dyn tantivy::query::Query>, Error> {
        use tantivy::query::{AllQuery, BooleanQuery, Occur, RangeQuery, RegexQuery, TermQuery};
        let bad = |message: String| Error::Query { query: String::new(), message };
        Ok(match e {
            query::Expr::All => Box::new(AllQuery),
            query::Expr::And(v) | query::Expr::Or(v) => {
                let occur = if matches!(e, query::Expr::And(_)) { Occur::Must } else { Occur::Should };
                let mut clauses = Vec::new();
                for x in v {
                    match x {
                        query::Expr::Not(inner) => clauses.push((Occur::MustNot, self.query_of(inner)?)),
                        x => clauses.push((occur, self.query_of(x)?)),
                    }
                }
                // a query of only negations needs something to subtract from
                if clauses.iter().all(|(o, _)| *o == Occur::MustNot) {
                    clauses.push((Occur::Must, Box::new(AllQuery)));
                }
                Box::new(BooleanQuery::new(clauses))
            }
            query::Expr::Not(inner) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery)),
                (Occur::MustNot, self.query_of(inner)?),
            ])),
            query::Expr::Size { op, bytes } => {
                use std::ops::Bound::{Excluded, Included, Unbounded};
                let t = |n: u64| Term::from_field_u64(self.fields.size, n);
                let (lo, hi) = match op {
                    query::Cmp::Lt => (Unbounded, Excluded(t(*bytes))),
                    query::Cmp::Le => (Unbounded, Included(t(*bytes))),
                    query::Cmp::Gt => (Excluded(t(*bytes)), Unbounded),
                    query::Cmp::Ge => (Included(t(*bytes)), Unbounded),
                    query::Cmp::Eq => (Included(t(*bytes)), Included(t(*bytes))),
                };
                Box::new(RangeQuery::new(lo, hi))
            }
            query::Expr::Term { field, value } => {
                let f = self.field(field).ok_or_else(|| {
                    bad(format!("unknown field {field:?} (fields: {}, size)", query::FIELDS.join(", ")))
                })?;
                let exact_case = matches!(field.as_str(), "path" | "file" | "repository");
                let value = if exact_case { value.clone() } else { value.to_lowercase() };
                if let Some(re) = query::glob_regex(&value, exact_case) {
                    Box::new(RegexQuery::from_pattern(&re, f).map_err(|e| bad(e.to_string()))?)
                } else {
                    Box::new(TermQuery::new(
                        Term::from_field_text(f, &value),
                        tantivy::schema::IndexRecordOption::Basic,
                    ))
                }
            }
        })
    }
}

/// Adds, replaces and removes files' records.
pub struct Writer<'a> {
    inventory: &'a Inventory,
    writer: IndexWriter,
}

impl Writer<'_> {
    /// Replaces everything recorded for `file` with `records` (the file's and its members').
    pub fn replace(&self, file: &str, records: &[Record]) -> Result<(), Error> {
        self.remove(file);
        for r in records {
            self.writer.add_document(self.inventory.document(r)).map_err(|e| self.inventory.err(e))?;
        }
        Ok(())
    }

    /// Forgets `file` and its members (a deleted file).
    pub fn remove(&self, file: &str) {
        self.writer.delete_term(Term::from_field_text(self.inventory.fields.file, file));
    }

    /// Makes the changes so far durable and visible.
    pub fn commit(&mut self) -> Result<(), Error> {
        self.writer.commit().map_err(|e| self.inventory.err(e))?;
        self.inventory.reader.reload().map_err(|e| self.inventory.err(e))
    }
}

#[cfg(test)]
mod tests;
