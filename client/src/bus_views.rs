//! The bus's read-only views under `/bus`: the log, its live stream, the subscriptions and
//! their dead letters, the bus's info. The gateway adds the bus's token; the browser never
//! holds it.

use crate::gateway::{Gateway, Incoming};
use crate::schemas::EventTypeName;
use crate::upstream::Service;
use axum::extract::State;
use axum::response::Response;
use bus::kit::ApiError;

/// The log's events (the bus's `GET /events`; its query string passes through).
#[utoipa::path(get, path = "/bus/events", tag = "bus",
    params(
        ("after" = Option<u64>, Query, format = "uint64", maximum = 18_446_744_073_709_551_615_u64,
            description = "events after this seq"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 10000,
            description = "the page size; 1,000 when absent"),
        ("type" = inline(Option<Vec<EventTypeName>>), Query, style = Form, explode,
            description = "only events of these types (repeat the parameter)"),
        ("stream" = Option<String>, Query, pattern = "^[A-Za-z0-9._:-]{1,200}$",
            description = "only events of this stream")),
    responses(
        (status = OK, description = "the bus's answer"),
        (status = BAD_REQUEST, description = "the bus refused the query string", body = ApiError),
        (status = BAD_GATEWAY, description = "the bus is unavailable", body = ApiError),
        (status = GATEWAY_TIMEOUT, description = "the bus did not answer in time", body = ApiError)))]
pub(crate) async fn events(State(gateway): State<Gateway>, incoming: Incoming) -> Response {
    gateway.call(Service::Bus, incoming).await
}

/// The log, live, as Server-Sent Events (the bus's `GET /events/stream`), passed on
/// unbuffered; `Last-Event-ID` and the query string pass through.
#[utoipa::path(get, path = "/bus/events/stream", tag = "bus",
    params(
        ("after" = Option<u64>, Query, format = "uint64", maximum = 18_446_744_073_709_551_615_u64,
            description = "start after this seq"),
        ("type" = inline(Option<Vec<EventTypeName>>), Query, style = Form, explode,
            description = "only events of these types (repeat the parameter)"),
        ("Last-Event-ID" = Option<u64>, Header, format = "uint64",
            maximum = 18_446_744_073_709_551_615_u64,
            description = "the last seq received: the stream resumes after it")),
    responses(
        (status = OK, description = "the bus's `text/event-stream`, passed on as it comes, until the bus or the gateway stops",
            body = String, content_type = "text/event-stream"),
        (status = BAD_REQUEST, description = "the bus refused the request", body = ApiError),
        (status = BAD_GATEWAY, description = "the bus is unavailable", body = ApiError),
        (status = GATEWAY_TIMEOUT, description = "the bus did not answer in time", body = ApiError)))]
pub(crate) async fn event_stream(State(gateway): State<Gateway>, incoming: Incoming) -> Response {
    gateway.stream(Service::Bus, incoming).await
}

/// Every subscription with its cursor, lag and state (the bus's `GET /subscriptions`).
#[utoipa::path(get, path = "/bus/subscriptions", tag = "bus",
    responses(
        (status = OK, description = "the bus's answer"),
        (status = BAD_GATEWAY, description = "the bus is unavailable", body = ApiError),
        (status = GATEWAY_TIMEOUT, description = "the bus did not answer in time", body = ApiError)))]
pub(crate) async fn subscriptions(State(gateway): State<Gateway>, incoming: Incoming) -> Response {
    gateway.call(Service::Bus, incoming).await
}

/// One subscription (the bus's `GET /subscriptions/{name}`).
#[utoipa::path(get, path = "/bus/subscriptions/{name}", tag = "bus",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,200}$", description = "the subscription's name")),
    responses(
        (status = OK, description = "the bus's answer"),
        (status = NOT_FOUND, description = "no such subscription", body = ApiError),
        (status = BAD_GATEWAY, description = "the bus is unavailable", body = ApiError),
        (status = GATEWAY_TIMEOUT, description = "the bus did not answer in time", body = ApiError)))]
pub(crate) async fn subscription(State(gateway): State<Gateway>, incoming: Incoming) -> Response {
    gateway.call(Service::Bus, incoming).await
}

/// A subscription's dead letters (the bus's `GET /subscriptions/{name}/dead-letters`).
#[utoipa::path(get, path = "/bus/subscriptions/{name}/dead-letters", tag = "bus",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,200}$", description = "the subscription's name")),
    responses(
        (status = OK, description = "the bus's answer"),
        (status = NOT_FOUND, description = "no such subscription", body = ApiError),
        (status = BAD_GATEWAY, description = "the bus is unavailable", body = ApiError),
        (status = GATEWAY_TIMEOUT, description = "the bus did not answer in time", body = ApiError)))]
pub(crate) async fn dead_letters(State(gateway): State<Gateway>, incoming: Incoming) -> Response {
    gateway.call(Service::Bus, incoming).await
}

/// The bus's version, head seq and uptime (the bus's `GET /info`).
#[utoipa::path(get, path = "/bus/info", tag = "bus",
    responses(
        (status = OK, description = "the bus's answer"),
        (status = BAD_GATEWAY, description = "the bus is unavailable", body = ApiError),
        (status = GATEWAY_TIMEOUT, description = "the bus did not answer in time", body = ApiError)))]
pub(crate) async fn info(State(gateway): State<Gateway>, incoming: Incoming) -> Response {
    gateway.call(Service::Bus, incoming).await
}
