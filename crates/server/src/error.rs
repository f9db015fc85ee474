//! The API's one error type: every code of the contract's error table, with its HTTP status, its
//! code string, its `detail` text and whether the body carries a task id. [`ApiError`]'s
//! [`IntoResponse`] implementation is the one place where errors become HTTP responses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// The contract's detail texts, reproduced exactly.
pub mod detail {
    /// `no_token`.
    pub const NO_TOKEN: &str = "No token specified in url query.";
    /// `invalid_input_image`.
    pub const INVALID_INPUT_IMAGE: &str = "get input image error.";
    /// `no_face_detected` for photo A.
    pub const NO_FACE_IMAGE: &str = "no face detected in image.";
    /// `no_face_detected` for template B.
    pub const NO_FACE_TEMPLATE: &str = "no face detected in template.";
    /// `forbidden`.
    pub const FORBIDDEN: &str = "input image contain sensitive contents.";
    /// `image_size_limited`.
    pub const IMAGE_SIZE_LIMITED: &str = "Image size exceeds the maximum allowed size.";
    /// `request_rate_limit`.
    pub const REQUEST_RATE_LIMIT: &str = "Request rate limit, once per second.";
    /// `used_up`.
    pub const USED_UP: &str = "Your account does not have enough credits, please recharge.";
    /// `invalid_api_key`.
    pub const INVALID_API_KEY: &str = "You provide an invalid Image API key.";
    /// `unknown`.
    pub const UNKNOWN: &str = "Image's server failure occurred, please contact the administrator";
    /// `false` when the worker queue is full.
    pub const BUSY: &str = "server busy, try again";
    /// `not_found` (not in the contract: unknown task or result).
    pub const NOT_FOUND: &str = "Not found.";
}

/// Which of the two photos an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Photo {
    /// Photo A (`image_url` / `image_base64`).
    Image,
    /// Template B (`template_url` / `template_base64`).
    Template,
}

/// An error answer of the API. Variants follow the contract's table; those that carry a task id in the
/// body hold it here.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// 401 `no_token`.
    NoToken,
    /// 401 `invalid_post`, with a detail naming the field.
    InvalidPost(String),
    /// 402 `invalid_input_image`.
    InvalidInputImage {
        /// The task.
        task_id: String,
    },
    /// 402 `no_face_detected` in photo A or template B.
    NoFaceDetected {
        /// The task.
        task_id: String,
        /// Which photo has no usable face.
        photo: Photo,
    },
    /// 402 `forbidden`: sensitive content.
    Forbidden {
        /// The task.
        task_id: String,
    },
    /// 402 `image_size_limited`.
    ImageSizeLimited {
        /// The task.
        task_id: String,
    },
    /// 402 `request_rate_limit`.
    RequestRateLimit {
        /// The task.
        task_id: String,
    },
    /// 402 `false`: any other processing failure, with a detail saying what failed.
    False {
        /// The task.
        task_id: String,
        /// What failed.
        detail: String,
    },
    /// 403 `used_up`.
    UsedUp,
    /// 403 `invalid_api_key`.
    InvalidApiKey,
    /// 500 `unknown`. The cause is logged, never sent.
    Unknown,
    /// 404 `not_found` (beyond the contract: unknown, expired or foreign task or result).
    NotFound,
}

/// Every code string the API answers with (for metrics).
pub const ALL_CODES: [&str; 13] = [
    "success",
    "no_token",
    "invalid_post",
    "invalid_input_image",
    "no_face_detected",
    "forbidden",
    "image_size_limited",
    "request_rate_limit",
    "false",
    "used_up",
    "invalid_api_key",
    "unknown",
    "not_found",
];

/// The JSON body of every error: `{"code", "detail", "task_id"?}`.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// The code string.
    pub code: &'static str,
    /// The detail text.
    pub detail: &'a str,
    /// The task id, where the contract says so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<&'a str>,
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NoToken | ApiError::InvalidPost(_) => StatusCode::UNAUTHORIZED,
            ApiError::InvalidInputImage { .. }
            | ApiError::NoFaceDetected { .. }
            | ApiError::Forbidden { .. }
            | ApiError::ImageSizeLimited { .. }
            | ApiError::RequestRateLimit { .. }
            | ApiError::False { .. } => StatusCode::PAYMENT_REQUIRED,
            ApiError::UsedUp | ApiError::InvalidApiKey => StatusCode::FORBIDDEN,
            ApiError::Unknown => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::NotFound => StatusCode::NOT_FOUND,
        }
    }

    /// The code string.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NoToken => "no_token",
            ApiError::InvalidPost(_) => "invalid_post",
            ApiError::InvalidInputImage { .. } => "invalid_input_image",
            ApiError::NoFaceDetected { .. } => "no_face_detected",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::ImageSizeLimited { .. } => "image_size_limited",
            ApiError::RequestRateLimit { .. } => "request_rate_limit",
            ApiError::False { .. } => "false",
            ApiError::UsedUp => "used_up",
            ApiError::InvalidApiKey => "invalid_api_key",
            ApiError::Unknown => "unknown",
            ApiError::NotFound => "not_found",
        }
    }

    /// The detail text.
    pub fn detail(&self) -> &str {
        match self {
            ApiError::NoToken => detail::NO_TOKEN,
            ApiError::InvalidPost(d) => d,
            ApiError::InvalidInputImage { .. } => detail::INVALID_INPUT_IMAGE,
            ApiError::NoFaceDetected {
                photo: Photo::Image,
                ..
            } => detail::NO_FACE_IMAGE,
            ApiError::NoFaceDetected {
                photo: Photo::Template,
                ..
            } => detail::NO_FACE_TEMPLATE,
            ApiError::Forbidden { .. } => detail::FORBIDDEN,
            ApiError::ImageSizeLimited { .. } => detail::IMAGE_SIZE_LIMITED,
            ApiError::RequestRateLimit { .. } => detail::REQUEST_RATE_LIMIT,
            ApiError::False { detail, .. } => detail,
            ApiError::UsedUp => detail::USED_UP,
            ApiError::InvalidApiKey => detail::INVALID_API_KEY,
            ApiError::Unknown => detail::UNKNOWN,
            ApiError::NotFound => detail::NOT_FOUND,
        }
    }

    /// The task id the body carries, if the contract gives this code one.
    pub fn task_id(&self) -> Option<&str> {
        match self {
            ApiError::InvalidInputImage { task_id }
            | ApiError::NoFaceDetected { task_id, .. }
            | ApiError::Forbidden { task_id }
            | ApiError::ImageSizeLimited { task_id }
            | ApiError::RequestRateLimit { task_id }
            | ApiError::False { task_id, .. } => Some(task_id),
            ApiError::NoToken
            | ApiError::InvalidPost(_)
            | ApiError::UsedUp
            | ApiError::InvalidApiKey
            | ApiError::Unknown
            | ApiError::NotFound => None,
        }
    }

    /// The body.
    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            code: self.code(),
            detail: self.detail(),
            task_id: self.task_id(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.detail())
    }
}

impl std::error::Error for ApiError {}

/// The response extension that tells the metrics and log layer which API code a response carried.
#[derive(Debug, Clone, Copy)]
pub struct ResponseCode(pub &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(self.body())).into_response();
        response.extensions_mut().insert(ResponseCode(self.code()));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_follow_the_contract_table() {
        let t = || "t-1".to_string();
        let cases: Vec<(ApiError, u16, &str, bool)> = vec![
            (ApiError::NoToken, 401, "no_token", false),
            (
                ApiError::InvalidPost("x".into()),
                401,
                "invalid_post",
                false,
            ),
            (
                ApiError::InvalidInputImage { task_id: t() },
                402,
                "invalid_input_image",
                true,
            ),
            (
                ApiError::NoFaceDetected {
                    task_id: t(),
                    photo: Photo::Template,
                },
                402,
                "no_face_detected",
                true,
            ),
            (ApiError::Forbidden { task_id: t() }, 402, "forbidden", true),
            (
                ApiError::ImageSizeLimited { task_id: t() },
                402,
                "image_size_limited",
                true,
            ),
            (
                ApiError::RequestRateLimit { task_id: t() },
                402,
                "request_rate_limit",
                true,
            ),
            (
                ApiError::False {
                    task_id: t(),
                    detail: "d".into(),
                },
                402,
                "false",
                true,
            ),
            (ApiError::UsedUp, 403, "used_up", false),
            (ApiError::InvalidApiKey, 403, "invalid_api_key", false),
            (ApiError::Unknown, 500, "unknown", false),
        ];
        for (e, status, code, has_task) in cases {
            assert_eq!(e.status().as_u16(), status);
            assert_eq!(e.code(), code);
            assert!(ALL_CODES.contains(&code));
            let json = serde_json::to_value(e.body()).unwrap();
            assert_eq!(json["code"], code);
            assert_eq!(json.get("task_id").is_some(), has_task, "{code}");
        }
        assert_eq!(
            ApiError::NoFaceDetected {
                task_id: t(),
                photo: Photo::Image
            }
            .detail(),
            "no face detected in image."
        );
    }
}
