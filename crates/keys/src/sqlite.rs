//! The store in one SQLite file: WAL, `synchronous=FULL` (a commit is on disk before the caller
//! hears of it), and a busy timeout so several processes can share it.

use crate::store::*;
use crate::Error;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ks (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    ks_id TEXT NOT NULL,
    created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ks_keys (
    kid TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    private_sealed BLOB NOT NULL,
    retired_at INTEGER);
CREATE TABLE IF NOT EXISTS principals (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    signing_key TEXT NOT NULL,
    recipient TEXT NOT NULL,
    admin INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    access_revoked_at INTEGER);
CREATE TABLE IF NOT EXISTS group_members (
    group_name TEXT NOT NULL COLLATE NOCASE,
    principal TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (group_name, principal));
CREATE TABLE IF NOT EXISTS labels (
    id TEXT PRIMARY KEY COLLATE NOCASE,
    revoked_at INTEGER,
    revoked_by TEXT,
    reason TEXT);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    label_id TEXT,
    label_name TEXT,
    rights BLOB NOT NULL,
    rights_hash BLOB NOT NULL,
    kek BLOB,
    status TEXT NOT NULL CHECK (status IN ('active', 'revoked', 'shredded')),
    issued_at INTEGER NOT NULL,
    revoked_at INTEGER,
    revoked_by TEXT,
    revoke_reason TEXT);
CREATE TABLE IF NOT EXISTS request_nonces (
    principal TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (principal, nonce));
CREATE INDEX IF NOT EXISTS request_nonces_expiry ON request_nonces (expires_at);
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts INTEGER NOT NULL,
    principal TEXT,
    doc_id TEXT,
    label_id TEXT,
    action TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('allow', 'deny')),
    reason TEXT NOT NULL,
    client TEXT NOT NULL,
    user_agent TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_log_doc ON audit_log (doc_id, id);
CREATE INDEX IF NOT EXISTS audit_log_ts ON audit_log (ts);
";

/// WAL pages between checkpoints of the writer (SQLite's default is 1,000).
const CHECKPOINT_PAGES: i64 = 250;

/// A store in one SQLite file, shared safely by threads and by processes.
pub struct SqliteStore {
    path: PathBuf,
    /// Connections for reads.
    idle: Mutex<Vec<Connection>>,
    /// The one connection this process writes with (see `commit`).
    writer: Mutex<Option<Connection>>,
    /// Commits waiting for the writer.
    queue: Mutex<Vec<Job>>,
}

/// One commit waiting for the writer, and where its result goes.
struct Job {
    nonce: Option<Nonce>,
    change: Option<Change>,
    audit: AuditRow,
    done: mpsc::Sender<Result<Committed, Error>>,
}

/// Runs `jobs` in one transaction; a job that fails is rolled back alone (its savepoint).
fn run_batch(conn: &mut Connection, jobs: &[Job]) -> rusqlite::Result<Vec<rusqlite::Result<Committed>>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Forget nonces whose timestamps can no longer pass; then a seen one is a replay.
    if let Some(now) = jobs.iter().filter(|j| j.nonce.is_some()).map(|j| j.audit.ts).min() {
        tx.execute("DELETE FROM request_nonces WHERE expires_at < ?1", [now])?;
    }
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        tx.execute_batch("SAVEPOINT job")?;
        let r = run_job(&tx, job);
        if r.is_err() {
            tx.execute_batch("ROLLBACK TO job")?;
        }
        tx.execute_batch("RELEASE job")?;
        results.push(r);
    }
    tx.commit()?;
    Ok(results)
}

fn run_job(tx: &rusqlite::Transaction, job: &Job) -> rusqlite::Result<Committed> {
    if let Some(n) = &job.nonce {
        let fresh = tx.execute(
            "INSERT OR IGNORE INTO request_nonces (principal, nonce, expires_at) VALUES (?1, ?2, ?3)",
            params![n.principal, n.nonce, n.expires_at],
        )?;
        if fresh == 0 {
            let replay = AuditRow { decision: Decision::Deny, reason: "replay".to_string(), ..job.audit.clone() };
            return Ok(Committed::Replay(insert_audit(tx, &replay)?));
        }
    }
    if let Some(ch) = &job.change {
        apply(tx, ch)?;
    }
    Ok(Committed::Done(insert_audit(tx, &job.audit)?))
}

impl SqliteStore {
    /// Opens the store at `path`, creating it (and its tables) if needed.
    pub fn open(path: &Path) -> Result<SqliteStore, Error> {
        let store = SqliteStore {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            writer: Mutex::new(None),
            queue: Mutex::new(Vec::new()),
        };
        let conn = store.connect()?;
        conn.execute_batch(SCHEMA).map_err(|e| store.err(e))?;
        let ks_id = format!("ks-{}", crate::rights::hex(&crate::seal::random_bytes::<6>()));
        conn.execute(
            "INSERT OR IGNORE INTO ks (one, ks_id, created_at) VALUES (1, ?1, ?2)",
            params![ks_id, jiff::Timestamp::now().as_millisecond()],
        )
        .map_err(|e| store.err(e))?;
        store.put(conn);
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        Error::Store { path: self.path.clone(), reason: e.to_string() }
    }

    fn connect(&self) -> Result<Connection, Error> {
        let conn = Connection::open(&self.path).map_err(|e| self.err(e))?;
        conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(|e| self.err(e))?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| self.err(e))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(|e| self.err(e))?;
        Ok(conn)
    }

    /// The writer checkpoints the WAL often and so briefly: a checkpoint runs while the writer
    /// is held, and a short one keeps the commits queued behind it from waiting long.
    fn writer_connection(&self) -> Result<Connection, Error> {
        let conn = self.connect()?;
        conn.pragma_update(None, "wal_autocheckpoint", CHECKPOINT_PAGES).map_err(|e| self.err(e))?;
        Ok(conn)
    }

    fn put(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < 16 {
            idle.push(conn);
        }
    }

    /// Runs `f` on a pooled connection.
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T, Error> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.connect()?,
        };
        let out = f(&mut conn).map_err(|e| self.err(e));
        self.put(conn);
        out
    }
}

const PRINCIPAL_COLUMNS: &str = "name, signing_key, recipient, admin, disabled, access_revoked_at";

fn principal_row(r: &rusqlite::Row) -> rusqlite::Result<Principal> {
    Ok(Principal {
        name: r.get(0)?,
        signing_key: r.get(1)?,
        recipient: r.get(2)?,
        admin: r.get(3)?,
        disabled: r.get(4)?,
        access_revoked_at: r.get(5)?,
    })
}

fn audit_row(r: &rusqlite::Row) -> rusqlite::Result<AuditRow> {
    let decision: String = r.get(6)?;
    Ok(AuditRow {
        id: r.get(0)?,
        ts: r.get(1)?,
        principal: r.get(2)?,
        doc_id: r.get(3)?,
        label_id: r.get(4)?,
        action: r.get(5)?,
        decision: if decision == "allow" { Decision::Allow } else { Decision::Deny },
        reason: r.get(7)?,
        client: r.get(8)?,
        user_agent: r.get(9)?,
    })
}

fn insert_audit(tx: &rusqlite::Transaction, a: &AuditRow) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO audit_log (ts, principal, doc_id, label_id, action, decision, reason, client, user_agent)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            a.ts,
            a.principal,
            a.doc_id,
            a.label_id,
            a.action,
            if a.decision == Decision::Allow { "allow" } else { "deny" },
            a.reason,
            a.client,
            a.user_agent
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

fn apply(tx: &rusqlite::Transaction, c: &Change) -> rusqlite::Result<()> {
    match c {
        Change::NewDocument(d) => tx
            .execute(
                "INSERT INTO documents (doc_id, owner, label_id, label_name, rights, rights_hash, kek, status, issued_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    d.doc_id,
                    d.owner,
                    d.label_id,
                    d.label_name,
                    d.rights,
                    d.rights_hash.as_slice(),
                    d.kek,
                    d.status.as_str(),
                    d.issued_at
                ],
            )
            .map(drop),
        Change::DocumentStatus { doc_id, status, at, by, reason } => tx
            .execute(
                "UPDATE documents SET status = ?2, revoked_at = ?3, revoked_by = ?4, revoke_reason = ?5
                 WHERE doc_id = ?1 AND status != 'shredded'",
                params![doc_id, status.as_str(), at, by, reason],
            )
            .map(drop),
        Change::Shred { doc_id, at, by } => tx
            .execute(
                "UPDATE documents SET status = 'shredded', kek = NULL, revoked_at = ?2, revoked_by = ?3,
                 revoke_reason = 'shredded' WHERE doc_id = ?1",
                params![doc_id, at, by],
            )
            .map(drop),
        Change::LabelRevoked { label_id, at, by, reason } => tx
            .execute(
                "INSERT INTO labels (id, revoked_at, revoked_by, reason) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET revoked_at = ?2, revoked_by = ?3, reason = ?4",
                params![label_id, at, by, reason],
            )
            .map(drop),
        Change::PrincipalAccess { name, revoked_at } => tx
            .execute("UPDATE principals SET access_revoked_at = ?2 WHERE name = ?1", params![name, revoked_at])
            .map(drop),
        Change::PutPrincipal(p) => tx
            .execute(
                "INSERT INTO principals (name, signing_key, recipient, admin, disabled, access_revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (name) DO UPDATE SET signing_key = ?2, recipient = ?3, admin = ?4, disabled = ?5",
                params![p.name, p.signing_key, p.recipient, p.admin, p.disabled, p.access_revoked_at],
            )
            .map(drop),
        Change::PrincipalDisabled { name, disabled } => tx
            .execute("UPDATE principals SET disabled = ?2 WHERE name = ?1", params![name, disabled])
            .map(drop),
        Change::AddMember { group, principal } => tx
            .execute("INSERT OR IGNORE INTO group_members (group_name, principal) VALUES (?1, ?2)", params![group, principal])
            .map(drop),
        Change::RemoveMember { group, principal } => tx
            .execute("DELETE FROM group_members WHERE group_name = ?1 AND principal = ?2", params![group, principal])
            .map(drop),
    }
}

impl Store for SqliteStore {
    fn ks_id(&self) -> Result<String, Error> {
        self.with(|c| c.query_row("SELECT ks_id FROM ks WHERE one = 1", [], |r| r.get(0)))
    }

    fn ks_keys(&self) -> Result<Vec<KsKey>, Error> {
        self.with(|c| {
            let mut st =
                c.prepare_cached("SELECT kid, public_key, private_sealed, retired_at FROM ks_keys ORDER BY kid")?;
            let rows = st.query_map([], |r| {
                Ok(KsKey { kid: r.get(0)?, public_key: r.get(1)?, private_sealed: r.get(2)?, retired_at: r.get(3)? })
            })?;
            rows.collect()
        })
    }

    fn init_ks_key(&self, key: &KsKey) -> Result<Vec<KsKey>, Error> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n: i64 = tx.query_row("SELECT count(*) FROM ks_keys", [], |r| r.get(0))?;
            if n == 0 {
                tx.execute(
                    "INSERT INTO ks_keys (kid, public_key, private_sealed) VALUES (?1, ?2, ?3)",
                    params![key.kid, key.public_key, key.private_sealed],
                )?;
            }
            tx.commit()
        })?;
        self.ks_keys()
    }

    fn principal(&self, name: &str) -> Result<Option<Principal>, Error> {
        self.with(|c| {
            c.prepare_cached(&format!("SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE name = ?1"))?
                .query_row([name], principal_row)
                .optional()
        })
    }

    fn principals(&self) -> Result<Vec<Principal>, Error> {
        self.with(|c| {
            let mut st = c.prepare_cached(&format!("SELECT {PRINCIPAL_COLUMNS} FROM principals ORDER BY name"))?;
            let rows = st.query_map([], principal_row)?;
            rows.collect()
        })
    }

    fn groups_of(&self, name: &str) -> Result<Vec<String>, Error> {
        self.with(|c| {
            let mut st = c.prepare_cached("SELECT group_name FROM group_members WHERE principal = ?1 ORDER BY 1")?;
            let rows = st.query_map([name], |r| r.get(0))?;
            rows.collect()
        })
    }

    fn groups(&self) -> Result<Vec<(String, Vec<String>)>, Error> {
        let pairs: Vec<(String, String)> = self.with(|c| {
            let mut st = c.prepare_cached("SELECT group_name, principal FROM group_members ORDER BY 1, 2")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })?;
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for (g, p) in pairs {
            match out.last_mut() {
                Some((last, members)) if *last == g => members.push(p),
                _ => out.push((g, vec![p])),
            }
        }
        Ok(out)
    }

    fn document(&self, doc_id: &str) -> Result<Option<Document>, Error> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT doc_id, owner, label_id, label_name, rights, rights_hash, kek, status, issued_at,
                        revoked_at, revoked_by, revoke_reason FROM documents WHERE doc_id = ?1",
            )?
            .query_row([doc_id], |r| {
                let hash: Vec<u8> = r.get(5)?;
                let status: String = r.get(7)?;
                Ok(Document {
                    doc_id: r.get(0)?,
                    owner: r.get(1)?,
                    label_id: r.get(2)?,
                    label_name: r.get(3)?,
                    rights: r.get(4)?,
                    rights_hash: hash.try_into().unwrap_or([0; 32]),
                    kek: r.get(6)?,
                    status: DocStatus::parse(&status).unwrap_or(DocStatus::Revoked),
                    issued_at: r.get(8)?,
                    revoked_at: r.get(9)?,
                    revoked_by: r.get(10)?,
                    revoke_reason: r.get(11)?,
                })
            })
            .optional()
        })
    }

    fn label_revoked_at(&self, label_id: &str) -> Result<Option<Millis>, Error> {
        self.with(|c| {
            c.prepare_cached("SELECT revoked_at FROM labels WHERE id = ?1")?
                .query_row([label_id], |r| r.get(0))
                .optional()
                .map(Option::flatten)
        })
    }

    /// Group commit: every caller queues its job, and whoever holds the writer runs all queued
    /// jobs in one transaction (each in its own savepoint) with one fsync. Under load this turns
    /// N fsyncs into one without making anyone wait for a timer.
    fn commit(&self, nonce: Option<&Nonce>, change: Option<&Change>, audit: &AuditRow) -> Result<Committed, Error> {
        let (done, result) = mpsc::channel();
        let job = Job { nonce: nonce.cloned(), change: change.cloned(), audit: audit.clone(), done };
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).push(job);
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        // A writer before us may have run our job already.
        if let Ok(r) = result.try_recv() {
            return r;
        }
        let jobs = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()));
        if writer.is_none() {
            *writer = Some(self.writer_connection()?);
        }
        let conn = writer.as_mut().expect("connected above");
        match run_batch(conn, &jobs) {
            Ok(results) => {
                for (job, r) in jobs.iter().zip(results) {
                    let _ = job.done.send(r.map_err(|e| self.err(e)));
                }
            }
            Err(e) => {
                for job in &jobs {
                    let reason = format!("nothing was written: {e}");
                    let _ = job.done.send(Err(Error::Store { path: self.path.clone(), reason }));
                }
            }
        }
        drop(writer);
        result
            .recv()
            .unwrap_or_else(|_| Err(Error::Store { path: self.path.clone(), reason: "the writer vanished".into() }))
    }

    fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditRow>, Error> {
        self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT id, ts, principal, doc_id, label_id, action, decision, reason, client, user_agent FROM (
                   SELECT * FROM audit_log
                   WHERE (?1 IS NULL OR doc_id = ?1) AND (?2 IS NULL OR principal = ?2 COLLATE NOCASE)
                     AND (?3 IS NULL OR ts >= ?3) AND (?4 IS NULL OR id > ?4)
                   ORDER BY id DESC LIMIT ?5) ORDER BY id",
            )?;
            let limit = q.limit.map(i64::from).unwrap_or(-1);
            let rows = st.query_map(params![q.doc_id, q.principal, q.since, q.after_id, limit], audit_row)?;
            rows.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ts: Millis) -> AuditRow {
        AuditRow {
            id: 0,
            ts,
            principal: Some("alice@example.com".into()),
            doc_id: None,
            label_id: None,
            action: "open".into(),
            decision: Decision::Allow,
            reason: "ok".into(),
            client: "test".into(),
            user_agent: String::new(),
        }
    }

    #[test]
    fn group_commit_lets_one_nonce_through_once_and_loses_no_row() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("ks.db")).unwrap();
        let nonce =
            |n: usize| Nonce { principal: "alice@example.com".into(), nonce: format!("n{n}"), expires_at: i64::MAX };
        // 16 threads × 50 commits; every fourth reuses nonce 0, the rest are fresh.
        let outcomes: Vec<Committed> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|t| {
                    let store = &store;
                    s.spawn(move || {
                        (0..50)
                            .map(|i| {
                                let n = if i % 4 == 0 { 0 } else { 1 + t * 50 + i };
                                store.commit(Some(&nonce(n)), None, &row(1)).unwrap()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        let done = outcomes.iter().filter(|c| matches!(c, Committed::Done(_))).count();
        let replays = outcomes.iter().filter(|c| matches!(c, Committed::Replay(_))).count();
        // 16 × 13 uses of nonce 0: one passes.
        assert_eq!((done, replays), (16 * 37 + 1, 16 * 13 - 1));
        let rows = store.audit(&AuditQuery::default()).unwrap();
        assert_eq!(rows.len(), 800);
        let mut ids: Vec<i64> = outcomes
            .iter()
            .map(|c| match c {
                Committed::Done(i) | Committed::Replay(i) => *i,
            })
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 800);
        assert_eq!(rows.iter().filter(|r| r.reason == "replay").count(), replays);
    }

    #[test]
    fn a_failed_change_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("ks.db")).unwrap();
        let doc = Document {
            doc_id: "d1".into(),
            owner: "alice@example.com".into(),
            label_id: None,
            label_name: None,
            rights: b"{}".to_vec(),
            rights_hash: [0; 32],
            kek: Some(vec![1]),
            status: DocStatus::Active,
            issued_at: 1,
            revoked_at: None,
            revoked_by: None,
            revoke_reason: None,
        };
        store.commit(None, Some(&Change::NewDocument(doc.clone())), &row(1)).unwrap();
        // The same id again violates the primary key: refused, and its audit row is not kept.
        assert!(store.commit(None, Some(&Change::NewDocument(doc.clone())), &row(2)).is_err());
        assert_eq!(store.audit(&AuditQuery::default()).unwrap().len(), 1);
        assert_eq!(store.document("d1").unwrap().unwrap(), doc);
    }
}
