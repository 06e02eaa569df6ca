//! `GET /events` (all, or a page), `GET /events/SEQ`, `GET /streams/NAME`.

use super::body::{json_array, CHUNK_EVENTS};
use super::query::{self, DEFAULT_LIMIT};
use super::{ApiError, AppState};
use crate::envelope::{is_valid_stream_name, NAME_RULE};
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

fn storage(e: impl std::error::Error + 'static) -> ApiError {
    ApiError::internal(&e)
}

/// `GET /events`: with no parameters every event up to the durable head, streamed; with any,
/// a page (`after`, `limit` ≤ 10,000, `type`…, `stream`).
pub(crate) async fn list(
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

/// `GET /events/SEQ`.
pub(crate) async fn one(
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

/// `GET /streams/NAME`: the stream's events in version order, streamed.
pub(crate) async fn stream(
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
