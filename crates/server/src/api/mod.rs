//! Routes and handlers. Handlers only parse, call and map: validation lives in [`request`], storage
//! behind [`Store`] and [`BlobStore`], fusion in the [`WorkerPool`], and every error becomes a response
//! in one place, [`ApiError`]'s `IntoResponse`.

pub mod admin;
mod detect;
mod idempotency;
pub mod openapi;
pub mod request;

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
use crate::limits::RateLimiter;
use crate::metrics::{Metrics, Stage};
use crate::store::{Failure, KeyRecord, ModerationNote, Store, Success, TaskStatus};
use crate::sweeper::blob_name;
use crate::worker::{Job, JobError, JobOutput, WorkerPool, JOB_TIMEOUT};
use crate::{now_millis, rfc3339};
use request::{base64_decoded_len_bound, decode_base64, parse_request, FaceswapRequest, Source};

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
    /// Per-key rate limits.
    pub limiter: RateLimiter,
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
    if state.public_url_from_host {
        let host = headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
            .filter(|a| !a.as_str().contains('@'));
        if let Some(host) = host {
            return format!("http://{host}");
        }
    }
    state.public_url.clone()
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

/// Logs an internal fault and answers 500 `unknown`.
fn internal<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> ApiError {
    move |e| {
        tracing::error!(error = %e, "{what} failed");
        ApiError::Unknown
    }
}

/// The success body: the contract's three fields, then additions.
#[derive(Debug, Serialize)]
pub(crate) struct SuccessBody {
    code: &'static str,
    image_url: String,
    task_id: String,
    /// When the result is deleted (RFC 3339).
    expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_base64: Option<String>,
    /// The engine's report: pose difference, covered share of A's face, mouths, light and
    /// sharpness mismatch, face sizes and warnings.
    #[serde(skip_serializing_if = "Option::is_none")]
    quality: Option<serde_json::Value>,
    /// With the `faces` form: each face's template index and report.
    #[serde(skip_serializing_if = "Option::is_none")]
    faces: Option<Vec<serde_json::Value>>,
}

/// The page to try the service (`/`): one file, embedded in the binary, nothing fetched from
/// elsewhere.
async fn page() -> Response {
    let mut r = axum::response::Html(include_str!("../web/index.html")).into_response();
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// `POST /v1/faceswap`.
async fn faceswap(
    State(state): State<SharedState>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let start = Instant::now();
    let mut key_id = None;
    let result = faceswap_flow(&state, &uri, &headers, body, &mut key_id).await;
    state.metrics.stage(Stage::Total, start.elapsed());
    let mut response = match result {
        Ok(body) => {
            let task = body.task_id.clone();
            let mut r = (StatusCode::OK, Json(body)).into_response();
            r.extensions_mut().insert(ResponseCode("success"));
            r.extensions_mut().insert(TaskId(task));
            r
        }
        Err(e) => {
            let task = e.task_id().map(str::to_string);
            let mut r = e.into_response();
            if let Some(t) = task {
                r.extensions_mut().insert(TaskId(t));
            }
            r
        }
    };
    let code = response
        .extensions()
        .get::<ResponseCode>()
        .map_or("", |c| c.0);
    state.metrics.response(code);
    if let Some(k) = key_id {
        response.extensions_mut().insert(KeyId(k));
    }
    response
}

/// The checks in the contract's order: token, key, body, task id, rate, credits; then the task runs.
async fn faceswap_flow(
    state: &SharedState,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
    key_id: &mut Option<String>,
) -> Result<SuccessBody, ApiError> {
    let key = authenticate(state, uri, headers).await?;
    *key_id = Some(key.id.clone());
    let base = base_url(state, headers);
    let created_at = now_millis();
    // A key without credits cannot have a task: its body is not kept and holds no slot, only
    // drained for a moment so that a client still uploading reads the answer rather than a
    // connection closed under it (rate first, as in the contract's order).
    if key.credits <= 0 {
        let drain = state.config.body_timeout.min(NO_CREDIT_DRAIN);
        let max = state.config.max_body_bytes.saturating_mul(2);
        let _ = tokio::time::timeout(drain, drain_body(body, max)).await;
        let task_id = new_task_id();
        check_rate(state, &key, &task_id, created_at).await?;
        return Err(ApiError::UsedUp);
    }
    let (slot, read) = match read_in_slot(state, &key.id, body).await {
        Ok(read) => read,
        Err(crate::slots::SlotRefused::KeyBusy) => {
            // The key kept its share of bodies in flight all that time: more is over its rate.
            let e = ApiError::RequestRateLimit {
                task_id: new_task_id(),
            };
            refuse_before_reserve(state, &key, created_at, &e).await;
            return Err(e);
        }
        Err(crate::slots::SlotRefused::Closed) => return Err(internal("body slot")("closed")),
    };
    let bytes = match read {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            // Too large to read: the photos inside exceed the limits. Rate and credits are still
            // checked first, in the contract's order.
            drop(slot);
            let task_id = new_task_id();
            check_rate(state, &key, &task_id, created_at).await?;
            if key.credits <= 0 {
                return Err(ApiError::UsedUp);
            }
            let e = ApiError::ImageSizeLimited { task_id };
            refuse_before_reserve(state, &key, created_at, &e).await;
            return Err(e);
        }
        // A broken connection, or a client too slow to send its body.
        Err(BodyError::Broken) => {
            return Err(ApiError::InvalidPost(
                "Your request body could not be read.".into(),
            ))
        }
    };
    let req = parse_request(&bytes).map_err(ApiError::InvalidPost)?;
    let label_optional = state
        .config
        .visible_label
        .as_ref()
        .is_none_or(|l| l.optional);
    if req.label == Some(false) && !label_optional {
        return Err(ApiError::InvalidPost(
            "Your label cannot be switched off on this server.".into(),
        ));
    }
    // A retry with the same Idempotency-Key and body gets the first success, at no cost.
    let held = match idempotency::key_of(headers)? {
        None => None,
        Some(idem) => {
            let body_hash = sha2::Sha256::digest(&bytes).into();
            match idempotency::claim(state, &key.id, &idem, body_hash).await? {
                idempotency::Replay::Answer(kept) => {
                    return Ok(idempotency::answer(state, kept, req.return_base64).await)
                }
                idempotency::Replay::Run(held) => Some(held),
            }
        }
    };
    drop(bytes);
    let task_id = new_task_id();
    check_rate(state, &key, &task_id, created_at).await?;
    // From the reservation on, a credit is held: reservation and task run on their own tokio task,
    // to their end (commit or refund), even if the client goes away and this future is dropped.
    let task_state = state.clone();
    let id = task_id.clone();
    let key_id = key.id.clone();
    let task = tokio::spawn(async move {
        let reserved = task_state
            .store
            .reserve(key_id.clone(), id.clone(), created_at)
            .await
            .map_err(internal("credit reservation"))?;
        if !reserved {
            return Err(ApiError::UsedUp);
        }
        let result = run_task(&task_state, &key_id, &id, req, &base).await;
        // Recorded here, on the task's own tokio task: a client that went away finds the answer
        // when it retries. (Dropped without a success, the claim is released.)
        if let (Some(held), Ok(body)) = (held, &result) {
            held.finish(body).await;
        }
        result
    });
    match task.await {
        Ok(result) => result,
        Err(e) => {
            tracing::error!(task_id = %task_id, error = %e, "task panicked");
            settle_failure(state, &task_id, &ApiError::Unknown, None).await;
            Err(ApiError::Unknown)
        }
    }
}

/// The key's rate limit: a request over it is refused (and recorded) with this task id.
async fn check_rate(
    state: &AppState,
    key: &KeyRecord,
    task_id: &str,
    created_at: i64,
) -> Result<(), ApiError> {
    let rate = key.rate.unwrap_or(state.config.default_rate);
    if state.limiter.check(&key.id, rate) {
        return Ok(());
    }
    let e = ApiError::RequestRateLimit {
        task_id: task_id.into(),
    };
    refuse_before_reserve(state, key, created_at, &e).await;
    Err(e)
}

/// How long the body of a key without credits is drained before its answer.
const NO_CREDIT_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Why a request body was not read.
#[derive(Debug, PartialEq)]
enum BodyError {
    /// Over the limit.
    TooLarge,
    /// The connection broke.
    Broken,
}

/// Reads a request body in one of the body slots (the key's share is freed for its next body once
/// read; the slot itself is held by the request until it drops it), within the body timeout (a
/// body not read by then is [`BodyError::Broken`]).
async fn read_in_slot(
    state: &AppState,
    key_id: &str,
    body: Body,
) -> Result<(crate::slots::BodySlot, Result<Bytes, BodyError>), crate::slots::SlotRefused> {
    let mut slot = state
        .body_slots
        .acquire(key_id, state.config.body_timeout)
        .await?;
    let read = tokio::time::timeout(
        state.config.body_timeout,
        read_body(body, state.config.max_body_bytes),
    )
    .await;
    slot.body_read();
    Ok((slot, read.unwrap_or(Err(BodyError::Broken))))
}

/// Reads a body of at most `limit` bytes. A longer one is still read to its end (and discarded) up
/// to twice the limit, so that a client that keeps sending receives the size error instead of a
/// connection closed under its upload; beyond that the connection is given up.
async fn read_body(mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
    use http_body_util::BodyExt;
    let mut kept = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|_| BodyError::Broken)?.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len());
        if total <= limit {
            kept.extend_from_slice(&data);
        } else if total > limit.saturating_mul(2) {
            return Err(BodyError::TooLarge);
        } else {
            kept = Vec::new();
        }
    }
    if total > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(Bytes::from(kept))
}

/// Reads a body to its end, keeping nothing, up to `max` bytes.
async fn drain_body(mut body: Body, max: usize) {
    use http_body_util::BodyExt;
    let mut total = 0usize;
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            total = total.saturating_add(data.len());
            if total > max {
                return;
            }
        }
    }
}

fn new_task_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn retention_ms(state: &AppState) -> i64 {
    state.config.retention.as_millis().min(i64::MAX as u128) as i64
}

/// Records a task refused before any credit was reserved (it shows in `GET /v1/tasks`).
async fn refuse_before_reserve(state: &AppState, key: &KeyRecord, created_at: i64, e: &ApiError) {
    let Some(task_id) = e.task_id() else {
        return;
    };
    let now = now_millis();
    let failure = Failure {
        code: e.code().into(),
        detail: e.detail().into(),
        moderation: None,
        finished_at: now,
        expires_at: now + retention_ms(state),
    };
    if let Err(err) = state
        .store
        .record_refused(task_id.into(), key.id.clone(), created_at, failure)
        .await
    {
        tracing::warn!(task_id, error = %err, "cannot record a refused task");
    }
}

/// Refunds the task's credit and records why it failed.
async fn settle_failure(
    state: &AppState,
    task_id: &str,
    e: &ApiError,
    note: Option<ModerationNote>,
) {
    let now = now_millis();
    let failure = Failure {
        code: e.code().into(),
        detail: e.detail().into(),
        moderation: note,
        finished_at: now,
        expires_at: now + retention_ms(state),
    };
    match state.store.refund(task_id.into(), failure).await {
        Ok(true) => state.metrics.credit_refunded(),
        Ok(false) => {}
        // The reservation stays; it is released at the next start-up.
        Err(err) => tracing::error!(task_id, error = %err, "cannot refund a reserved credit"),
    }
}

/// Why a task produced no result: the answer, what to record, what to log.
struct Refusal {
    error: ApiError,
    note: Option<ModerationNote>,
    reason: String,
}

impl Refusal {
    fn new(error: ApiError, reason: impl Into<String>) -> Refusal {
        Refusal {
            error,
            note: None,
            reason: reason.into(),
        }
    }
}

/// Runs a task that holds a credit: produce the result, store it, commit; or refund.
async fn run_task(
    state: &AppState,
    key_id: &str,
    task_id: &str,
    req: FaceswapRequest,
    base: &str,
) -> Result<SuccessBody, ApiError> {
    let ext = req.format.extension();
    let first_face = match req.options.template_face {
        faceswap_engine::FaceChoice::Index(k) => k,
        _ => 0,
    };
    let mime = req.format.mime();
    let return_base64 = req.return_base64;
    let format = req.format;
    let several = !req.more_faces.is_empty();
    let (bytes, report, more_reports) = match produce(state, key_id, task_id, req).await {
        Ok(out) => (out.bytes, out.report, out.more_reports),
        Err(r) => {
            if matches!(r.error, ApiError::Unknown) {
                tracing::error!(task_id, reason = %r.reason, "task failed");
            } else {
                tracing::info!(task_id, code = r.error.code(), reason = %r.reason, "task refused");
            }
            settle_failure(state, task_id, &r.error, r.note).await;
            return Err(r.error);
        }
    };
    // Every result says in its metadata that it is AI-generated, by whom, and which task made it.
    let packet = crate::label::xmp(&state.config.label_provider, task_id);
    let bytes = match crate::label::embed(bytes, format, &packet) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(task_id, error = %e, "cannot label a result");
            settle_failure(state, task_id, &ApiError::Unknown, None).await;
            return Err(ApiError::Unknown);
        }
    };
    let name = blob_name(task_id, ext);
    let t = Instant::now();
    if let Err(e) = state.blobs.put(name.clone(), bytes.clone()).await {
        tracing::error!(task_id, error = %e, "cannot store a result");
        settle_failure(state, task_id, &ApiError::Unknown, None).await;
        return Err(ApiError::Unknown);
    }
    state.metrics.stage(Stage::Store, t.elapsed());
    let now = now_millis();
    let expires_at = now + retention_ms(state);
    let quality = serde_json::to_value(&report).ok();
    // With several faces, each face's report under its template face index (the first is also
    // `quality`).
    let faces = several.then(|| {
        std::iter::once((first_face, &report))
            .chain(more_reports.iter().map(|(k, r)| (*k, r)))
            .map(|(k, r)| serde_json::json!({"template_face": k, "quality": r}))
            .collect::<Vec<_>>()
    });
    let success = Success {
        ext: ext.into(),
        mime: mime.into(),
        finished_at: now,
        expires_at,
        quality: quality.as_ref().map(|q| q.to_string()),
    };
    match state.store.commit(task_id.into(), success).await {
        Ok(true) => state.metrics.credit_spent(),
        outcome => {
            tracing::error!(task_id, outcome = ?outcome, "cannot commit a finished task");
            let _ = state.blobs.delete(name).await;
            settle_failure(state, task_id, &ApiError::Unknown, None).await;
            return Err(ApiError::Unknown);
        }
    }
    Ok(SuccessBody {
        code: "success",
        image_url: format!("{base}/v1/results/{name}"),
        task_id: task_id.into(),
        expires_at: rfc3339(expires_at),
        image_base64: return_base64
            .then(|| base64::engine::general_purpose::STANDARD.encode(&bytes)),
        quality,
        faces,
    })
}

/// Fetch, decode, filter, fuse, encode.
async fn produce(
    state: &AppState,
    key_id: &str,
    task_id: &str,
    req: FaceswapRequest,
) -> Result<JobOutput, Refusal> {
    let busy = || {
        Refusal::new(
            ApiError::False {
                task_id: task_id.into(),
                detail: detail::BUSY.into(),
            },
            "no free worker slot",
        )
    };
    let admission = state.pool.try_admit(key_id).ok_or_else(busy)?;
    let t = Instant::now();
    let (image, template) = tokio::join!(
        photo_bytes(state, task_id, &req.image, Photo::Image),
        photo_bytes(state, task_id, &req.template, Photo::Template)
    );
    let (image, template) = (image?, template?);
    // Further faces' photos (the `faces` form), fetched after the first two.
    let mut more_faces = Vec::with_capacity(req.more_faces.len());
    for (source, k) in &req.more_faces {
        more_faces.push((photo_bytes(state, task_id, source, Photo::Image).await?, *k));
    }
    state.metrics.stage(Stage::Fetch, t.elapsed());
    let job = Job {
        image,
        template,
        options: req.options,
        format: req.format,
        visible_label: req.label.unwrap_or(true),
        more_faces,
    };
    // A job over its time is a processing failure of an overloaded server (photos that cost
    // too much to decode are refused before): 402 `false`, and the worker drops the job at its
    // next stage.
    let outcome = tokio::time::timeout(JOB_TIMEOUT, state.pool.run(&admission, job))
        .await
        .map_err(|_| {
            Refusal::new(
                ApiError::False {
                    task_id: task_id.into(),
                    detail: detail::BUSY.into(),
                },
                "fusion timed out",
            )
        })?;
    match outcome {
        Ok(out) => Ok(out),
        Err(e) => Err(job_refusal(task_id, e)),
    }
}

/// Downloads or decodes one photo.
async fn photo_bytes(
    state: &AppState,
    task_id: &str,
    source: &Source,
    photo: Photo,
) -> Result<Vec<u8>, Refusal> {
    let which = match photo {
        Photo::Image => "image",
        Photo::Template => "template",
    };
    let too_large = |reason: String| {
        Refusal::new(
            ApiError::ImageSizeLimited {
                task_id: task_id.into(),
            },
            format!("{which}: {reason}"),
        )
    };
    let invalid = |reason: String| {
        Refusal::new(
            ApiError::InvalidInputImage {
                task_id: task_id.into(),
            },
            format!("{which}: {reason}"),
        )
    };
    let max = state.config.fetch.max_bytes;
    match source {
        Source::Url(url) => state.fetcher.fetch(url).await.map_err(|e| match e {
            FetchError::TooLarge(_) => too_large(e.to_string()),
            other => invalid(other.to_string()),
        }),
        Source::Base64(text) => {
            if base64_decoded_len_bound(text) > max * 2 {
                return Err(too_large("inline photo too large".into()));
            }
            let bytes = decode_base64(text).ok_or_else(|| invalid("undecodable base64".into()))?;
            if bytes.len() > max {
                return Err(too_large(format!("{} bytes inline", bytes.len())));
            }
            Ok(bytes)
        }
    }
}

/// The API's answer to an engine failure (`faceswap swap` prints the same codes).
pub fn engine_error(task_id: &str, e: &EngineError) -> ApiError {
    let task_id = task_id.to_string();
    match e {
        EngineError::Decode { .. } => ApiError::InvalidInputImage { task_id },
        EngineError::TooLarge { .. } => ApiError::ImageSizeLimited { task_id },
        EngineError::NoFace { role } => ApiError::NoFaceDetected {
            task_id,
            photo: match role {
                Role::Image => Photo::Image,
                Role::Template => Photo::Template,
            },
        },
        EngineError::NoSuchTemplateFace(what) => ApiError::False {
            task_id,
            detail: format!("template_face: {what}."),
        },
        EngineError::Model(_) | EngineError::Encode(_) => ApiError::Unknown,
    }
}

fn job_refusal(task_id: &str, e: JobError) -> Refusal {
    let reason = e.to_string();
    match e {
        JobError::Engine(engine) => Refusal::new(engine_error(task_id, &engine), reason),
        JobError::Sensitive {
            photo,
            label,
            score,
        } => Refusal {
            error: ApiError::Forbidden {
                task_id: task_id.to_string(),
            },
            note: Some(ModerationNote {
                photo: photo.as_str().into(),
                label: label.into(),
                score,
            }),
            reason,
        },
        JobError::Moderation(_) | JobError::Panic(_) | JobError::Stopped | JobError::Abandoned => {
            Refusal::new(ApiError::Unknown, reason)
        }
    }
}

/// `GET /v1/tasks/{task_id}` body.
#[derive(Debug, Serialize)]
struct TaskBody {
    task_id: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_url: Option<String>,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    /// The engine's report (done tasks).
    #[serde(skip_serializing_if = "Option::is_none")]
    quality: Option<serde_json::Value>,
}

/// `GET /v1/tasks/{task_id}`: the task, for the key that made it.
async fn task(
    State(state): State<SharedState>,
    task_id: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let key = authenticate(&state, &uri, &headers).await?;
    // A path that does not decode (e.g. invalid UTF-8) names no task.
    let Path(task_id) = task_id.map_err(|_| ApiError::NotFound)?;
    let task = state
        .store
        .task(task_id)
        .await
        .map_err(internal("task lookup"))?
        .filter(|t| t.key_id == key.id)
        .ok_or(ApiError::NotFound)?;
    let now = now_millis();
    if task.status == TaskStatus::Done && task.expires_at.is_none_or(|e| e <= now) {
        return Err(ApiError::NotFound);
    }
    let image_url = (task.status == TaskStatus::Done)
        .then(|| {
            task.ext.as_deref().map(|ext| {
                format!(
                    "{}/v1/results/{}",
                    base_url(&state, &headers),
                    blob_name(&task.id, ext)
                )
            })
        })
        .flatten();
    let body = TaskBody {
        status: task.status.as_str(),
        code: task.code,
        detail: (task.status == TaskStatus::Failed)
            .then_some(task.detail)
            .flatten(),
        image_url,
        created_at: rfc3339(task.created_at),
        finished_at: task.finished_at.map(rfc3339),
        expires_at: task.expires_at.map(rfc3339),
        quality: task
            .quality
            .as_deref()
            .and_then(|q| serde_json::from_str(q).ok()),
        task_id: task.id,
    };
    let mut r = Json(body).into_response();
    r.extensions_mut().insert(KeyId(key.id));
    Ok(r)
}

/// Body of a deletion's answer.
#[derive(Debug, Serialize)]
pub(crate) struct Deleted {
    code: &'static str,
    task_id: String,
    deleted: bool,
}

/// `DELETE /v1/results/{task_id}` (or `{task_id}.{ext}`): the result file and its task row go at
/// once, for the key that made it; another key's task is not found.
async fn delete_result(
    State(state): State<SharedState>,
    file: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let key = authenticate(&state, &uri, &headers).await?;
    let Path(file) = file.map_err(|_| ApiError::NotFound)?;
    let id = file.split_once('.').map_or(file.as_str(), |(id, _)| id);
    let deleted = erase_result(&state, id, Some(&key.id)).await?;
    tracing::info!(task_id = %id, key_id = %key.id, "result deleted by its key");
    let mut r = Json(deleted).into_response();
    r.extensions_mut().insert(KeyId(key.id));
    Ok(r)
}

/// Deletes a finished task's result file and row now; `owner`: only if that key made it. A task
/// still running cannot be deleted (its result is not written yet).
pub(crate) async fn erase_result(
    state: &AppState,
    task_id: &str,
    owner: Option<&str>,
) -> Result<Deleted, ApiError> {
    if uuid::Uuid::parse_str(task_id).is_err() {
        return Err(ApiError::NotFound);
    }
    let task = state
        .store
        .task(task_id.into())
        .await
        .map_err(internal("task lookup"))?
        .filter(|t| owner.is_none_or(|k| t.key_id == k))
        .ok_or(ApiError::NotFound)?;
    if task.status == TaskStatus::Running {
        return Err(ApiError::InvalidPost(
            "The task is still running; delete its result once it is done.".into(),
        ));
    }
    // The file first: a row without its file answers 404 anyway, a file without its row would
    // stay until the start-up check.
    if let Some(ext) = task.ext.as_deref() {
        state
            .blobs
            .delete(blob_name(task_id, ext))
            .await
            .map_err(internal("result delete"))?;
    }
    state
        .store
        .delete_task(task_id.into())
        .await
        .map_err(internal("task delete"))?;
    Ok(Deleted {
        code: "success",
        task_id: task_id.into(),
        deleted: true,
    })
}

/// `GET /v1/results/{task_id}.{ext}`: the result file while it is kept.
async fn result(
    State(state): State<SharedState>,
    file: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(file) = file.map_err(|_| ApiError::NotFound)?;
    let (id, ext) = file.rsplit_once('.').ok_or(ApiError::NotFound)?;
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(ApiError::NotFound);
    }
    let task = state
        .store
        .task(id.into())
        .await
        .map_err(internal("task lookup"))?
        .ok_or(ApiError::NotFound)?;
    let now = now_millis();
    let live = task.status == TaskStatus::Done
        && task.ext.as_deref() == Some(ext)
        && task.expires_at.is_some_and(|e| e > now);
    if !live {
        return Err(ApiError::NotFound);
    }
    let bytes = state
        .blobs
        .get(blob_name(id, ext))
        .await
        .map_err(internal("result read"))?
        .ok_or(ApiError::NotFound)?;
    let mime = task
        .mime
        .unwrap_or_else(|| "application/octet-stream".into());
    let max_age =
        Duration::from_millis(task.expires_at.unwrap_or(now).saturating_sub(now) as u64).as_secs();
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_str(&mime)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("private, max-age={max_age}")) {
        h.insert(CACHE_CONTROL, v);
    }
    Ok(r)
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
