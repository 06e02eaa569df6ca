//! `Json`: axum's JSON extractor, with its rejections answered as [`ApiError`] instead of
//! axum's plain-text default, with the bus's codes; `BodyBytes`: the body as bytes, for a
//! handler that parses it itself, with the same answers for a body that cannot be read.

use super::ApiError;
use axum::body::Bytes;
use axum::body::HttpBody;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::RequestExt;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A JSON body in (as an extractor) or out (as a response). A body that cannot be taken
/// answers:
///
/// - `400 invalid_json`: not JSON, or JSON of the wrong shape for `T`;
/// - `415 unsupported_media_type`: no `Content-Type: application/json`;
/// - `413 body_too_large`: larger than the router's body limit;
/// - `400 unreadable_body`: the body could not be read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let request = refuse_declared_oversize(request)?;
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(rejected(rejection)),
        }
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// The body as bytes, whatever its `Content-Type`, for a handler that parses it itself (the
/// bus's publish path reads events straight from them). A body that cannot be taken answers
/// as [`Json`]'s does: `413 body_too_large` over the router's body limit, `400
/// unreadable_body` if it could not be read.
#[derive(Debug, Clone, Default)]
pub struct BodyBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for BodyBytes {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let request = refuse_declared_oversize(request)?;
        match Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(Self(bytes)),
            Err(rejection) => Err(unreadable(rejection)),
        }
    }
}

fn rejected(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(
            "invalid_json",
            format!("the body is not valid JSON: {}", e.body_text()),
        ),
        JsonRejection::JsonDataError(e) => ApiError::bad_request("invalid_json", e.body_text()),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be sent with Content-Type: application/json",
        ),
        JsonRejection::BytesRejection(e) => unreadable(e),
        other => ApiError::bad_request("unreadable_body", other.body_text()),
    }
}

/// The request with its body limited to the router's limit (`DefaultBodyLimit`), or `413
/// body_too_large` at once if its `Content-Length` is over it: reading the body would first
/// answer `100 Continue` to a client that sent `Expect: 100-continue`, and make it send a
/// body refused anyway.
fn refuse_declared_oversize(request: Request) -> Result<Request, ApiError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let request = request.with_limited_body();
    // A limited body's upper bound is the smaller of its limit and its declared length:
    // the declared length is above it only when it is above the limit.
    let bound = request.body().size_hint().upper();
    match (declared, bound) {
        (Some(declared), Some(bound)) if declared > bound => Err(body_too_large()),
        _ => Ok(request),
    }
}

/// `413 body_too_large`.
fn body_too_large() -> ApiError {
    ApiError::too_large(
        "body_too_large",
        "the body is larger than this service accepts",
    )
}

/// A body that could not be read: too large, or cut off.
fn unreadable(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        body_too_large()
    } else {
        ApiError::bad_request("unreadable_body", rejection.body_text())
    }
}

/// `T` from a JSON object only, for a request body's hand-written `Deserialize`: serde's
/// derived one also takes a struct written as an array of its fields (`["title"]`), which
/// no document allows, and which the kit's [`Json`] would otherwise accept.
pub fn from_object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::Deserialize;
    let object = serde_json::Map::deserialize(deserializer)?;
    T::deserialize(serde_json::Value::Object(object)).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::extract::DefaultBodyLimit;
    use axum::routing::post;
    use axum::Router;
    use serde_json::Value;
    use tower::ServiceExt;

    #[derive(serde::Deserialize, Serialize)]
    struct NewPost {
        title: String,
    }

    async fn echo(Json(post): Json<NewPost>) -> Json<NewPost> {
        Json(post)
    }

    /// POSTs `body` with `content_type` to a router taking at most 64 bytes.
    async fn post_json(content_type: Option<&str>, body: &str) -> (StatusCode, Value) {
        let router = Router::new()
            .route("/posts", post(echo))
            .layer(DefaultBodyLimit::max(64));
        let mut request = Request::post("/posts");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let request = request
            .body(Body::from(body.to_string()))
            .expect("a request");
        let response = router.oneshot(request).await.expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("a body");
        (
            status,
            serde_json::from_slice(&bytes).expect("a JSON answer"),
        )
    }

    const JSON: Option<&str> = Some("application/json");

    #[tokio::test]
    async fn a_good_body_goes_through() {
        let (status, body) = post_json(JSON, r#"{"title": "hello"}"#).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["title"], "hello");
    }

    #[tokio::test]
    async fn every_rejection_is_a_json_error_with_the_bus_codes() {
        let long = format!(r#"{{"title": "{}"}}"#, "x".repeat(100));
        for (content_type, body, status, code) in [
            (JSON, "{not json", StatusCode::BAD_REQUEST, "invalid_json"),
            (
                JSON,
                r#"{"name": 1}"#,
                StatusCode::BAD_REQUEST,
                "invalid_json",
            ),
            (
                None,
                r#"{"title": "x"}"#,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            ),
            (
                Some("text/plain"),
                r#"{"title": "x"}"#,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            ),
            (
                JSON,
                long.as_str(),
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
            ),
        ] {
            let (got, answer) = post_json(content_type, body).await;
            assert_eq!(got, status, "{body}: {answer}");
            assert_eq!(answer["error"], code, "{body}: {answer}");
            assert!(
                answer["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{answer}"
            );
        }
    }

    /// The length of the body, whatever its type; the same `413` as [`Json`] over the limit.
    #[tokio::test]
    async fn body_bytes_takes_any_body_up_to_the_limit() {
        let router: Router = Router::new()
            .route(
                "/raw",
                post(|BodyBytes(body): BodyBytes| async move { body.len().to_string() }),
            )
            .layer(DefaultBodyLimit::max(64));
        for (body, status) in [("x".repeat(64), 200), ("x".repeat(65), 413)] {
            let request = Request::post("/raw")
                .header("content-type", "text/plain")
                .body(Body::from(body))
                .expect("a request");
            let response = router.clone().oneshot(request).await.expect("infallible");
            assert_eq!(response.status().as_u16(), status);
            if status == 413 {
                let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
                    .await
                    .expect("a body");
                let answer: Value = serde_json::from_slice(&bytes).expect("JSON");
                assert_eq!(answer["error"], "body_too_large");
            }
        }
    }

    #[test]
    fn from_object_takes_an_object_and_refuses_an_array() {
        struct Only(NewPost);
        impl<'de> serde::Deserialize<'de> for Only {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                from_object(d).map(Only)
            }
        }
        let taken: Only = serde_json::from_str(r#"{"title":"t"}"#).expect("an object");
        assert_eq!(taken.0.title, "t");
        assert!(
            serde_json::from_str::<NewPost>(r#"["t"]"#).is_ok(),
            "serde's own"
        );
        assert!(serde_json::from_str::<Only>(r#"["t"]"#).is_err());
        assert!(serde_json::from_str::<Only>(r#"{"title":1}"#).is_err());
    }
}
