//! `Idempotency-Key`: a client that retries a `POST /v1/faceswap` (its connection broke, it timed
//! out) with the same header and the same body within 24 hours gets the first success again, same
//! task id and URL, and pays one credit in all. The same key with another body is `invalid_post`.
//! Failures are not remembered (they cost nothing): a retry after one runs again. A retry that
//! arrives while the first request still runs waits for its answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::{internal, AppState, SuccessBody};
use crate::error::{detail, ApiError};
use crate::now_millis;
use crate::store::{Claim, Store};
use crate::worker::JOB_TIMEOUT;

/// The header.
pub(super) const HEADER: &str = "idempotency-key";
/// How often a retry looks whether the first request has finished.
const POLL: Duration = Duration::from_millis(100);

/// The part of a success that is kept and given again (the inline image is read again from the
/// stored result when the retry asks for it).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Kept {
    image_url: String,
    task_id: String,
    expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quality: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    faces: Option<Vec<serde_json::Value>>,
}

impl Kept {
    pub(super) fn of(body: &SuccessBody) -> Kept {
        Kept {
            image_url: body.image_url.clone(),
            task_id: body.task_id.clone(),
            expires_at: body.expires_at.clone(),
            quality: body.quality.clone(),
            faces: body.faces.clone(),
        }
    }
}

/// The request's idempotency key, if it sent one; a malformed one is `invalid_post`.
pub(super) fn key_of(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get(HEADER) else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(s) if (1..=255).contains(&s.trim().len()) => Ok(Some(s.trim().to_string())),
        _ => Err(ApiError::InvalidPost(
            "Your Idempotency-Key must be 1 to 255 visible ASCII characters.".into(),
        )),
    }
}

/// A claim held by the request that runs; released (so that a retry runs again) unless the
/// request finishes with a success, even if the request is dropped half-way.
pub(super) struct Held {
    store: Arc<dyn Store>,
    key_id: String,
    idem: String,
    done: bool,
}

impl Held {
    /// Records the success as the answer to every retry.
    pub(super) async fn finish(mut self, body: &SuccessBody) {
        let answer = serde_json::to_string(&Kept::of(body)).unwrap_or_default();
        let outcome = self
            .store
            .idempotency_finish(self.key_id.clone(), self.idem.clone(), answer)
            .await;
        if let Err(e) = outcome {
            tracing::error!(error = %e, "cannot record an idempotent answer");
        } else {
            self.done = true;
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let (store, key_id, idem) = (self.store.clone(), self.key_id.clone(), self.idem.clone());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = store.idempotency_release(key_id, idem).await {
                    tracing::error!(error = %e, "cannot release an idempotency key");
                }
            });
        }
    }
}

/// What a request with an idempotency key does.
pub(super) enum Replay {
    /// Run, holding the claim.
    Run(Held),
    /// Answer with the first success.
    Answer(Kept),
}

/// Claims `idem` for the key's request with body hash `body`, waiting while another request
/// with it runs.
pub(super) async fn claim(
    state: &AppState,
    key_id: &str,
    idem: &str,
    body: [u8; 32],
) -> Result<Replay, ApiError> {
    let other_body = || {
        ApiError::InvalidPost(
            "Your Idempotency-Key was already used with another request body.".into(),
        )
    };
    let deadline = Instant::now() + JOB_TIMEOUT + Duration::from_secs(30);
    loop {
        let claim = state
            .store
            .idempotency_claim(key_id.into(), idem.into(), body, now_millis())
            .await
            .map_err(internal("idempotency claim"))?;
        match claim {
            Claim::Claimed => {
                return Ok(Replay::Run(Held {
                    store: state.store.clone(),
                    key_id: key_id.into(),
                    idem: idem.into(),
                    done: false,
                }))
            }
            Claim::Pending { same_body: false }
            | Claim::Done {
                same_body: false, ..
            } => return Err(other_body()),
            Claim::Done { answer, .. } => {
                let kept = serde_json::from_str(&answer).map_err(internal("idempotent answer"))?;
                return Ok(Replay::Answer(kept));
            }
            Claim::Pending { .. } if Instant::now() >= deadline => {
                return Err(ApiError::False {
                    task_id: super::new_task_id(),
                    detail: detail::BUSY.into(),
                })
            }
            Claim::Pending { .. } => tokio::time::sleep(POLL).await,
        }
    }
}

/// The first success again, with the stored result inline when the retry asks for it.
pub(super) async fn answer(state: &AppState, kept: Kept, return_base64: bool) -> SuccessBody {
    let image_base64 = if return_base64 {
        let name = kept
            .image_url
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        match state.blobs.get(name).await {
            Ok(Some(bytes)) => {
                use base64::Engine as _;
                Some(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            _ => None,
        }
    } else {
        None
    };
    SuccessBody {
        code: "success",
        image_url: kept.image_url,
        task_id: kept.task_id,
        expires_at: kept.expires_at,
        image_base64,
        quality: kept.quality,
        faces: kept.faces,
    }
}
