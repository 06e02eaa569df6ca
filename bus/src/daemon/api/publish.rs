//! `POST /events`: one event or an array, plain or as CloudEvents (structured or binary
//! mode: `cloudevents.rs`).

use super::cloudevents::Framing;
use super::schemas::CloudEventOrArray;
use super::{ApiError, AppState};
use crate::daemon::writer::{PublishOutcome, Rejection};
use crate::envelope::NewEvent;
use crate::kit::{quote, BodyBytes, Json};
use crate::wire::PublishReply;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::HashSet;
use std::time::Instant;

/// Most events in one array.
const MAX_EVENTS_PER_ARRAY: usize = 1_000;

/// The body of `POST /events`: one event, or an array appended all or none.
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
#[allow(
    dead_code,
    reason = "it describes the body; the handler parses it by hand, for speed"
)]
enum EventOrArray {
    /// One event.
    One(NewEvent),
    /// Events appended in order, all or none.
    Array(EventArray),
}

/// 1 to [`MAX_EVENTS_PER_ARRAY`] events.
#[derive(utoipa::ToSchema)]
#[schema(min_items = 1, max_items = 1000)]
#[allow(
    dead_code,
    reason = "it describes the body; the handler parses it by hand, for speed"
)]
struct EventArray(Vec<NewEvent>);

/// The answer to `POST /events`: one reply for one event, one per event for an array.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
enum ReplyOrArray {
    /// The reply to one event.
    One(PublishReply),
    /// The replies to an array, in its order.
    Array(Vec<PublishReply>),
}

/// Publishes one event or an array; answers once the events are durable.
#[utoipa::path(post, path = "/events", operation_id = "publish", tag = "events",
    request_body(description = "one event or an array; a CloudEvent (or an array of them) in \
        structured mode with `Content-Type: application/cloudevents+json`; or a CloudEvent in \
        binary mode: `ce-specversion: 1.0`, `ce-id`, `ce-type`, `ce-source` headers and its \
        JSON `data` as the body (a request with any `ce-*` header is read this way)",
        content((EventOrArray = "application/json"),
            (CloudEventOrArray = "application/cloudevents+json"))),
    responses(
        (status = CREATED, description = "appended and durable", body = ReplyOrArray),
        (status = OK, description = "already stored (an idempotent repeat): the originals", body = ReplyOrArray),
        (status = BAD_REQUEST, description = "`invalid_json`, `invalid_event` (a rule broken; \
            the message names the field and, in an array, the event; a binary-mode CloudEvent \
            missing a required `ce-` header), `duplicate_id`, `empty_array`, \
            `unreadable_body`", body = ApiError),
        (status = UNSUPPORTED_MEDIA_TYPE, description = "`unsupported_media_type`: a \
            binary-mode CloudEvent whose Content-Type is not JSON", body = ApiError),
        (status = CONFLICT, description = "nothing appended: `id_conflict` (with `id`), \
            `partial_duplicate` (with `ids`), `wrong_expected_version` (with `stream`, \
            `expected`, `actual`)", body = ApiError),
        (status = PAYLOAD_TOO_LARGE, description = "`body_too_large` (--max-body-bytes), \
            `event_too_large` (--max-event-bytes), `too_many_events` (over 1,000)", body = ApiError),
        (status = SERVICE_UNAVAILABLE, description = "`storage_unavailable`: the outcome is \
            unknown; retry with the same ids", body = ApiError)))]
pub(super) async fn publish(
    State(app): State<AppState>,
    framing: Framing,
    BodyBytes(body): BodyBytes,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let max_event_bytes = app.config().max_event_bytes;
    let (events, is_array) = match framing {
        Framing::Plain => parse_body(&body, max_event_bytes, false)?,
        Framing::Structured => parse_body(&body, max_event_bytes, true)?,
        Framing::Binary(attributes) => (
            vec![binary_event(attributes, &body, max_event_bytes)?],
            false,
        ),
    };
    let outcome = app.writer().publish(events).await;
    let response = respond(outcome, is_array);
    app.metrics()
        .publish_seconds
        .observe(started.elapsed().as_secs_f64());
    response
}

fn respond(outcome: PublishOutcome, is_array: bool) -> Result<Response, ApiError> {
    let (status, mut replies) = match outcome {
        PublishOutcome::Appended(r) => (StatusCode::CREATED, r),
        PublishOutcome::Duplicate(r) => (StatusCode::OK, r),
        PublishOutcome::Rejected(rejection) => return Err(rejection_error(rejection, is_array)),
    };
    let answer = if is_array {
        ReplyOrArray::Array(replies)
    } else {
        ReplyOrArray::One(replies.pop().ok_or_else(storage_unavailable)?)
    };
    Ok((status, Json(answer)).into_response())
}

fn rejection_error(rejection: Rejection, is_array: bool) -> ApiError {
    match rejection {
        Rejection::IdConflict { id } => ApiError::conflict(
            "id_conflict",
            format!("id {id} is already stored with another type, stream or source"),
        )
        .with("id", id),
        Rejection::PartialDuplicate { ids } => ApiError::conflict(
            "partial_duplicate",
            "some ids of this array are already stored and some are not; nothing was appended",
        )
        .with("ids", ids),
        Rejection::WrongExpectedVersion {
            stream,
            expected,
            actual,
            index,
            after_earlier_events,
        } => ApiError::conflict(
            "wrong_expected_version",
            wrong_version_message(
                &stream,
                expected,
                actual,
                is_array.then_some(index),
                after_earlier_events,
            ),
        )
        .with("stream", stream)
        .with("expected", expected)
        .with("actual", actual),
        Rejection::StorageUnavailable => storage_unavailable(),
    }
}

/// What a `wrong_expected_version` says: which event of an array (`index`), and whether
/// the version counts that array's earlier events.
fn wrong_version_message(
    stream: &str,
    expected: u64,
    actual: u64,
    index: Option<usize>,
    after_earlier_events: bool,
) -> String {
    let event = index.map_or(String::new(), |i| format!("event {i}: "));
    let counting = match after_earlier_events {
        true => " (counting this array's earlier events on it)",
        false => "",
    };
    format!("{event}stream {stream} is at version {actual}{counting}, not {expected}")
}

/// `503 storage_unavailable`: the log could not be written, so the outcome is unknown.
fn storage_unavailable() -> ApiError {
    ApiError::unavailable(
        "storage_unavailable",
        "the event log could not be written; the outcome is unknown: retry with the same ids",
    )
}

/// A binary-mode CloudEvent: its attributes, with the body as its `data`, checked against
/// the rules like any event.
fn binary_event(
    attributes: super::cloudevents::BinaryAttributes,
    body: &[u8],
    max_event_bytes: usize,
) -> Result<NewEvent, ApiError> {
    if body.len() > max_event_bytes {
        let m = format!("larger than --max-event-bytes ({max_event_bytes} bytes)");
        return Err(ApiError::too_large("event_too_large", m));
    }
    let event = attributes.event(body)?;
    event
        .validate()
        .map_err(|e| ApiError::bad_request("invalid_event", e.to_string()))?;
    Ok(event)
}

/// Parses and validates a body into events (each with an id) and whether it was an array.
fn parse_body(
    body: &[u8],
    max_event_bytes: usize,
    cloudevents: bool,
) -> Result<(Vec<NewEvent>, bool), ApiError> {
    let (items, is_array) = split_body(body)?;
    let mut events = Vec::with_capacity(items.len());
    let mut ids = HashSet::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        // In an array, a message says which event it is about.
        let at = |m: String| {
            if is_array {
                format!("event {index}: {m}")
            } else {
                m
            }
        };
        if item.get().len() > max_event_bytes {
            let m = format!("larger than --max-event-bytes ({max_event_bytes} bytes)");
            return Err(ApiError::too_large("event_too_large", at(m)));
        }
        let mut event = parse_event(item, cloudevents)
            .map_err(|m| ApiError::bad_request("invalid_event", at(m)))?;
        let id = event
            .id
            .get_or_insert_with(|| uuid::Uuid::now_v7().to_string());
        if !ids.insert(id.clone()) {
            let m = format!("id {id} appears twice in the array");
            return Err(ApiError::bad_request("duplicate_id", at(m)));
        }
        events.push(event);
    }
    Ok((events, is_array))
}

/// The body's events as raw JSON (one object, or an array of 1 to
/// [`MAX_EVENTS_PER_ARRAY`]), and whether it was an array.
fn split_body(body: &[u8]) -> Result<(Vec<&RawValue>, bool), ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let (items, is_array): (Vec<&RawValue>, bool) = match first {
        Some(b'[') => (serde_json::from_slice(body).map_err(not_json)?, true),
        Some(b'{') => (vec![serde_json::from_slice(body).map_err(not_json)?], false),
        _ => {
            return Err(ApiError::bad_request(
                "invalid_json",
                "the body must be a JSON event object or an array of events",
            ))
        }
    };
    if is_array && items.is_empty() {
        return Err(ApiError::bad_request(
            "empty_array",
            "the array holds no events",
        ));
    }
    if items.len() > MAX_EVENTS_PER_ARRAY {
        let m = format!(
            "{} events in one array; at most {MAX_EVENTS_PER_ARRAY}",
            items.len()
        );
        return Err(ApiError::too_large("too_many_events", m));
    }
    Ok((items, is_array))
}

/// One event, as a minibus event or a structured-mode CloudEvent, checked against the
/// rules; the error says what is wrong.
fn parse_event(item: &RawValue, cloudevents: bool) -> Result<NewEvent, String> {
    let event = if cloudevents {
        from_cloudevent(item)?
    } else {
        serde_json::from_str::<NewEvent>(item.get()).map_err(|e| e.to_string())?
    };
    event.validate().map_err(|e| e.to_string())?;
    Ok(event)
}

fn not_json(e: serde_json::Error) -> ApiError {
    ApiError::bad_request("invalid_json", format!("the body is not valid JSON: {e}"))
}

/// A CloudEvent in structured mode (JSON format).
#[derive(Deserialize)]
struct CloudEvent {
    specversion: String,
    id: String,
    #[serde(rename = "type")]
    ty: String,
    source: String,
    #[serde(default)]
    data: Option<Box<RawValue>>,
    #[serde(default)]
    data_base64: Option<String>,
}

fn from_cloudevent(item: &RawValue) -> Result<NewEvent, String> {
    let ce: CloudEvent = serde_json::from_str(item.get()).map_err(|e| e.to_string())?;
    if ce.specversion != "1.0" {
        return Err(format!(
            "specversion {:?} is not supported (1.0 is)",
            quote(&ce.specversion)
        ));
    }
    if ce.data_base64.is_some() {
        return Err("data_base64 is not supported: send JSON `data`".into());
    }
    Ok(NewEvent {
        id: Some(ce.id),
        ty: ce.ty,
        data: ce.data,
        stream: None,
        expected_version: None,
        source: Some(ce.source),
        correlation_id: None,
        causation_id: None,
    })
}
