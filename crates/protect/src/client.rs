//! Talking to the key service: in-process over a local store (embedded, the default) or over HTTP
//! (`MAMORI_KEY_SERVICE=http://…`). Both sign every request and reach the same
//! [`KeyService::handle`]; the client never holds more than it is given.

use crate::Error;
use mamori_keys::api::*;
use mamori_keys::request::Signed;
use mamori_keys::rights::Grant;
use mamori_keys::store::{Change, Principal};
use mamori_keys::{Identity, KeyService};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How requests reach a key service.
pub trait Transport: Send + Sync {
    /// `(status, body)` of an unsigned GET.
    fn get(&self, path: &str) -> Result<(u16, Vec<u8>), Error>;
    /// `(status, body)` of a signed POST.
    fn post(&self, path: &str, signed: &Signed, body: &[u8]) -> Result<(u16, Vec<u8>), Error>;
    /// Where requests go, for messages.
    fn describe(&self) -> String;
}

/// The key service in this process, over a store in the mamori home.
pub struct Embedded {
    service: KeyService,
}

impl Embedded {
    /// Opens (or creates) the embedded store under `home`, and makes the local identity its
    /// administrator: the user who owns the store's files owns the key service.
    pub fn open(home: &Path, identity: &Identity) -> Result<Embedded, Error> {
        let dir = home.join("ks");
        mamori_keys::create_private_dir(&dir).map_err(|e| Error::Io { path: dir.clone(), source: e })?;
        let service = KeyService::open_sqlite(&dir.join("ks.db"))?;
        let me = identity.public();
        let registered = service.store().principal(&me.principal).map_err(Error::Keys)?;
        if registered
            .as_ref()
            .is_none_or(|p| p.signing_key != me.signing_key || p.recipient != me.recipient || !p.admin)
        {
            let p = Principal {
                name: me.principal.clone(),
                signing_key: me.signing_key,
                recipient: me.recipient,
                admin: true,
                disabled: false,
                access_revoked_at: None,
            };
            service.administer(&me.principal, "register", Change::PutPrincipal(p)).map_err(Error::Keys)?;
        }
        Ok(Embedded { service })
    }

    /// Any key service in this process, e.g. over a store shared with `mamori serve`.
    pub fn new(service: KeyService) -> Embedded {
        Embedded { service }
    }

    pub fn service(&self) -> &KeyService {
        &self.service
    }
}

impl Transport for Embedded {
    fn get(&self, path: &str) -> Result<(u16, Vec<u8>), Error> {
        let r = self.service.handle(&mamori_keys::Request {
            method: "GET",
            path,
            signed: None,
            body: b"",
            client: "local".into(),
            user_agent: user_agent(),
        });
        Ok((r.status, r.body))
    }

    fn post(&self, path: &str, signed: &Signed, body: &[u8]) -> Result<(u16, Vec<u8>), Error> {
        let r = self.service.handle(&mamori_keys::Request {
            method: "POST",
            path,
            signed: Some(signed.clone()),
            body,
            client: "local".into(),
            user_agent: user_agent(),
        });
        Ok((r.status, r.body))
    }

    fn describe(&self) -> String {
        "the embedded key service".to_string()
    }
}

fn user_agent() -> String {
    format!("mamori/{}", env!("CARGO_PKG_VERSION"))
}

/// A key service over HTTP.
pub struct Http {
    base: String,
    agent: ureq::Agent,
}

impl Http {
    pub fn new(base: &str) -> Http {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .user_agent(user_agent())
            .build()
            .into();
        Http { base: base.trim_end_matches('/').to_string(), agent }
    }

    fn unreachable(&self, e: ureq::Error) -> Error {
        Error::Unreachable { url: self.base.clone(), reason: e.to_string() }
    }

    fn read(&self, mut r: ureq::http::Response<ureq::Body>) -> Result<(u16, Vec<u8>), Error> {
        let status = r.status().as_u16();
        let body = r.body_mut().with_config().limit(16 << 20).read_to_vec().map_err(|e| self.unreachable(e))?;
        Ok((status, body))
    }
}

impl Transport for Http {
    fn get(&self, path: &str) -> Result<(u16, Vec<u8>), Error> {
        let r = self.agent.get(format!("{}{path}", self.base)).call().map_err(|e| self.unreachable(e))?;
        self.read(r)
    }

    fn post(&self, path: &str, signed: &Signed, body: &[u8]) -> Result<(u16, Vec<u8>), Error> {
        let mut req = self.agent.post(format!("{}{path}", self.base)).header("content-type", "application/json");
        for (k, v) in signed.headers() {
            req = req.header(k, v);
        }
        let r = req.send(body).map_err(|e| self.unreachable(e))?;
        self.read(r)
    }

    fn describe(&self) -> String {
        format!("the key service at {}", self.base)
    }
}

/// A signed client of one key service, as one identity.
pub struct Client {
    transport: Box<dyn Transport>,
    identity: Identity,
    home: PathBuf,
    /// Pinned keys per key service, read from disk once per client, not once per open.
    pinned: Mutex<HashMap<String, Keys>>,
}

/// Key service signing keys: (kid, key).
pub type Keys = Vec<(String, ed25519_dalek::VerifyingKey)>;

/// The key service this machine uses: `MAMORI_KEY_SERVICE`, else `key_service` in
/// `<home>/config.toml`, else none (embedded).
pub fn configured_key_service(home: &Path) -> Result<Option<String>, Error> {
    if let Some(v) = std::env::var("MAMORI_KEY_SERVICE").ok().filter(|v| !v.trim().is_empty()) {
        return Ok(Some(v.trim().to_string()));
    }
    let path = home.join("config.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::Io { path, source: e }),
    };
    #[derive(serde::Deserialize)]
    struct Config {
        key_service: Option<String>,
    }
    let c: Config = toml::from_str(&text).map_err(|e| Error::Config { path, reason: e.to_string() })?;
    Ok(c.key_service.filter(|v| !v.trim().is_empty()))
}

impl Client {
    /// The identity in `home`, talking to the configured key service (or the embedded one).
    pub fn from_home(home: &Path) -> Result<Client, Error> {
        let identity = Identity::load(home).map_err(Error::Keys)?;
        let transport: Box<dyn Transport> = match configured_key_service(home)? {
            Some(url) => Box::new(Http::new(&url)),
            None => Box::new(Embedded::open(home, &identity)?),
        };
        Ok(Client::new(transport, identity, home))
    }

    pub fn new(transport: Box<dyn Transport>, identity: Identity, home: &Path) -> Client {
        Client { transport, identity, home: home.to_path_buf(), pinned: Mutex::new(HashMap::new()) }
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub fn describe(&self) -> String {
        self.transport.describe()
    }

    /// A signed call; a refusal becomes [`Error::Refused`] with the service's code and message.
    pub fn call<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, Error> {
        let body = serde_json::to_vec(body).expect("requests serialize");
        let signed = Signed::sign(&self.identity, "POST", path, &body, jiff::Timestamp::now().as_second());
        let (status, answer) = self.transport.post(path, &signed, &body)?;
        decode(status, &answer, &self.transport.describe())
    }

    pub fn info(&self) -> Result<KsInfo, Error> {
        let (status, body) = self.transport.get("/v1/ks")?;
        decode(status, &body, &self.transport.describe())
    }

    pub fn protect(&self, r: &ProtectRequest) -> Result<ProtectResponse, Error> {
        self.call("/v1/documents", r)
    }

    pub fn key(&self, doc_id: &str, r: &KeyRequest) -> Result<KeyResponse, Error> {
        self.call(&format!("/v1/documents/{doc_id}/key"), r)
    }

    pub fn revoke(&self, doc_id: &str, reason: &str) -> Result<DocumentState, Error> {
        self.call(&format!("/v1/documents/{doc_id}/revoke"), &Reason { reason: reason.to_string() })
    }

    pub fn unrevoke(&self, doc_id: &str, reason: &str) -> Result<DocumentState, Error> {
        self.call(&format!("/v1/documents/{doc_id}/unrevoke"), &Reason { reason: reason.to_string() })
    }

    pub fn shred(&self, doc_id: &str, confirm: &str) -> Result<DocumentState, Error> {
        self.call(&format!("/v1/documents/{doc_id}/shred"), &ShredRequest { confirm: confirm.to_string() })
    }

    pub fn track(&self, doc_id: &str, r: &AuditRequest) -> Result<Track, Error> {
        self.call(&format!("/v1/documents/{doc_id}/track"), r)
    }

    pub fn audit(&self, r: &AuditRequest) -> Result<Vec<AuditEvent>, Error> {
        self.call("/v1/audit", r)
    }

    /// Revokes (`revoke`) or restores every document of a label, or a principal's access.
    pub fn revoke_label(&self, label_id: &str, revoke: bool, reason: &str) -> Result<serde_json::Value, Error> {
        let op = if revoke { "revoke" } else { "unrevoke" };
        self.call(
            &format!("/v1/labels/{op}"),
            &LabelRequest { label_id: label_id.to_string(), reason: reason.to_string() },
        )
    }

    pub fn revoke_principal(&self, name: &str, revoke: bool, reason: &str) -> Result<serde_json::Value, Error> {
        let op = if revoke { "revoke" } else { "unrevoke" };
        self.call(
            &format!("/v1/principals/{op}"),
            &PrincipalRequest { name: name.to_string(), reason: reason.to_string() },
        )
    }

    /// The keys of key service `ks_id` pinned on this machine (no network).
    pub fn pinned_keys(&self, ks_id: &str) -> Result<Keys, Error> {
        let mut cache = self.pinned.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(keys) = cache.get(ks_id) {
            return Ok(keys.clone());
        }
        let keys = crate::trust::load(&self.home, ks_id)?;
        cache.insert(ks_id.to_string(), keys.clone());
        Ok(keys)
    }

    /// The signing keys of key service `ks_id` this machine trusts, including `kid`: pinned at
    /// first contact (as ssh pins host keys), refreshed from the configured service when it is
    /// that service.
    pub fn trusted_keys(&self, ks_id: &str, kid: &str) -> Result<Keys, Error> {
        let pinned = self.pinned_keys(ks_id)?;
        if pinned.iter().any(|(k, _)| k == kid) {
            return Ok(pinned);
        }
        let info = self.info()?;
        if info.ks_id != ks_id {
            return Err(Error::OtherKeyService { file_ks: ks_id.to_string(), ours: info.ks_id, via: self.describe() });
        }
        crate::trust::pin(&self.home, &info)?;
        self.pinned.lock().unwrap_or_else(|p| p.into_inner()).remove(ks_id);
        self.pinned_keys(ks_id)
    }
}

/// What `track` answers: the document's state and its access log.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Track {
    pub document: DocumentState,
    pub events: Vec<AuditEvent>,
}

fn decode<T: DeserializeOwned>(status: u16, body: &[u8], via: &str) -> Result<T, Error> {
    if (200..300).contains(&status) {
        return serde_json::from_slice(body).map_err(|e| Error::Unreachable {
            url: via.to_string(),
            reason: format!("an answer that does not parse: {e}"),
        });
    }
    match serde_json::from_slice::<Refusal>(body) {
        Ok(r) => Err(Error::Refused { status, code: r.error, message: r.message }),
        Err(_) => Err(Error::Unreachable {
            url: via.to_string(),
            reason: format!("HTTP {status}: {}", String::from_utf8_lossy(&body[..body.len().min(200)])),
        }),
    }
}

/// Grants given as `PRINCIPAL=RIGHT,RIGHT` plus a label's template.
pub fn grants_of(template: &[(String, Vec<String>)], extra: &[Grant]) -> Result<Vec<Grant>, Error> {
    let mut out = Vec::new();
    for (p, rights) in template {
        let r = rights.iter().map(|r| mamori_keys::rights::Right::parse(r)).collect::<Result<Vec<_>, _>>();
        out.push(Grant { p: p.clone(), r: r.map_err(Error::Keys)? });
    }
    out.extend(extra.iter().cloned());
    Ok(out)
}
