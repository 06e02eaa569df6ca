//! `GET /events/stream`: Server-Sent Events, history after a seq, then live.
//!
//! The stream begins with `retry: 1000` (reconnect after 1 s). Each message is
//! `id: <seq>` and `data: <envelope>`, with no `event:` field, so a browser's `onmessage`
//! sees every type. The stream reads the store in chunks as the client
//! takes them, so a slow client is served from the store, never skipped, and holds no queue.

use super::query::{self, parse_seq};
use super::{ApiError, AppState};
use crate::daemon::store::{Filter, StoredEvent};
use crate::envelope::EventType;
use crate::wire::headers::LAST_EVENT_ID;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use std::convert::Infallible;
use std::time::Duration;

/// A `: keepalive` comment this often.
const KEEPALIVE: Duration = Duration::from_secs(15);
/// How soon a client reconnects after the stream ends (a restart of the bus), sent as the
/// stream's first message (`retry: 1000`); browsers wait 3 s without it.
const RECONNECT: Duration = Duration::from_secs(1);
const CHUNK: usize = 256;
const SCAN_BUDGET: usize = 4_096;

/// Server-Sent Events: the events after `Last-Event-ID` (or `after`, or from the start),
/// filtered by `type`, then each new one as it becomes durable.
#[utoipa::path(get, path = "/events/stream", operation_id = "stream_events", tag = "events",
    params(
        ("after" = Option<u64>, Query, format = "uint64", maximum = 18_446_744_073_709_551_615_u64,
            description = "start after this seq"),
        ("type" = Option<Vec<EventType>>, Query, style = Form, explode,
            description = "only events of these types (repeat the parameter)"),
        ("Last-Event-ID" = Option<u64>, Header,
            format = "uint64", maximum = 18_446_744_073_709_551_615_u64,
            description = "the last seq received: the stream resumes after it (before `after`)")),
    responses(
        (status = OK, description = "an endless stream: first `retry: 1000` (reconnect \
            after 1 s), then messages `id: <seq>`, `data: <envelope>` (no `event:` field), \
            and a `: keepalive` comment every 15 s",
            body = String, content_type = "text/event-stream"),
        (status = BAD_REQUEST, description = "`invalid_query`: an unknown parameter, a value \
            out of its range, or a `Last-Event-ID` that is not a seq", body = ApiError)))]
pub(super) async fn stream(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let q = query::parse(raw.as_deref(), &["after", "type"])?;
    let last_event_id = headers
        .get(LAST_EVENT_ID)
        .map(|v| parse_seq("Last-Event-ID", v.to_str().unwrap_or("-")))
        .transpose()?;
    let after = last_event_id.or(q.after).unwrap_or(0);
    let closing = app.closing().clone();
    let reconnect = stream::once(async { Ok(Event::default().retry(RECONNECT)) });
    let events = reconnect
        .chain(live(app, after, q.filter).flat_map(stream::iter))
        .take_until(closing.cancelled_owned());
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEPALIVE).text("keepalive")))
}

/// Batches of messages: the events after `after` up to the durable head, read in chunks,
/// then each batch the head's next rises brings; ends when the daemon closes.
fn live(
    app: AppState,
    after: u64,
    filter: Filter,
) -> impl Stream<Item = Vec<Result<Event, Infallible>>> {
    let durable = app.writer().durable();
    stream::unfold(
        (app, durable, after, filter),
        |(app, mut durable, mut cursor, filter)| async move {
            loop {
                let head = *durable.borrow_and_update();
                if cursor < head {
                    let log = app.log().clone();
                    let f = filter.clone();
                    let scan = tokio::task::spawn_blocking(move || {
                        log.scan(cursor, head, &f, CHUNK, SCAN_BUDGET)
                    })
                    .await
                    .ok()?
                    .ok()?;
                    cursor = scan.last_examined;
                    if scan.events.is_empty() {
                        continue;
                    }
                    let events = scan.events.iter().map(message).collect();
                    return Some((events, (app, durable, cursor, filter)));
                }
                tokio::select! {
                    changed = durable.changed() => changed.ok()?,
                    () = app.closing().cancelled() => return None,
                }
            }
        },
    )
}

/// One SSE message: `id: <seq>`, `data: <envelope>`.
fn message(event: &StoredEvent) -> Result<Event, Infallible> {
    let json = event.json();
    Ok(Event::default()
        .id(event.seq().to_string())
        .data(std::str::from_utf8(&json).unwrap_or("null")))
}
