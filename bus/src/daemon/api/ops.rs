//! `/info` and `/metrics` (`/healthz`, `/readyz`, `/openapi.json` and the JSON 404 and 405
//! are the kit's).

use super::AppState;
use crate::kit::Json;
use crate::wire::Info;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

/// The head, the counts, the log's id and the bus's version.
#[utoipa::path(get, path = "/info", operation_id = "info", tag = "bus", responses(
    (status = OK, description = "the durable head, counts, log id and version", body = Info)))]
pub(super) async fn info(State(app): State<AppState>) -> Json<Info> {
    let head = app.durable_head();
    Json(Info {
        head_seq: head,
        events: head,
        subscriptions: app.subscriptions().count(),
        log_id: app.log().log_id().into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// The metrics, in Prometheus text (no token needed).
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "bus", responses(
    (status = OK, description = "OpenMetrics text", body = String,
        content_type = "application/openmetrics-text")))]
pub(super) async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    app.subscriptions().refresh_metrics();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics().render(),
    )
}
