//! The admin API under `/admin/`, for operators who script key management over HTTP rather than with
//! `faceswap keys`. Off unless an admin token is configured; every call needs
//! `Authorization: Bearer ADMIN_TOKEN`.
//!
//! - `POST /admin/keys` `{"name": "...", "credits": 10, "rate": 2.0}` → the key (shown once) and its record
//! - `GET /admin/keys` → every key's record (never the key)
//! - `POST /admin/keys/{id_or_name}/credits` `{"credits": 5}` → the updated record
//! - `POST /admin/keys/{id_or_name}/revoke` → the updated record
//! - `DELETE /admin/results/{task_id}` → the result file and its task row deleted now, whatever
//!   key made it (for an erasure request that reaches the operator)

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::SharedState;
use crate::error::ApiError;
use crate::keys::{constant_time_eq, hash_key};
use crate::store::{KeyRecord, StoreError};
use crate::{now_millis, rfc3339};

/// The admin routes (to be merged into the main router when an admin token is set).
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/admin/keys", get(list).post(create))
        .route("/admin/keys/{key}/credits", post(credit))
        .route("/admin/keys/{key}/revoke", post(revoke))
        .route("/admin/results/{task_id}", delete(erase))
}

/// A key's record as the admin API shows it.
#[derive(Debug, Serialize)]
pub struct KeyView {
    id: String,
    name: String,
    credits: i64,
    reserved: i64,
    spent: i64,
    /// Requests per second; absent: the server's default; 0: unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    rate: Option<f64>,
    revoked: bool,
    created_at: String,
}

impl From<KeyRecord> for KeyView {
    fn from(k: KeyRecord) -> KeyView {
        KeyView {
            id: k.id,
            name: k.name,
            credits: k.credits,
            reserved: k.reserved,
            spent: k.spent,
            rate: k.rate,
            revoked: k.revoked,
            created_at: rfc3339(k.created_at),
        }
    }
}

fn authorize(state: &SharedState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = state.config.admin_token.as_deref() else {
        return Err(ApiError::NotFound);
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .ok_or(ApiError::NoToken)?;
    if constant_time_eq(&hash_key(given), &hash_key(expected)) {
        Ok(())
    } else {
        Err(ApiError::InvalidApiKey)
    }
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NoSuchKey(_) => ApiError::NotFound,
        StoreError::Invalid(detail) => ApiError::InvalidPost(format!("{detail}.")),
        other => {
            tracing::error!(error = %other, "admin store call failed");
            ApiError::Unknown
        }
    }
}

/// Body of `POST /admin/keys`.
#[derive(Debug, Deserialize)]
struct CreateKey {
    name: String,
    credits: i64,
    #[serde(default)]
    rate: Option<f64>,
}

async fn create(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers)?;
    let req: CreateKey = serde_json::from_slice(&body).map_err(|_| {
        ApiError::InvalidPost(
            "Your body must be {\"name\": string, \"credits\": integer, \"rate\": number?}.".into(),
        )
    })?;
    let (record, key) = state
        .store
        .new_key(req.name, req.credits, req.rate, now_millis())
        .await
        .map_err(store_error)?;
    tracing::info!(key_id = %record.id, "admin created a key");
    Ok(Json(
        serde_json::json!({"key": key, "record": KeyView::from(record)}),
    ))
}

async fn list(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    authorize(&state, &headers)?;
    let keys = state.store.keys().await.map_err(store_error)?;
    Ok(Json(keys.into_iter().map(KeyView::from).collect()))
}

/// Body of `POST /admin/keys/{key}/credits`.
#[derive(Debug, Deserialize)]
struct Credit {
    credits: i64,
}

async fn credit(
    State(state): State<SharedState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<KeyView>, ApiError> {
    authorize(&state, &headers)?;
    let req: Credit = serde_json::from_slice(&body)
        .map_err(|_| ApiError::InvalidPost("Your body must be {\"credits\": integer}.".into()))?;
    let record = state
        .store
        .credit(key, req.credits)
        .await
        .map_err(store_error)?;
    tracing::info!(key_id = %record.id, credits = req.credits, "admin added credits");
    Ok(Json(record.into()))
}

async fn revoke(
    State(state): State<SharedState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Json<KeyView>, ApiError> {
    authorize(&state, &headers)?;
    let record = state.store.revoke_key(key).await.map_err(store_error)?;
    tracing::info!(key_id = %record.id, "admin revoked a key");
    Ok(Json(record.into()))
}

async fn erase(
    State(state): State<SharedState>,
    Path(task_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<super::Deleted>, ApiError> {
    authorize(&state, &headers)?;
    let deleted = super::erase_result(&state, &task_id, None).await?;
    tracing::info!(task_id = %task_id, "admin deleted a result");
    Ok(Json(deleted))
}
