//! The subscription actions (pause, resume, rewind), forwarded to the bus only when the
//! gateway runs with `--admin-actions` (`minibus up` does; the manifests do not). Without
//! it they are refused with `403 admin_actions_disabled` and never reach the bus.

use crate::gateway::{Gateway, Incoming};
use crate::schemas::RewindBody;
use crate::upstream::Service;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bus::kit::ApiError;

/// Pauses a subscription's deliveries (the bus's `POST /subscriptions/{name}/pause`).
#[utoipa::path(post, path = "/bus/subscriptions/{name}/pause", tag = "admin",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,200}$", description = "the subscription's name")),
    responses(
        (status = OK, description = "the bus's answer"),
        (status = FORBIDDEN, description = "the gateway runs without `--admin-actions`", body = ApiError),
        (status = NOT_FOUND, description = "no such subscription", body = ApiError),
        (status = BAD_GATEWAY, description = "the bus is unavailable", body = ApiError),
        (status = GATEWAY_TIMEOUT, description = "the bus did not answer in time", body = ApiError)))]
pub(crate) async fn pause(State(gateway): State<Gateway>, incoming: Incoming) -> Response {
    admin_action(gateway, incoming).await
}

/// Resumes a paused subscription (the bus's `POST /subscriptions/{name}/resume`).
#[utoipa::path(post, path = "/bus/subscriptions/{name}/resume", tag = "admin",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,200}$", description = "the subscription's name")),
    responses(
        (status = OK, description = "the bus's answer"),
        (status = FORBIDDEN, description = "the gateway runs without `--admin-actions`", body = ApiError),
        (status = NOT_FOUND, description = "no such subscription", body = ApiError),
        (status = BAD_GATEWAY, description = "the bus is unavailable", body = ApiError),
        (status = GATEWAY_TIMEOUT, description = "the bus did not answer in time", body = ApiError)))]
pub(crate) async fn resume(State(gateway): State<Gateway>, incoming: Incoming) -> Response {
    admin_action(gateway, incoming).await
}

/// Moves a subscription's cursor back (the bus's `POST /subscriptions/{name}/rewind`; the
/// body passes through).
#[utoipa::path(post, path = "/bus/subscriptions/{name}/rewind", tag = "admin",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,200}$", description = "the subscription's name")),
    request_body(content = RewindBody, description = "`{\"after\": 0}` rewinds to the start; passed on as sent"),
    responses(
        (status = OK, description = "the bus's answer"),
        (status = BAD_REQUEST, description = "the bus refused the body", body = ApiError),
        (status = FORBIDDEN, description = "the gateway runs without `--admin-actions`", body = ApiError),
        (status = NOT_FOUND, description = "no such subscription", body = ApiError),
        (status = CONFLICT, description = "`cursor_beyond_head`", body = ApiError),
        (status = PAYLOAD_TOO_LARGE, description = "a body over the gateway's or the bus's limit", body = ApiError),
        (status = BAD_GATEWAY, description = "the bus is unavailable", body = ApiError),
        (status = GATEWAY_TIMEOUT, description = "the bus did not answer in time", body = ApiError)))]
pub(crate) async fn rewind(State(gateway): State<Gateway>, incoming: Incoming) -> Response {
    admin_action(gateway, incoming).await
}

/// Forwards the action to the bus with `--admin-actions`, else refuses it.
async fn admin_action(gateway: Gateway, incoming: Incoming) -> Response {
    if !gateway.admin_actions {
        return disabled().into_response();
    }
    gateway.call(Service::Bus, incoming).await
}

/// `403 admin_actions_disabled`.
fn disabled() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "admin_actions_disabled",
        "this gateway does not forward subscription actions (start it with --admin-actions)",
    )
}
