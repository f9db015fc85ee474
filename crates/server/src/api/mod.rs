//! Routes and handlers. Handlers only parse, call and map: validation lives in [`request`], storage
//! behind [`Store`] and [`BlobStore`], fusion in the [`WorkerPool`], and every error becomes a response
//! in one place, [`ApiError`]'s `IntoResponse`.
//!
//! Here: the state, the router, the middleware, the key check, the page and the operator routes.
//! `fusion` runs `POST /v1/faceswap`, `detect` `POST /v1/detect`, `results` the task and result
//! routes, `body` reads request bodies, `idempotency` the `Idempotency-Key` header, `admin` the admin
//! API, `request` the body's validation, `openapi` the document.

pub mod admin;
mod body;
mod detect;
mod fusion;
mod idempotency;
pub mod openapi;
pub mod request;
mod results;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use faceswap_engine::{EngineError, Role};
use serde::Serialize;

use sha2::Digest as _;

use crate::blobs::BlobStore;
use crate::config::Config;
use crate::error::{detail, ApiError, Photo, ResponseCode};
use crate::fetch::{FetchError, Fetcher};
use crate::keys::hash_key;
use crate::metrics::{Metrics, Stage};
use crate::store::{Failure, KeyRecord, ModerationNote, Store, Success, TaskStatus};
use crate::sweeper::blob_name;
use crate::worker::{Job, JobError, JobOutput, WorkerPool, JOB_TIMEOUT};
use crate::{now_millis, rfc3339};
use request::{base64_decoded_len_bound, decode_base64, parse_request, FaceswapRequest, Source};

use body::*;
pub use fusion::engine_error;
use fusion::*;
use results::*;

/// Everything the handlers share.
pub struct AppState {
    /// The settings.
    pub config: Config,
    /// Base of result URLs, without a trailing slash.
    pub public_url: String,
    /// Whether result URLs are built from each request's `Host` instead (no public URL configured
    /// and bound to all interfaces).
    pub public_url_from_host: bool,
    /// Keys, credits, tasks.
    pub store: Arc<dyn Store>,
    /// Result files.
    pub blobs: Arc<dyn BlobStore>,
    /// Safe URL fetching.
    pub fetcher: Fetcher,
    /// The fusion workers.
    pub pool: WorkerPool,
    /// Counters and histograms.
    pub metrics: Arc<Metrics>,
    /// Bounds how many authenticated request bodies are read and held at once, in all (requests
    /// beyond wait, unread, with TCP back-pressure) and per key (beyond its share, refused at once).
    pub body_slots: crate::slots::BodySlots,
}

/// The state as handlers receive it.
pub type SharedState = Arc<AppState>;

/// The key that made a request, attached to its response for the log line (never the token).
#[derive(Debug, Clone)]
struct KeyId(String);

/// The task of a request, attached to its response for the log line.
#[derive(Debug, Clone)]
struct TaskId(String);

/// The whole HTTP API.
pub fn router(state: SharedState) -> Router {
    let mut router = Router::new();
    if state.config.admin_token.is_some() {
        router = router.merge(admin::routes());
    }
    router
        .route("/v1/faceswap", post(faceswap))
        .route("/v1/faceswap/", post(faceswap))
        .route("/", get(page))
        .route("/v1/detect", post(detect::detect))
        .route("/v1/tasks/{task_id}", get(task))
        .route("/v1/results/{file}", get(result).delete(delete_result))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .fallback(|| async { ApiError::NotFound })
        // A known path with another method: 405 with a JSON body like every other answer (axum
        // keeps its `Allow` header).
        .method_not_allowed_fallback(method_not_allowed)
        // The faceswap handler reads its body itself, with its own limit and error.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(log_and_contain))
        .with_state(state)
}

/// 405 for a known path used with another method.
async fn method_not_allowed() -> Response {
    let body = crate::error::ErrorBody {
        code: "method_not_allowed",
        detail: "Method not allowed.",
        task_id: None,
    };
    let mut r = (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response();
    r.extensions_mut()
        .insert(ResponseCode("method_not_allowed"));
    r
}

/// The base of result URLs for a request: the configured one, or `http://` + the request's `Host`
/// when the server is bound to all interfaces without a public URL.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    state
        .public_url_from_host
        .then(|| host_base(headers))
        .flatten()
        .unwrap_or_else(|| state.public_url.clone())
}

/// `http://HOST` of the request's `Host` header, when it is a plain host and port (no user part).
fn host_base(headers: &HeaderMap) -> Option<String> {
    headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
        .filter(|a| !a.as_str().contains('@'))
        .map(|host| format!("http://{host}"))
}

/// Logs one line per request (path only: query strings may hold the token) and turns a panicking
/// handler into a 500 `unknown` instead of a dropped connection.
async fn log_and_contain(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let start = Instant::now();
    let response = match tokio::spawn(next.run(req)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, path = %path, "handler panicked");
            ApiError::Unknown.into_response()
        }
    };
    let status = response.status().as_u16();
    let code = response
        .extensions()
        .get::<ResponseCode>()
        .map_or("", |c| c.0);
    let key_id = response
        .extensions()
        .get::<KeyId>()
        .map_or("", |k| k.0.as_str());
    let task_id = response
        .extensions()
        .get::<TaskId>()
        .map_or("", |t| t.0.as_str());
    let ms = start.elapsed().as_secs_f64() * 1e3;
    if matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics") {
        tracing::debug!(%method, %path, status, ms, "request");
    } else {
        tracing::info!(%method, %path, status, code, key_id, task_id, ms, "request");
    }
    response
}

/// The token from `?token=` or `Authorization: Bearer`.
fn token(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    if let Some(q) = uri.query() {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            if k == "token" && !v.trim().is_empty() {
                return Some(v.trim().to_string());
            }
        }
    }
    let auth = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, value) = auth.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !value.trim().is_empty())
        .then(|| value.trim().to_string())
}

/// Token present and a live key, or the 401/403 answer.
async fn authenticate(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<KeyRecord, ApiError> {
    let token = token(uri, headers).ok_or(ApiError::NoToken)?;
    state
        .store
        .live_key(hash_key(&token))
        .await
        .map_err(internal("key lookup"))?
        .ok_or(ApiError::InvalidApiKey)
}

/// The client's address, as the listener saw it (absent when the router is called without one,
/// as in some tests). Behind a proxy it is the proxy's.
pub(super) type Peer = Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>;

fn peer_ip(peer: &Peer) -> Option<std::net::IpAddr> {
    peer.as_ref().map(|axum::Extension(c)| c.0.ip())
}

/// Logs an internal fault and answers 500 `unknown`.
fn internal<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> ApiError {
    move |e| {
        tracing::error!(error = %e, "{what} failed");
        ApiError::Unknown
    }
}

/// The page to try the service (`/`): one file, embedded in the binary, nothing fetched from
/// elsewhere.
async fn page() -> Response {
    let mut r = axum::response::Html(include_str!("../web/index.html")).into_response();
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

fn new_task_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn retention_ms(state: &AppState) -> i64 {
    state.config.retention.as_millis().min(i64::MAX as u128) as i64
}

/// `GET /healthz`: the process answers.
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// `GET /readyz`: models loaded, database and storage reachable.
async fn readyz(State(state): State<SharedState>) -> Response {
    let workers = state.pool.workers();
    let workers_ready = state.pool.ready_workers();
    let database = state.store.ping().await.is_ok();
    let storage = state.blobs.ping().await.is_ok();
    let ready = workers_ready == workers && database && storage;
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "not_ready" },
        "workers": workers,
        "workers_ready": workers_ready,
        "database": database,
        "storage": storage,
        "moderation": state.config.moderation.enabled,
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// `GET /metrics`: Prometheus text.
async fn metrics(State(state): State<SharedState>) -> Response {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
        .into_response()
}

/// `GET /openapi.json`.
async fn openapi(State(state): State<SharedState>, headers: HeaderMap) -> Json<serde_json::Value> {
    Json(openapi::document(&base_url(&state, &headers)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_urls_from_the_host_header_take_a_plain_host_only() {
        let with = |host: &str| {
            let mut h = HeaderMap::new();
            h.insert(HOST, host.parse().unwrap());
            host_base(&h)
        };
        assert_eq!(
            with("localhost:8080").as_deref(),
            Some("http://localhost:8080")
        );
        assert_eq!(with("[::1]:80").as_deref(), Some("http://[::1]:80"));
        assert_eq!(
            with("faces.example.com").as_deref(),
            Some("http://faces.example.com")
        );
        assert_eq!(with("user@evil.example"), None);
        assert_eq!(with("a b"), None);
        assert_eq!(host_base(&HeaderMap::new()), None);
    }

    /// A body sent in `chunks` chunks of `size` bytes, counting how many were read.
    struct Chunked {
        chunks: usize,
        size: usize,
        sent: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    impl axum::body::HttpBody for Chunked {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
            use std::sync::atomic::Ordering;
            let this = self.get_mut();
            if this.sent.load(Ordering::SeqCst) == this.chunks {
                return std::task::Poll::Ready(None);
            }
            this.sent.fetch_add(1, Ordering::SeqCst);
            let data = Bytes::from(vec![b'x'; this.size]);
            std::task::Poll::Ready(Some(Ok(http_body::Frame::data(data))))
        }
    }

    fn read(chunks: usize, size: usize, limit: usize) -> (Result<Bytes, BodyError>, usize) {
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let body = Body::new(Chunked {
            chunks,
            size,
            sent: sent.clone(),
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let got = rt.block_on(read_body(body, limit));
        (got, sent.load(std::sync::atomic::Ordering::SeqCst))
    }

    #[test]
    fn bodies_over_the_limit_are_read_to_their_end_up_to_twice_the_limit() {
        let (got, _) = read(10, 100, 1000);
        assert_eq!(got.unwrap().len(), 1000);
        // 1.5× the limit: refused, but only after the whole upload arrived.
        let (got, sent) = read(15, 100, 1000);
        assert_eq!((got, sent), (Err(BodyError::TooLarge), 15));
        // Far over: given up just past twice the limit.
        let (got, sent) = read(1000, 100, 1000);
        assert_eq!((got, sent), (Err(BodyError::TooLarge), 21));
    }

    #[test]
    fn token_from_query_or_bearer() {
        let h = HeaderMap::new();
        let u: Uri = "/v1/faceswap?token=fsk_abc&x=1".parse().unwrap();
        assert_eq!(token(&u, &h).as_deref(), Some("fsk_abc"));
        let u: Uri = "/v1/faceswap?token=".parse().unwrap();
        assert_eq!(token(&u, &h), None);
        let u: Uri = "/v1/faceswap".parse().unwrap();
        assert_eq!(token(&u, &h), None);
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer fsk_xyz"));
        assert_eq!(token(&u, &h).as_deref(), Some("fsk_xyz"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic Zm9v"));
        assert_eq!(token(&u, &h), None);
        let u: Uri = "/v1/faceswap?token=fsk%2Benc".parse().unwrap();
        assert_eq!(token(&u, &HeaderMap::new()).as_deref(), Some("fsk+enc"));
    }
}
