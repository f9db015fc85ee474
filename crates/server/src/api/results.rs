//! Tasks and results: `GET /v1/tasks/{id}`, `GET` and `DELETE /v1/results/{file}`.

use super::*;

/// `GET /v1/tasks/{task_id}` body.
#[derive(Debug, Serialize)]
pub(super) struct TaskBody {
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
pub(super) async fn task(
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
pub(super) async fn delete_result(
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
pub(super) async fn result(
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
