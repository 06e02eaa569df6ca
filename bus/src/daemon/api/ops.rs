//! `/info`, `/healthz`, `/readyz`, `/metrics`, and the JSON 404 and 405.

use super::{ApiError, AppState};
use crate::wire::Info;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

/// `GET /info`.
pub(crate) async fn info(State(app): State<AppState>) -> Json<Info> {
    let head = app.durable_head();
    Json(Info {
        head_seq: head,
        events: head,
        subscriptions: app.subscriptions().count(),
        log_id: app.log().log_id().into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// `GET /healthz`: the process answers.
pub(crate) async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: `503` once the log can no longer be written.
pub(crate) async fn readyz(State(app): State<AppState>) -> impl IntoResponse {
    if app.failed() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "storage_unavailable"})),
        );
    }
    (
        StatusCode::OK,
        Json(json!({"status": "ready", "head_seq": app.durable_head()})),
    )
}

/// `GET /metrics`: Prometheus text.
pub(crate) async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    app.subscriptions().refresh_metrics();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics().render(),
    )
}

/// `GET /openapi.json`: the API described in OpenAPI 3.1.
pub(crate) async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
}

/// Any unknown route.
pub(crate) async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route {}", uri.path()))
}

/// A known route with the wrong method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}
