//! `ApiError`: the one error type of a service's HTTP API, the bus's included, answered as
//! `{"error": "<code>", "message": "<sentence>", …}`.

use crate::wire::ErrorBody;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use std::error::Error;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// What a handler answers when it cannot do what was asked.
///
/// - 4xx: the code and message as given, for the client to act on; a `401` carries
///   `WWW-Authenticate: Bearer`.
/// - `500 internal` ([`ApiError::internal`], the one place such an answer is built): a
///   generic message; the cause, with its whole chain of sources, goes to the log and never
///   to the client.
/// - `503` ([`ApiError::unavailable`]): the code and message as given, with
///   `Retry-After: 1`: the client should try again.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    extra: Map<String, Value>,
}

impl ApiError {
    /// An error with this status, code and message: a 4xx, or a 5xx other than 500 (a 500
    /// is [`ApiError::internal`], which logs its cause). A message longer than
    /// [`MAX_MESSAGE_CHARS`] loses its middle (see `clip_message`): one that quotes a
    /// huge input, e.g. serde's `invalid type: string "…"`, stays short.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: clip_message(message.into()),
            extra: Map::new(),
        }
    }

    /// `400` with this code: the request is malformed or breaks a rule.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// `401 unauthorized`, with `WWW-Authenticate: Bearer`: the bearer token is missing or
    /// wrong.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// `404 not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// `409` with this code: the request conflicts with the state (a version, a paused
    /// subscription…).
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// `413` with this code: the body (or a part of it) is larger than allowed.
    pub fn too_large(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, code, message)
    }

    /// `503` with this code and `Retry-After: 1`: something the service needs (the bus, its
    /// store) cannot be reached now; the same request may succeed later.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    /// `500 internal`: a failure of the service itself (its store, a broken invariant, a
    /// task that panicked). The one place such an answer is built: it logs `cause` with its
    /// whole chain of sources now, and answers a generic message, so that nothing internal
    /// reaches a client.
    pub fn internal(cause: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        let cause = cause.into();
        tracing::error!(cause = %error_chain(cause.as_ref()), "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the service failed to handle the request; its log says why",
        )
    }

    /// Adds a field to the body (`{"error", "message", "<key>": value}`).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// The status answered.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine-readable code (`"error"` in the body).
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // An internal error was logged with its cause where it was built.
        if self.status.is_server_error() && self.status != StatusCode::INTERNAL_SERVER_ERROR {
            tracing::warn!(code = self.code, message = %self.message, "answering a server error");
        }
        let status = self.status;
        let body = ErrorBody {
            error: self.code.into(),
            message: self.message,
            extra: self.extra,
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// In a service's document, `body = ApiError` is the JSON every error has.
impl utoipa::PartialSchema for ApiError {
    fn schema() -> RefOr<Schema> {
        let text = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description))
        };
        ObjectBuilder::new()
            .property("error", text("machine-readable code, e.g. `invalid_json`"))
            .required("error")
            .property(
                "message",
                text("a sentence for people (its wording may change: match on `error`)"),
            )
            .required("message")
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .description(Some("An error; some codes add fields of their own."))
            .into()
    }
}

impl utoipa::ToSchema for ApiError {}

/// The most characters of a client's input an error message quotes.
pub const QUOTE_CHARS: usize = 200;

/// The longest message an [`ApiError`] answers, in characters.
pub const MAX_MESSAGE_CHARS: usize = 400;

/// `input` as an error message quotes it: its first [`QUOTE_CHARS`] characters, then `…`
/// if it was longer, so that a megabyte of bad input does not come back as a megabyte of
/// error.
pub fn quote(input: &str) -> std::borrow::Cow<'_, str> {
    match input.char_indices().nth(QUOTE_CHARS) {
        Some((cut, _)) => format!("{}…", &input[..cut]).into(),
        None => input.into(),
    }
}

/// `message`, or, if longer than [`MAX_MESSAGE_CHARS`], its first [`QUOTE_CHARS`] + 20
/// characters, `…` and its last 100: the start says what is wrong and the end says where
/// (serde's `at line 1 column 1048600`). The safety net for messages built from a
/// library's error, whose quoting [`quote`] cannot reach.
fn clip_message(message: String) -> String {
    let chars = message.chars().count();
    if chars <= MAX_MESSAGE_CHARS {
        return message;
    }
    let head: String = message.chars().take(QUOTE_CHARS + 20).collect();
    let tail: String = message.chars().skip(chars - 100).collect();
    format!("{head}…{tail}")
}

/// `error: source: source…`, as one line for a log, where a field's `%error` would show only
/// the outermost message. An error that repeats its source in its own message (another
/// crate's) has that text said once.
pub fn error_chain(error: &(dyn Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(next) = source {
        let text = next.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = next.source();
    }
    line
}

/// How the message of the router's own 404 starts (a handler's 404 says something else).
pub(crate) const NO_ROUTE: &str = "no route";

/// The fallback of a service's router: `404 not_found` naming the path.
pub(crate) async fn no_route(uri: Uri) -> ApiError {
    ApiError::not_found(format!("{NO_ROUTE} {}", uri.path()))
}

/// A known path asked with a method it does not take: `405 method_not_allowed`.
pub(crate) async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(error: ApiError) -> (StatusCode, Value, Option<String>) {
        let response = error.into_response();
        let status = response.status();
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().expect("ascii").to_string());
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("a body");
        (status, serde_json::from_slice(&bytes).expect("JSON"), retry)
    }

    #[tokio::test]
    async fn a_client_error_answers_its_code_and_message_and_extra_fields() {
        let error = ApiError::bad_request("invalid_title", "the title is empty").with("max", 200);
        let (status, body, retry) = body_of(error).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_title");
        assert_eq!(body["message"], "the title is empty");
        assert_eq!(body["max"], 200);
        assert_eq!(retry, None);
    }

    #[tokio::test]
    async fn an_internal_error_hides_its_cause() {
        let cause = std::io::Error::other("disk on fire at /var/secret");
        let (status, body, _) = body_of(ApiError::internal(cause)).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"], "internal");
        let message = body["message"].as_str().expect("a message");
        assert!(!message.contains("secret"), "{message}");
    }

    #[tokio::test]
    async fn unauthorized_names_the_bearer_scheme() {
        let response = ApiError::unauthorized("no token").into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let scheme = response.headers().get(header::WWW_AUTHENTICATE);
        assert_eq!(scheme.and_then(|v| v.to_str().ok()), Some("Bearer"));
        let (_, body, _) = body_of(ApiError::unauthorized("no token")).await;
        assert_eq!(body["error"], "unauthorized");
    }

    #[tokio::test]
    async fn unavailable_asks_to_retry() {
        let error = ApiError::unavailable("post_unverified", "the bus cannot be reached");
        let (status, body, retry) = body_of(error).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"], "post_unverified");
        assert_eq!(retry.as_deref(), Some("1"));
    }

    #[test]
    fn quotes_and_messages_are_cut_to_a_few_hundred_characters() {
        assert_eq!(quote("short"), "short");
        let exact = "é".repeat(QUOTE_CHARS);
        assert_eq!(quote(&exact), exact);
        let long = format!("{exact}tail");
        assert_eq!(quote(&long), format!("{exact}…"));

        let huge = format!(
            "invalid type: string \"{}\", expected u64 at line 1 column 9",
            "x".repeat(1 << 20)
        );
        let message = ApiError::bad_request("invalid_json", huge).message;
        assert!(
            message.chars().count() <= QUOTE_CHARS + 20 + 1 + 100,
            "{message}"
        );
        assert!(
            message.starts_with("invalid type: string \"xxx"),
            "{message}"
        );
        assert!(
            message.ends_with("\", expected u64 at line 1 column 9"),
            "{message}"
        );
        let kept = "m".repeat(MAX_MESSAGE_CHARS);
        assert_eq!(ApiError::bad_request("c", kept.clone()).message, kept);
    }

    #[test]
    fn the_logged_cause_holds_every_source() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot store the post")]
        struct Outer(#[source] std::io::Error);
        let error = Outer(std::io::Error::other("no space left"));
        assert_eq!(error_chain(&error), "cannot store the post: no space left");

        #[derive(Debug, thiserror::Error)]
        #[error("cannot store the post: {0}")]
        struct Repeating(#[source] std::io::Error);
        let error = Repeating(std::io::Error::other("no space left"));
        assert_eq!(error_chain(&error), "cannot store the post: no space left");
    }
}
