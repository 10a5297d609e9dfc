//! Errors as clients see them: a status and a JSON `{"message"}` body, with `modelState` naming the
//! field for validation failures. Internal errors are logged and answered with a generic 500.

use axum::body::Bytes;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The request field a validation failure is about.
    pub field: Option<String>,
    /// Seconds a throttled client should wait (`Retry-After`).
    pub retry_after: Option<i64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// A 400 about one field of the request body.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            field: Some(field.to_owned()),
            ..ApiError::bad_request(message)
        }
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Authorization has been denied for this request: send a valid bearer token from /v2/authentication/login.",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    /// A 429 telling the client when to try again.
    pub fn too_many_requests(message: impl Into<String>, retry_after_secs: i64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after_secs.max(1)),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, message)
        }
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    pub fn not_implemented(operation: &str, method: &str, path: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            format!("{operation} ({method} {path}) is not implemented in ctlcloud yet."),
        )
    }

    /// Logs the cause and answers a 500 that reveals nothing of it.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The service hit an internal error; the request may be retried.",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::internal(e)
    }
}

#[derive(Serialize)]
struct Body<'a> {
    message: &'a str,
    #[serde(rename = "modelState", skip_serializing_if = "Option::is_none")]
    model_state: Option<std::collections::BTreeMap<&'a str, [&'a str; 1]>>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            message: &self.message,
            model_state: self
                .field
                .as_deref()
                .map(|f| [(f, [self.message.as_str()])].into_iter().collect()),
        };
        let mut response = json_response(self.status, &body);
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A JSON response with the given status.
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => json_bytes_response(status, bytes.into()),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// A response of JSON already written.
pub fn json_bytes_response(status: StatusCode, json: Bytes) -> Response {
    let mut response = (status, json).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}
