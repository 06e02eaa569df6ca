//! The subscription actions (pause, resume, rewind), forwarded to the bus only when the
//! gateway runs with `--admin-actions` (`minibus up` does; the manifests do not). Without
//! it they are refused with `403 admin_actions_disabled` and never reach the bus. Another
//! site's page cannot trigger them through the user's browser (`403 cross_origin_refused`,
//! see [`crate::cross_site`]), and an action's body must be declared JSON (`415`), so that
//! a `text/plain` form post, which a browser sends without a preflight, never passes.

use crate::cross_site;
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
        (status = FORBIDDEN, description = "`admin_actions_disabled`: the gateway runs without `--admin-actions`; `cross_origin_refused`: another site's page sent it", body = ApiError),
        (status = NOT_FOUND, description = "no such subscription", body = ApiError),
        (status = UNSUPPORTED_MEDIA_TYPE, description = "a body without `Content-Type: application/json`", body = ApiError),
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
        (status = FORBIDDEN, description = "`admin_actions_disabled`: the gateway runs without `--admin-actions`; `cross_origin_refused`: another site's page sent it", body = ApiError),
        (status = NOT_FOUND, description = "no such subscription", body = ApiError),
        (status = UNSUPPORTED_MEDIA_TYPE, description = "a body without `Content-Type: application/json`", body = ApiError),
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
        (status = FORBIDDEN, description = "`admin_actions_disabled`: the gateway runs without `--admin-actions`; `cross_origin_refused`: another site's page sent it", body = ApiError),
        (status = NOT_FOUND, description = "no such subscription", body = ApiError),
        (status = CONFLICT, description = "`cursor_beyond_head`", body = ApiError),
        (status = PAYLOAD_TOO_LARGE, description = "a body over the gateway's or the bus's limit", body = ApiError),
        (status = UNSUPPORTED_MEDIA_TYPE, description = "a body without `Content-Type: application/json`", body = ApiError),
        (status = BAD_GATEWAY, description = "the bus is unavailable", body = ApiError),
        (status = GATEWAY_TIMEOUT, description = "the bus did not answer in time", body = ApiError)))]
pub(crate) async fn rewind(State(gateway): State<Gateway>, incoming: Incoming) -> Response {
    admin_action(gateway, incoming).await
}

/// Forwards the action to the bus with `--admin-actions` when no other site's page sent
/// it and its body, if any, is declared JSON; else refuses it.
async fn admin_action(gateway: Gateway, incoming: Incoming) -> Response {
    if !gateway.admin_actions {
        return disabled().into_response();
    }
    if let Some(refused) = cross_site::refusal(incoming.headers()) {
        tracing::warn!(path = %incoming.path(), "a subscription action from another site refused");
        return refused.into_response();
    }
    if !incoming.body().is_empty() && !incoming.is_json() {
        return not_json().into_response();
    }
    gateway.call(Service::Bus, incoming).await
}

/// `415 unsupported_media_type`, as the kit's `Json` answers it.
fn not_json() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "the body must be sent with Content-Type: application/json",
    )
}

/// `403 admin_actions_disabled`.
fn disabled() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "admin_actions_disabled",
        "this gateway does not forward subscription actions (start it with --admin-actions)",
    )
}
