//! The key service: one entry point, [`KeyService::handle`], for every transport. It checks the
//! request's signature, clock and nonce, decides, writes the audit row in the same transaction
//! as the nonce and any change, and only then answers. Denials are audited the same way.

use crate::api::*;
use crate::request::{Signed, SKEW_SECONDS};
use crate::rights::{self, hex, parse_verifying_key, unhex, verifying_key_text, Envelope, Right, Rights};
use crate::seal::{open_file_key, random_key, MasterKey};
use crate::store::*;
use crate::Error;
use age::Recipient as _;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{SigningKey, VerifyingKey};
use jiff::Timestamp;
use std::sync::Arc;

/// The age stanza tag of a file key sealed for the key service.
pub const STANZA_TAG: &str = "mamori.dev/ks";

/// One request, whatever carried it.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub signed: Option<Signed>,
    pub body: &'a [u8],
    /// The caller's address (`local` in-process).
    pub client: String,
    pub user_agent: String,
}

/// An answer: an HTTP status and a JSON body (a [`Refusal`] unless 2xx).
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

pub struct KeyService {
    store: Arc<dyn Store>,
    master: MasterKey,
    ks_id: String,
    kid: String,
    signing: SigningKey,
    verifying: Vec<(String, VerifyingKey)>,
    clock: Clock,
}

/// What a handler decided: the answer, and what to record with it.
struct Outcome {
    status: u16,
    body: Vec<u8>,
    reason: String,
    change: Option<Box<Change>>,
    doc_id: Option<String>,
    label_id: Option<String>,
}

fn refuse(status: u16, code: &str, message: impl Into<String>) -> Outcome {
    let body = serde_json::to_vec(&Refusal { error: code.to_string(), message: message.into() }).expect("serializes");
    Outcome { status, body, reason: code.to_string(), change: None, doc_id: None, label_id: None }
}

fn ok<T: serde::Serialize>(status: u16, value: &T) -> Outcome {
    let body = serde_json::to_vec(value).expect("serializes");
    Outcome { status, body, reason: "ok".to_string(), change: None, doc_id: None, label_id: None }
}

impl Outcome {
    fn with(mut self, change: Change) -> Outcome {
        self.change = Some(Box::new(change));
        self
    }

    fn about(mut self, doc: &Document) -> Outcome {
        self.doc_id = Some(doc.doc_id.clone());
        self.label_id = doc.label_id.clone();
        self
    }
}

fn millis(t: Timestamp) -> Millis {
    t.as_millisecond()
}

fn timestamp(ms: Millis) -> Option<Timestamp> {
    Timestamp::from_millisecond(ms).ok()
}

fn stanza_json(s: age_core::format::Stanza) -> StanzaJson {
    StanzaJson { tag: s.tag, args: s.args, body: B64.encode(&s.body) }
}

impl KeyService {
    /// A key service over `store`, whose secrets `master` seals. Makes the signing key on first use.
    pub fn new(store: Arc<dyn Store>, master: MasterKey) -> Result<KeyService, Error> {
        let ks_id = store.ks_id()?;
        let mut keys = store.ks_keys()?;
        if keys.is_empty() {
            let seed = random_key();
            let key = SigningKey::from_bytes(&seed);
            let kid = format!("{ks_id}-k1");
            keys = store.init_ks_key(&KsKey {
                kid: kid.clone(),
                public_key: verifying_key_text(&key.verifying_key()),
                private_sealed: master.seal(&format!("ks_key:{kid}"), seed.as_ref()),
                retired_at: None,
            })?;
        }
        let current = keys
            .iter()
            .rfind(|k| k.retired_at.is_none())
            .ok_or(Error::Invalid { what: "key service", reason: "every signing key is retired".into() })?;
        let seed =
            master.open_key(&format!("ks_key:{}", current.kid), &current.private_sealed).ok_or(Error::Invalid {
                what: "master key",
                reason: "it does not open this store's signing key: is it the key file made with this store?".into(),
            })?;
        let verifying = keys
            .iter()
            .map(|k| Ok((k.kid.clone(), parse_verifying_key(&k.public_key)?)))
            .collect::<Result<_, Error>>()?;
        Ok(KeyService {
            kid: current.kid.clone(),
            signing: SigningKey::from_bytes(&seed),
            verifying,
            ks_id,
            store,
            master,
            clock: Arc::new(Timestamp::now),
        })
    }

    /// The key service over the SQLite store at `db` and the master key beside it
    /// (`<db>.master-key`), both created if missing.
    pub fn open_sqlite(db: &std::path::Path) -> Result<KeyService, Error> {
        let store = Arc::new(crate::SqliteStore::open(db)?);
        let master = MasterKey::load_or_create(&MasterKey::path_for(db))?;
        KeyService::new(store, master)
    }

    /// Replaces the clock (tests move time forward to check expiry).
    pub fn with_clock(mut self, clock: impl Fn() -> Timestamp + Send + Sync + 'static) -> KeyService {
        self.clock = Arc::new(clock);
        self
    }

    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn info(&self) -> KsInfo {
        KsInfo {
            ks_id: self.ks_id.clone(),
            api: "v1".to_string(),
            signing_keys: self
                .verifying
                .iter()
                .map(|(kid, k)| KsPublicKey { kid: kid.clone(), public_key: verifying_key_text(k) })
                .collect(),
        }
    }

    /// An administrator's change made with direct access to the store (`mamori admin`), audited.
    pub fn administer(&self, actor: &str, action: &str, change: Change) -> Result<i64, Error> {
        let audit = AuditRow {
            id: 0,
            ts: millis(self.now()),
            principal: Some(actor.to_string()),
            doc_id: None,
            label_id: None,
            action: action.to_string(),
            decision: Decision::Allow,
            reason: "ok".to_string(),
            client: "local".to_string(),
            user_agent: "mamori admin".to_string(),
        };
        match self.store.commit(None, Some(&change), &audit)? {
            Committed::Done(id) | Committed::Replay(id) => Ok(id),
        }
    }

    /// Answers one request. Every signed request leaves exactly one audit row.
    pub fn handle(&self, req: &Request) -> Response {
        let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
        match (req.method, segments.as_slice()) {
            ("GET", ["v1", "ks"]) => {
                return Response { status: 200, body: serde_json::to_vec(&self.info()).expect("KsInfo serializes") }
            }
            ("GET", ["healthz"]) => {
                let status = if self.store.ks_id().is_ok() { 200 } else { 503 };
                return Response { status, body: b"{}".to_vec() };
            }
            _ => {}
        }
        let doc_id = match segments.as_slice() {
            // Bounded: an unauthenticated caller chooses it, and it goes into the audit log.
            ["v1", "documents", id, ..] => Some(id.chars().take(64).collect()),
            _ => None,
        };
        let action = action_of(req.method, &segments, req.body);
        let now = self.now();
        let mut audit = AuditRow {
            id: 0,
            ts: millis(now),
            principal: req.signed.as_ref().map(|s| s.principal.clone()),
            doc_id: doc_id.clone(),
            label_id: None,
            action: action.to_string(),
            decision: Decision::Deny,
            reason: String::new(),
            client: req.client.clone(),
            user_agent: req.user_agent.chars().take(200).collect(),
        };
        let (outcome, nonce) = match self.authenticate(req, now) {
            Err((status, code, message)) => (refuse(status, code, message), None),
            Ok((who, nonce)) => {
                let o = match self.route(req, &segments, &who, now) {
                    Ok(o) => o,
                    Err(e) => refuse(500, "store_error", e.to_string()),
                };
                (o, Some(nonce))
            }
        };
        audit.decision = if (200..300).contains(&outcome.status) { Decision::Allow } else { Decision::Deny };
        audit.reason = outcome.reason.clone();
        audit.doc_id = outcome.doc_id.clone().or(doc_id);
        audit.label_id = outcome.label_id.clone();
        match self.store.commit(nonce.as_ref(), outcome.change.as_deref(), &audit) {
            Ok(Committed::Done(_)) => Response { status: outcome.status, body: outcome.body },
            Ok(Committed::Replay(_)) => {
                let o =
                    refuse(401, "replay", "this request was already used once; a signed request is good for one call");
                Response { status: o.status, body: o.body }
            }
            Err(e) => {
                let o = refuse(500, "store_error", format!("nothing was done: {e}"));
                Response { status: o.status, body: o.body }
            }
        }
    }

    /// The caller, if the request is signed by a registered, enabled principal, now.
    fn authenticate(&self, req: &Request, now: Timestamp) -> Result<(Principal, Nonce), (u16, &'static str, String)> {
        let Some(s) = &req.signed else {
            return Err((401, "unsigned", "the request carries no mamori signature headers".to_string()));
        };
        let p = match self.store.principal(&s.principal) {
            Ok(Some(p)) => p,
            Ok(None) => {
                return Err((
                    401,
                    "unknown_principal",
                    format!("{} is not registered with this key service", s.principal),
                ))
            }
            Err(e) => return Err((500, "store_error", e.to_string())),
        };
        let key = parse_verifying_key(&p.signing_key).ok();
        let signed_ok = s.key_id == p.signing_key && key.is_some_and(|k| s.verify(&k, req.method, req.path, req.body));
        if !signed_ok {
            return Err((
                401,
                "bad_signature",
                format!("the request is not signed by the registered key of {}", p.name),
            ));
        }
        if (now.as_second() - s.timestamp).abs() > SKEW_SECONDS {
            return Err((
                401,
                "stale",
                format!(
                    "the request's clock is {} s away from the key service's (at most {SKEW_SECONDS})",
                    now.as_second() - s.timestamp
                ),
            ));
        }
        let nonce = Nonce {
            principal: p.name.clone(),
            nonce: s.nonce.clone(),
            expires_at: (s.timestamp + SKEW_SECONDS + 1) * 1000,
        };
        // A disabled principal is refused in `route`, recorded with its nonce like any other call.
        Ok((p, nonce))
    }

    fn route(&self, req: &Request, segments: &[&str], who: &Principal, now: Timestamp) -> Result<Outcome, Error> {
        if who.disabled {
            return Ok(refuse(403, "principal_revoked", format!("{} is disabled on this key service", who.name)));
        }
        macro_rules! parse {
            ($t:ty) => {
                match serde_json::from_slice::<$t>(req.body) {
                    Ok(v) => v,
                    Err(e) => return Ok(refuse(400, "bad_request", format!("the request body is not valid: {e}"))),
                }
            };
        }
        Ok(match (req.method, segments) {
            ("POST", ["v1", "documents"]) => self.protect(who, parse!(ProtectRequest), now),
            ("POST", ["v1", "documents", id, "key"]) => self.release(who, id, parse!(KeyRequest), now)?,
            ("POST", ["v1", "documents", id, op @ ("revoke" | "unrevoke" | "shred" | "track")]) => {
                self.document_op(who, id, op, req.body, now)?
            }
            ("POST", ["v1", "labels", op @ ("revoke" | "unrevoke")]) => {
                let r = parse!(LabelRequest);
                if !who.admin {
                    return Ok(refuse(403, "not_admin", "only an administrator may revoke a label"));
                }
                let at = (*op == "revoke").then_some(millis(now));
                let mut o = ok(200, &serde_json::json!({"label_id": r.label_id, "revoked_at": at.and_then(timestamp)}))
                    .with(Change::LabelRevoked {
                        label_id: r.label_id.clone(),
                        at,
                        by: who.name.clone(),
                        reason: r.reason,
                    });
                o.label_id = Some(r.label_id);
                o
            }
            ("POST", ["v1", "principals", op @ ("revoke" | "unrevoke")]) => {
                let r = parse!(PrincipalRequest);
                if !who.admin {
                    return Ok(refuse(403, "not_admin", "only an administrator may revoke a principal's access"));
                }
                if self.store.principal(&r.name)?.is_none() {
                    return Ok(refuse(404, "unknown_principal", format!("{} is not registered", r.name)));
                }
                let at = (*op == "revoke").then_some(millis(now));
                ok(200, &serde_json::json!({"name": r.name, "access_revoked_at": at.and_then(timestamp)}))
                    .with(Change::PrincipalAccess { name: r.name, revoked_at: at })
            }
            ("POST", ["v1", "audit"]) => {
                let r = parse!(AuditRequest);
                if !who.admin {
                    return Ok(refuse(403, "not_admin", "only an administrator may read the whole access log"));
                }
                ok(200, &self.events(&r)?)
            }
            _ => refuse(404, "no_such_call", format!("{} {} is not part of this API", req.method, req.path)),
        })
    }

    fn protect(&self, who: &Principal, r: ProtectRequest, now: Timestamp) -> Outcome {
        if who.access_revoked_at.is_some() {
            return refuse(403, "principal_revoked", format!("the access of {} is revoked", who.name));
        }
        if let Some(t) = r.not_after.filter(|t| *t <= now) {
            return refuse(400, "bad_request", format!("the expiry {t} is already past"));
        }
        if r.offline_days > 3650 || r.grants.iter().any(|g| g.p.trim().is_empty() || g.r.is_empty()) {
            return refuse(400, "bad_request", "a grant names nobody or no right, or offline days exceed 3650");
        }
        let doc_id = uuid::Uuid::now_v7().to_string();
        let rights = Rights {
            v: 1,
            doc_id: doc_id.clone(),
            ks_id: self.ks_id.clone(),
            issued_at: now,
            owner: who.name.clone(),
            label: r.label.clone(),
            grants: r.grants,
            not_after: r.not_after,
            offline_days: r.offline_days,
            name_hint: r.name_hint,
        };
        let bytes = serde_json::to_vec(&rights).expect("rights serialize");
        let header = Envelope::sign(rights::RIGHTS, &self.kid, &self.signing, &bytes);
        let kek = random_key();
        let doc = Document {
            doc_id: doc_id.clone(),
            owner: who.name.clone(),
            label_id: r.label.as_ref().map(|l| l.id.clone()),
            label_name: r.label.as_ref().map(|l| l.name.clone()),
            rights_hash: rights::rights_hash(&bytes),
            rights: bytes,
            kek: Some(self.master.seal(&format!("doc:{doc_id}"), kek.as_ref())),
            status: DocStatus::Active,
            issued_at: millis(now),
            revoked_at: None,
            revoked_by: None,
            revoke_reason: None,
        };
        let answer = ProtectResponse {
            doc_id,
            rights_header: String::from_utf8(header.to_bytes()).expect("JSON is UTF-8"),
            doc_kek: B64.encode(kek.as_slice()),
        };
        let o = ok(201, &answer).about(&doc);
        o.with(Change::NewDocument(doc))
    }

    /// The decision: may `who`, now, for this purpose, have the file key of `doc_id`?
    fn release(&self, who: &Principal, doc_id: &str, r: KeyRequest, now: Timestamp) -> Result<Outcome, Error> {
        let Some(doc) = self.store.document(doc_id)? else {
            return Ok(refuse(404, "unknown_document", format!("document {doc_id} is not known to this key service")));
        };
        let deny = |status, code, msg: String| Ok(refuse(status, code, msg).about(&doc));
        if doc.status == DocStatus::Shredded {
            return deny(410, "shredded", format!("document {doc_id} was shredded: its key is destroyed"));
        }
        if unhex(&r.rights_sha256).as_deref() != Some(doc.rights_hash.as_slice()) {
            return deny(
                409,
                "rights_mismatch",
                "the rights in this file are not the rights this document was issued with".into(),
            );
        }
        if doc.status == DocStatus::Revoked {
            let by = doc.revoked_by.as_deref().unwrap_or("?");
            let when = doc.revoked_at.map(millis_text).unwrap_or_default();
            let why =
                doc.revoke_reason.as_deref().filter(|r| !r.is_empty()).map(|r| format!(": {r}")).unwrap_or_default();
            return deny(403, "revoked", format!("document {doc_id} was revoked by {by} at {when}{why}"));
        }
        if let Some(label) = &doc.label_id {
            if let Some(at) = self.store.label_revoked_at(label)?.filter(|at| doc.issued_at <= *at) {
                let name = doc.label_name.as_deref().unwrap_or(label);
                return deny(
                    403,
                    "label_revoked",
                    format!("every document labeled {name} issued before {} is revoked", millis_text(at)),
                );
            }
        }
        if let Some(at) = who.access_revoked_at {
            return deny(
                403,
                "principal_revoked",
                format!("the access of {} was revoked at {}", who.name, millis_text(at)),
            );
        }
        let rights: Rights = match serde_json::from_slice(&doc.rights) {
            Ok(r) => r,
            Err(e) => return deny(500, "store_error", format!("stored rights do not parse: {e}")),
        };
        let is_owner = rights.owner.eq_ignore_ascii_case(&who.name);
        if rights.expired(now) && !is_owner {
            return deny(
                403,
                "expired",
                format!("the rights of document {doc_id} expired at {}", rights.not_after.unwrap_or(now)),
            );
        }
        let groups = self.store.groups_of(&who.name)?;
        let granted = rights.granted(&who.name, &groups);
        if !granted.contains(&r.purpose.right()) {
            let have = if granted.is_empty() {
                "no rights".to_string()
            } else {
                granted.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
            };
            return deny(
                403,
                "not_granted",
                format!(
                    "{} has {have} on document {doc_id}; {} needs {}",
                    who.name,
                    r.purpose.action(),
                    r.purpose.right().as_str()
                ),
            );
        }
        let recipient = match rights::parse_recipient(&r.recipient) {
            Ok(x) => x,
            Err(_) => return deny(400, "bad_request", "recipient is not an age1… X25519 recipient".into()),
        };
        let kek = doc.kek.as_deref().and_then(|k| self.master.open_key(&format!("doc:{doc_id}"), k));
        let body = B64.decode(&r.stanza_body).unwrap_or_default();
        let file_key = kek.and_then(|kek| open_file_key(&kek, &doc.rights_hash, &body));
        let Some(file_key) = file_key else {
            return deny(409, "binding_failed", "the file's key is not sealed for these rights".into());
        };
        let key = age_core::format::FileKey::new(Box::new(*file_key));
        let stanza = wrap(&recipient, &key);
        let license = (rights.offline_days > 0 && r.purpose == crate::api::Purpose::View)
            .then(|| self.license(who, &rights, &doc, &granted, &key, now))
            .flatten();
        let answer = KeyResponse { stanza, rights: granted.into_iter().collect(), license };
        Ok(ok(200, &answer).about(&doc))
    }

    fn license(
        &self,
        who: &Principal,
        rights: &Rights,
        doc: &Document,
        granted: &std::collections::BTreeSet<Right>,
        key: &age_core::format::FileKey,
        now: Timestamp,
    ) -> Option<String> {
        let to = rights::parse_recipient(&who.recipient).ok()?;
        let mut exp = now.checked_add(jiff::SignedDuration::from_hours(24 * i64::from(rights.offline_days))).ok()?;
        if let Some(t) = rights.not_after {
            exp = exp.min(t);
        }
        let l = License {
            v: 1,
            doc_id: doc.doc_id.clone(),
            principal: who.name.clone(),
            rights: granted.iter().copied().collect(),
            rights_sha256: hex(&doc.rights_hash),
            iat: now,
            exp,
            stanza: wrap(&to, key),
        };
        let env = Envelope::sign(rights::LICENSE, &self.kid, &self.signing, &serde_json::to_vec(&l).ok()?);
        String::from_utf8(env.to_bytes()).ok()
    }

    fn document_op(
        &self,
        who: &Principal,
        doc_id: &str,
        op: &str,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Outcome, Error> {
        let Some(doc) = self.store.document(doc_id)? else {
            return Ok(refuse(404, "unknown_document", format!("document {doc_id} is not known to this key service")));
        };
        let owns = who.admin || doc.owner.eq_ignore_ascii_case(&who.name) || {
            let rights: Option<Rights> = serde_json::from_slice(&doc.rights).ok();
            let groups = self.store.groups_of(&who.name)?;
            rights.is_some_and(|r| r.granted(&who.name, &groups).contains(&Right::Owner))
        };
        if !owns {
            return Ok(refuse(
                403,
                "not_owner",
                format!("only the owner of document {doc_id} or an administrator may {op} it"),
            )
            .about(&doc));
        }
        let reason: Reason = serde_json::from_slice(body).unwrap_or_default();
        let state = |status: DocStatus, at: Option<Millis>| DocumentState {
            doc_id: doc.doc_id.clone(),
            owner: doc.owner.clone(),
            label: doc.label_name.clone(),
            status: status.as_str().to_string(),
            revoked_at: at.and_then(timestamp),
            revoked_by: at.map(|_| who.name.clone()),
            reason: at.map(|_| reason.reason.clone()),
        };
        if doc.status == DocStatus::Shredded && op != "track" {
            return Ok(
                refuse(410, "shredded", format!("document {doc_id} was shredded: its key is destroyed")).about(&doc)
            );
        }
        let at = millis(now);
        let o = match op {
            "revoke" | "unrevoke" => {
                let status = if op == "revoke" { DocStatus::Revoked } else { DocStatus::Active };
                let when = (op == "revoke").then_some(at);
                ok(200, &state(status, when)).with(Change::DocumentStatus {
                    doc_id: doc.doc_id.clone(),
                    status,
                    at,
                    by: who.name.clone(),
                    reason: reason.reason.clone(),
                })
            }
            "shred" => {
                let confirm = serde_json::from_slice::<ShredRequest>(body).map(|s| s.confirm).unwrap_or_default();
                if confirm != doc.doc_id {
                    return Ok(refuse(
                        400,
                        "not_confirmed",
                        format!("shredding is irreversible: confirm with the document id {doc_id}"),
                    )
                    .about(&doc));
                }
                ok(200, &state(DocStatus::Shredded, Some(at))).with(Change::Shred {
                    doc_id: doc.doc_id.clone(),
                    at,
                    by: who.name.clone(),
                })
            }
            _ => {
                let q = AuditRequest {
                    doc_id: Some(doc.doc_id.clone()),
                    ..serde_json::from_slice(body).unwrap_or_default()
                };
                ok(200, &serde_json::json!({"document": state(doc.status, doc.revoked_at), "events": self.events(&q)?}))
            }
        };
        Ok(o.about(&doc))
    }

    fn events(&self, r: &AuditRequest) -> Result<Vec<AuditEvent>, Error> {
        let rows = self.store.audit(&AuditQuery {
            doc_id: r.doc_id.clone(),
            principal: r.principal.clone(),
            since: r.since.map(millis),
            after_id: r.after_id,
            limit: r.limit,
        })?;
        Ok(rows.into_iter().map(event).collect())
    }
}

/// An audit row as the API shows it.
pub fn event(a: AuditRow) -> AuditEvent {
    AuditEvent {
        id: a.id,
        ts: millis_text(a.ts),
        principal: a.principal,
        doc_id: a.doc_id,
        label_id: a.label_id,
        action: a.action,
        decision: if a.decision == Decision::Allow { "allow" } else { "deny" }.to_string(),
        reason: a.reason,
        client: a.client,
        user_agent: a.user_agent,
    }
}

fn wrap(to: &age::x25519::Recipient, key: &age_core::format::FileKey) -> StanzaJson {
    let (mut stanzas, _) = to.wrap_file_key(key).expect("X25519 wrapping cannot fail");
    stanza_json(stanzas.remove(0))
}

/// The audit action of a request; a key request says by its purpose whether it opens or unprotects.
fn action_of(method: &str, segments: &[&str], body: &[u8]) -> &'static str {
    match (method, segments) {
        ("POST", ["v1", "documents"]) => "protect",
        ("POST", ["v1", "documents", _, "key"]) => {
            serde_json::from_slice::<KeyRequest>(body).map(|r| r.purpose.action()).unwrap_or("key")
        }
        ("POST", ["v1", "documents", _, "revoke"]) => "revoke",
        ("POST", ["v1", "documents", _, "unrevoke"]) => "unrevoke",
        ("POST", ["v1", "documents", _, "shred"]) => "shred",
        ("POST", ["v1", "documents", _, "track"]) => "track",
        ("POST", ["v1", "labels", "revoke"]) => "revoke-label",
        ("POST", ["v1", "labels", "unrevoke"]) => "unrevoke-label",
        ("POST", ["v1", "principals", "revoke"]) => "revoke-principal",
        ("POST", ["v1", "principals", "unrevoke"]) => "unrevoke-principal",
        ("POST", ["v1", "audit"]) => "audit",
        _ => "unknown",
    }
}
