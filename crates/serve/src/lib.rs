//! `mamori-serve`: the key service over HTTP. Every request goes, unchanged, to
//! [`KeyService::handle`] on a blocking thread (the store is synchronous SQLite); this crate only
//! carries bytes, headers and the client's address. No state lives here, so several processes
//! can serve one store.
#![forbid(unsafe_code)]

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use mamori_keys::request::Signed;
use mamori_keys::{KeyService, Request};
use std::net::SocketAddr;
use std::sync::Arc;

/// Requests are small JSON; anything larger is refused before it is read.
const BODY_LIMIT: usize = 64 * 1024;

/// Serves `service` on `listener` until SIGINT or SIGTERM, then finishes the requests in flight.
pub async fn serve(service: Arc<KeyService>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let app = axum::Router::new().fallback(handle).layer(DefaultBodyLimit::max(BODY_LIMIT)).with_state(service);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown())
        .await
}

async fn shutdown() {
    let int = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("a SIGTERM handler");
        tokio::select! { _ = int => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = int.await;
}

async fn handle(
    State(service): State<Arc<KeyService>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    let signed = Signed::from_headers(header);
    let user_agent = header("user-agent").unwrap_or("").to_string();
    let path = uri.path().to_string();
    let answer = tokio::task::spawn_blocking(move || {
        service.handle(&Request {
            method: method.as_str(),
            path: &path,
            signed,
            body: &body,
            client: addr.ip().to_string(),
            user_agent,
        })
    })
    .await;
    match answer {
        Ok(r) => {
            let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, [("content-type", "application/json")], r.body).into_response()
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "{\"error\":\"internal\",\"message\":\"the handler failed\"}")
            .into_response(),
    }
}

/// Runs [`serve`] on a new multi-threaded runtime: what `mamori serve` calls.
pub fn run(service: KeyService, listen: &str, on_ready: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        on_ready(listener.local_addr()?);
        serve(Arc::new(service), listener).await
    })
}
