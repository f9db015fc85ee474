//! `POST /v1/faceswap`: the checks in the contract's order, the credit held by the task, the photos
//! fetched, the job run on the pool, the result labelled and stored, and every failure settled.

use super::*;

/// The success body: the contract's three fields, then additions.
#[derive(Debug, Serialize)]
pub(crate) struct SuccessBody {
    pub(super) code: &'static str,
    pub(super) image_url: String,
    pub(super) task_id: String,
    /// When the result is deleted (RFC 3339).
    pub(super) expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) image_base64: Option<String>,
    /// The engine's report: pose difference, covered share of A's face, mouths, light and
    /// sharpness mismatch, face sizes and warnings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) quality: Option<serde_json::Value>,
    /// With the `faces` form: each face's template index and report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) faces: Option<Vec<serde_json::Value>>,
}

/// `POST /v1/faceswap`.
pub(super) async fn faceswap(
    State(state): State<SharedState>,
    peer: Peer,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let start = Instant::now();
    let mut key_id = None;
    let result = faceswap_flow(&state, peer_ip(&peer), &uri, &headers, body, &mut key_id).await;
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
pub(super) async fn faceswap_flow(
    state: &SharedState,
    peer: Option<std::net::IpAddr>,
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
    let (slot, read) = match read_in_slot(state, &key.id, peer, body).await {
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
pub(super) async fn check_rate(
    state: &AppState,
    key: &KeyRecord,
    task_id: &str,
    created_at: i64,
) -> Result<(), ApiError> {
    let rate = key.rate.unwrap_or(state.config.default_rate);
    let allowed = state
        .store
        .allow_request(key.id.clone(), rate)
        .await
        .map_err(internal("rate limit"))?;
    if allowed {
        return Ok(());
    }
    let e = ApiError::RequestRateLimit {
        task_id: task_id.into(),
    };
    refuse_before_reserve(state, key, created_at, &e).await;
    Err(e)
}

/// How long the body of a key without credits is drained before its answer.
pub(super) const NO_CREDIT_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Records a task refused before any credit was reserved (it shows in `GET /v1/tasks`).
pub(super) async fn refuse_before_reserve(
    state: &AppState,
    key: &KeyRecord,
    created_at: i64,
    e: &ApiError,
) {
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
pub(super) async fn settle_failure(
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
pub(super) struct Refusal {
    pub(super) error: ApiError,
    pub(super) note: Option<ModerationNote>,
    pub(super) reason: String,
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
pub(super) async fn run_task(
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
pub(super) async fn produce(
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
pub(super) async fn photo_bytes(
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

pub(super) fn job_refusal(task_id: &str, e: JobError) -> Refusal {
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
