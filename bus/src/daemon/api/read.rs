//! `GET /events` (all, or a page), `GET /events/SEQ`, `GET /streams/NAME`.

use super::body::{json_array, CHUNK_EVENTS};
use super::query::{self, DEFAULT_LIMIT};
use super::{ApiError, AppState};
use crate::envelope::{is_valid_stream_name, Envelope, EventType, NAME_RULE};
use crate::wire::headers::MINIBUS_HEAD_SEQ;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::Response;

fn json_response(body: impl Into<Body>, head: u64) -> Response {
    let mut response = Response::new(body.into());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(MINIBUS_HEAD_SEQ, HeaderValue::from(head));
    response
}

fn storage(e: impl std::error::Error + Send + Sync + 'static) -> ApiError {
    ApiError::internal(e)
}

/// Every event up to the durable head, streamed; with any parameter, a page.
#[utoipa::path(get, path = "/events", operation_id = "read_events", tag = "events",
    params(
        ("after" = Option<u64>, Query, format = "uint64", maximum = 18_446_744_073_709_551_615_u64,
            description = "events after this seq"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 10000,
            description = "the page size; 1,000 when absent"),
        ("type" = Option<Vec<EventType>>, Query, style = Form, explode,
            description = "only events of these types (repeat the parameter)"),
        ("stream" = Option<String>, Query, pattern = "^[A-Za-z0-9._:-]{1,200}$",
            description = "only events of this stream")),
    responses(
        (status = OK, description = "events in seq order (every event when no parameter is \
            given); `Minibus-Head-Seq` is the durable head the read was bounded by",
            body = [Envelope]),
        (status = BAD_REQUEST, description = "`invalid_query`: an unknown parameter, or a \
            value out of its range", body = ApiError)))]
pub(super) async fn list(
    State(app): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let head = app.durable_head();
    if raw.as_deref().unwrap_or_default().is_empty() {
        let log = app.log().clone();
        let body = json_array(0, app.closing().clone(), move |after| {
            let scan = log.scan(after, head, &Default::default(), CHUNK_EVENTS, CHUNK_EVENTS)?;
            let done = scan.last_examined >= head;
            Ok((scan.events, scan.last_examined, done))
        });
        return Ok(json_response(body, head));
    }
    let q = query::parse(raw.as_deref(), &["after", "limit", "type", "stream"])?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    let after = q.after.unwrap_or(0);
    let log = app.log().clone();
    let scan =
        tokio::task::spawn_blocking(move || log.scan(after, head, &q.filter, limit, usize::MAX))
            .await
            .map_err(storage)?
            .map_err(storage)?;
    let mut out = Vec::with_capacity(scan.events.len() * 256 + 2);
    out.push(b'[');
    for (i, event) in scan.events.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&event.json());
    }
    out.push(b']');
    Ok(json_response(out, head))
}

/// One event.
#[utoipa::path(get, path = "/events/{seq}", operation_id = "read_event", tag = "events",
    params(("seq" = u64, Path, format = "uint64", maximum = 18_446_744_073_709_551_615_u64,
        description = "the event's seq")),
    responses(
        (status = OK, description = "the event", body = Envelope),
        (status = BAD_REQUEST, description = "`invalid_query`: `seq` is not a whole number, \
            or a query parameter was given", body = ApiError),
        (status = NOT_FOUND, description = "no such event (0, or beyond the durable head)",
            body = ApiError)))]
pub(super) async fn one(
    State(app): State<AppState>,
    Path(seq): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    query::parse(raw.as_deref(), &[])?;
    let seq = query::parse_seq("seq", &seq)?;
    let head = app.durable_head();
    if seq == 0 || seq > head {
        return Err(ApiError::not_found(format!(
            "no event {seq} (the head is {head})"
        )));
    }
    let event = app.log().get(seq).map_err(storage)?;
    match event {
        Some(event) => Ok(json_response(event.json(), head)),
        None => Err(ApiError::not_found(format!("no event {seq}"))),
    }
}

/// A stream's events in version order, streamed.
#[utoipa::path(get, path = "/streams/{name}", operation_id = "read_stream", tag = "events",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,200}$",
        description = "the stream")),
    responses(
        (status = OK, description = "the stream's events in version order", body = [Envelope]),
        (status = BAD_REQUEST, description = "`invalid_stream`: not a stream name; \
            `invalid_query`: a query parameter was given", body = ApiError),
        (status = NOT_FOUND, description = "no event has this stream", body = ApiError)))]
pub(super) async fn stream(
    State(app): State<AppState>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    query::parse(raw.as_deref(), &[])?;
    if !is_valid_stream_name(&name) {
        return Err(ApiError::bad_request(
            "invalid_stream",
            format!("a stream name matches {NAME_RULE}"),
        ));
    }
    let head = app.durable_head();
    let log = app.log().clone();
    if log
        .stream_events(&name, 0, head, 1)
        .map_err(storage)?
        .is_empty()
    {
        return Err(ApiError::not_found(format!("no stream {name}")));
    }
    let body = json_array(0, app.closing().clone(), move |after_version| {
        let events = log.stream_events(&name, after_version, head, CHUNK_EVENTS)?;
        let next = after_version + events.len() as u64;
        let done = events.len() < CHUNK_EVENTS;
        Ok((events, next, done))
    });
    Ok(json_response(body, head))
}
