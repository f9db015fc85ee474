//! `POST /v1/detect`: every face of a photo, so that a caller can choose which template face to
//! replace in a group photo. Same key check, body limits, photo sources and rate limit as
//! `POST /v1/faceswap`; it costs no credit (nothing is produced or stored).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use faceswap_engine::FoundFace;
use serde::Serialize;

use super::request::parse_detect_request;
use super::{
    authenticate, internal, job_refusal, new_task_id, peer_ip, photo_bytes, read_in_slot,
    BodyError, KeyId, Peer, SharedState,
};
use crate::error::{detail, ApiError, Photo, ResponseCode};

/// A face is usable for fusion within these turns, in degrees (beyond, the result may look
/// distorted).
const USABLE_YAW: f32 = 45.0;
const USABLE_PITCH: f32 = 35.0;

/// The answer.
#[derive(Debug, Serialize)]
struct DetectBody {
    code: &'static str,
    task_id: String,
    width: u32,
    height: u32,
    faces: Vec<FaceView>,
}

/// One face as the API shows it.
#[derive(Debug, Serialize)]
struct FaceView {
    /// Its index, largest first: the `template_face` that chooses it.
    id: usize,
    #[serde(rename = "box")]
    rect: BoxView,
    /// Detector confidence, 0–1.
    score: f32,
    /// Eye on the image's left, other eye, nose tip, mouth corners (left, right), in pixels.
    landmarks: [[f32; 2]; 5],
    yaw: f32,
    pitch: f32,
    roll: f32,
    /// The box's larger side, in pixels.
    size: f32,
    /// Whether it fuses well: large enough (smaller faces are not listed) and not too turned.
    usable: bool,
}

#[derive(Debug, Serialize)]
struct BoxView {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

fn round1(v: f32) -> f32 {
    (v * 10.0).round() / 10.0
}

fn view(id: usize, f: &FoundFace) -> FaceView {
    let pose = f.mesh.pose();
    let r = f.face.rect;
    FaceView {
        id,
        rect: BoxView {
            x: round1(r.x),
            y: round1(r.y),
            w: round1(r.w),
            h: round1(r.h),
        },
        score: (f.face.score * 1000.0).round() / 1000.0,
        landmarks: f.mesh.five_points().map(|(x, y)| [round1(x), round1(y)]),
        yaw: round1(pose.yaw),
        pitch: round1(pose.pitch),
        roll: round1(pose.roll),
        size: round1(r.w.max(r.h)),
        usable: pose.yaw.abs() <= USABLE_YAW && pose.pitch.abs() <= USABLE_PITCH,
    }
}

/// `POST /v1/detect`.
pub(super) async fn detect(
    State(state): State<SharedState>,
    peer: Peer,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut key_id = None;
    let flow = detect_flow(&state, peer_ip(&peer), &uri, &headers, body, &mut key_id);
    let mut response = match flow.await {
        Ok(body) => {
            let mut r = Json(body).into_response();
            r.extensions_mut().insert(ResponseCode("success"));
            r
        }
        Err(e) => e.into_response(),
    };
    if let Some(k) = key_id {
        response.extensions_mut().insert(KeyId(k));
    }
    response
}

async fn detect_flow(
    state: &SharedState,
    peer: Option<std::net::IpAddr>,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
    key_id: &mut Option<String>,
) -> Result<DetectBody, ApiError> {
    let key = authenticate(state, uri, headers).await?;
    *key_id = Some(key.id.clone());
    let task_id = new_task_id();
    let (_slot, bytes) = match read_in_slot(state, &key.id, peer, body).await {
        Ok((slot, Ok(b))) => (slot, b),
        Ok((_, Err(BodyError::TooLarge))) => return Err(ApiError::ImageSizeLimited { task_id }),
        Ok((_, Err(BodyError::Broken))) => {
            return Err(ApiError::InvalidPost(
                "Your request body could not be read.".into(),
            ))
        }
        Err(crate::slots::SlotRefused::KeyBusy) => {
            return Err(ApiError::RequestRateLimit { task_id })
        }
        Err(crate::slots::SlotRefused::Closed) => return Err(internal("body slot")("closed")),
    };
    let source = parse_detect_request(&bytes).map_err(ApiError::InvalidPost)?;
    drop(bytes);
    let rate = key.rate.unwrap_or(state.config.default_rate);
    let allowed = state
        .store
        .allow_request(key.id.clone(), rate)
        .await
        .map_err(internal("rate limit"))?;
    if !allowed {
        return Err(ApiError::RequestRateLimit { task_id });
    }
    let admission = state
        .pool
        .try_admit(&key.id)
        .ok_or_else(|| ApiError::False {
            task_id: task_id.clone(),
            detail: detail::BUSY.into(),
        })?;
    let photo = photo_bytes(state, &task_id, &source, Photo::Image)
        .await
        .map_err(|r| r.error)?;
    let found = tokio::time::timeout(
        crate::worker::JOB_TIMEOUT,
        state.pool.detect(&admission, photo),
    )
    .await
    .map_err(|_| ApiError::False {
        task_id: task_id.clone(),
        detail: detail::BUSY.into(),
    })?
    .map_err(|e| {
        let refusal = job_refusal(&task_id, e);
        if matches!(refusal.error, ApiError::Unknown) {
            tracing::error!(task_id = %task_id, reason = %refusal.reason, "detection failed");
        }
        refusal.error
    })?;
    Ok(DetectBody {
        code: "success",
        task_id,
        width: found.size.0,
        height: found.size.1,
        faces: found
            .faces
            .iter()
            .enumerate()
            .map(|(i, f)| view(i, f))
            .collect(),
    })
}
