//! `ApiError`: the one error type of the API, and its JSON body.

use crate::wire::ErrorBody;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value};

/// An error answered as `{"error": "<code>", "message": "<sentence>", …}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    extra: Map<String, Value>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            extra: Map::new(),
        }
    }

    /// `400`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// `413`.
    pub fn too_large(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, code, message)
    }

    /// `404 not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// `503 storage_unavailable`: the outcome of a publish is unknown.
    pub fn storage_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the event log could not be written; the outcome is unknown: retry with the same ids",
        )
    }

    /// `500 internal`: the bus itself failed (the store, a broken invariant, a task that
    /// panicked). The one place such an answer is built: it logs `error` with its whole
    /// cause chain, and answers a generic message, so that nothing internal reaches a client.
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            // Many errors repeat their source in their own message: say it once.
            let cause_text = cause.to_string();
            if !chain.contains(&cause_text) {
                chain.push_str(": ");
                chain.push_str(&cause_text);
            }
            source = cause.source();
        }
        tracing::error!(error = %chain, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the bus failed to handle the request; its log says why",
        )
    }

    /// Adds a field to the body.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // An internal error was logged with its cause where it was built.
        if self.status.is_server_error() && self.status != StatusCode::INTERNAL_SERVER_ERROR {
            tracing::warn!(code = self.code, message = %self.message, "answering a server error");
        }
        let unauthorized = self.status == StatusCode::UNAUTHORIZED;
        let body = ErrorBody {
            error: self.code.into(),
            message: self.message,
            extra: self.extra,
        };
        let mut response = (self.status, Json(body)).into_response();
        if unauthorized {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
