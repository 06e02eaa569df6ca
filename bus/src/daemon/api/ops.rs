//! `/info` and `/metrics` (`/healthz`, `/readyz`, `/openapi.json` and the JSON 404 and 405
//! are the kit's).

use super::AppState;
use crate::daemon::metrics::Exposition;
use crate::kit::Json;
use crate::wire::Info;
use axum::extract::State;
use axum::http::{header, HeaderMap};
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

/// The metrics (no token needed): classic Prometheus text (version 0.0.4), or OpenMetrics
/// 1.0.0 when the request's `Accept` prefers `application/openmetrics-text`, as Prometheus
/// scrapers negotiate it.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "bus", responses(
    (status = OK, description = "the metrics: classic Prometheus text (`text/plain; \
        version=0.0.4`) unless `Accept` prefers OpenMetrics (`application/openmetrics-text; \
        version=1.0.0`)", content(
        (String = "text/plain"),
        (String = "application/openmetrics-text")))))]
pub(super) async fn metrics(State(app): State<AppState>, headers: HeaderMap) -> impl IntoResponse {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let format = Exposition::negotiate(&accept);
    app.subscriptions().refresh_metrics();
    (
        [
            (header::CONTENT_TYPE, format.content_type()),
            (header::VARY, "Accept"),
        ],
        app.metrics().render(format),
    )
}
