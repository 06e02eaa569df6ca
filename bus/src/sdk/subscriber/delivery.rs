//! `POST /events`: one delivery from the bus, checked and applied in seq order (see the
//! parent module's doc for the rules).

use super::{BatchError, Handler, HandlerError, Progress, Subscriber, SubscriberParts};
use crate::envelope::Envelope;
use crate::signature::Signer;
use crate::wire::headers::{
    MINIBUS_GENERATION, MINIBUS_LOG_ID, MINIBUS_REDELIVERY, REDELIVERY_DEAD_LETTER, WEBHOOK_ID,
    WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP,
};
use crate::wire::ErrorBody;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::time::{SystemTime, UNIX_EPOCH};

/// How far a delivery's `webhook-timestamp` may be from our clock.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

/// The handler of `POST /events`.
pub(super) async fn deliver<H: Handler>(
    State(sub): State<Subscriber<H>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parts = &sub.parts;
    if !verify(&parts.signer, &headers, &body) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "the webhook signature does not verify",
        );
    }
    let mut events = parse(&body);
    if events.is_empty() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_delivery",
            "the body holds no event envelope",
        );
    }
    let mut progress = parts.progress.lock().await;
    if !progress.registered {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_registered",
            "registration with the bus is not acknowledged yet",
        );
    }
    if header(&headers, MINIBUS_REDELIVERY) == Some(REDELIVERY_DEAD_LETTER) {
        // An operator's retry of a parked event: apply it whatever was applied since; it
        // moves neither the checkpoint nor the generation.
        return answer(parts.handler.handle(events.swap_remove(0)).await);
    }
    if let Err(refused) = apply_in_order(parts, &mut progress, &headers, events).await {
        return refused;
    }
    if progress.applied >= progress.target {
        parts
            .caught_up
            .send_if_modified(|c| !std::mem::replace(c, true));
    }
    StatusCode::NO_CONTENT.into_response()
}

/// Applies `events` after the checkpoint, following the delivery's generation and log id;
/// the answer to send instead of `204` when one is refused.
async fn apply_in_order<H: Handler>(
    parts: &SubscriberParts<H>,
    progress: &mut Progress,
    headers: &HeaderMap,
    events: Vec<Envelope>,
) -> Result<(), Response> {
    let generation = header_u64(headers, MINIBUS_GENERATION).unwrap_or(progress.generation);
    if generation < progress.generation {
        return Err(refuse(
            StatusCode::CONFLICT,
            "stale_generation",
            "this delivery belongs to an older generation",
        ));
    }
    follow_log_id(parts, progress, header(headers, MINIBUS_LOG_ID)).await;
    if generation > progress.generation {
        let after = events[0].seq.saturating_sub(1);
        parts.handler.on_rewind(after).await;
        progress.generation = generation;
        progress.applied = after;
    }
    apply_fresh(parts, progress, events).await
}

/// Hands the events of `events` not applied yet to the handler at once, and moves the
/// checkpoint past what it applied; the refusal to answer when it did not apply them all.
async fn apply_fresh<H: Handler>(
    parts: &SubscriberParts<H>,
    progress: &mut Progress,
    events: Vec<Envelope>,
) -> Result<(), Response> {
    let fresh: Vec<Envelope> = events
        .into_iter()
        .filter(|event| event.seq > progress.applied)
        .collect();
    let seqs: Vec<u64> = fresh.iter().map(|event| event.seq).collect();
    if fresh.is_empty() {
        return Ok(());
    }
    let handled = parts.handler.handle_batch(fresh).await;
    let applied = handled.as_ref().map_or_else(|e| e.applied, |_| seqs.len());
    if let Some(&seq) = applied
        .min(seqs.len())
        .checked_sub(1)
        .and_then(|i| seqs.get(i))
    {
        progress.applied = seq;
    }
    handled.map_err(|BatchError { error, .. }| refusal(error))
}

/// A delivery from another log than the one the checkpoint belongs to: the log was
/// replaced, so the service starts over.
async fn follow_log_id<H: Handler>(
    parts: &SubscriberParts<H>,
    progress: &mut Progress,
    log_id: Option<&str>,
) {
    let (Some(new), Some(known)) = (log_id, progress.log_id.as_deref()) else {
        return;
    };
    if new != known {
        tracing::warn!(subscription = %parts.config.name, "the bus log was replaced: starting over");
        parts.handler.on_rewind(0).await;
        progress.applied = 0;
        progress.log_id = Some(new.into());
    }
}

/// One envelope, or a JSON array of them; empty when the body is neither.
fn parse(body: &[u8]) -> Vec<Envelope> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => serde_json::from_slice(body).unwrap_or_default(),
        _ => serde_json::from_slice(body)
            .map(|e| vec![e])
            .unwrap_or_default(),
    }
}

/// Whether the Standard Webhooks signature verifies, within [`SIGNATURE_TOLERANCE_SECS`].
fn verify(signer: &Signer, headers: &HeaderMap, body: &[u8]) -> bool {
    let (Some(id), Some(ts), Some(sig)) = (
        header(headers, WEBHOOK_ID),
        header(headers, WEBHOOK_TIMESTAMP).and_then(|t| t.parse::<i64>().ok()),
        header(headers, WEBHOOK_SIGNATURE),
    ) else {
        return false;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    // abs_diff: a timestamp far from now (i64::MIN) must not overflow the subtraction.
    now.abs_diff(ts) <= SIGNATURE_TOLERANCE_SECS.unsigned_abs() && signer.verify(id, ts, body, sig)
}

/// `204` when handled, else what the bus must do with the event.
fn answer(handled: Result<(), HandlerError>) -> Response {
    match handled {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => refusal(error),
    }
}

/// `422` (park it) for [`HandlerError::Reject`], `503` (retry) for [`HandlerError::Retry`].
fn refusal(error: HandlerError) -> Response {
    match error {
        HandlerError::Reject(m) => refuse(StatusCode::UNPROCESSABLE_ENTITY, "rejected", &m),
        HandlerError::Retry(m) => refuse(StatusCode::SERVICE_UNAVAILABLE, "retry", &m),
    }
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = ErrorBody {
        error: code.into(),
        message: message.into(),
        extra: Default::default(),
    };
    (status, Json(body)).into_response()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    header(headers, name).and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn signed(signer: &Signer, ts: i64, body: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = |v: String| HeaderValue::from_str(&v).expect("a header value");
        headers.insert(WEBHOOK_ID, value("e1".into()));
        headers.insert(WEBHOOK_TIMESTAMP, value(ts.to_string()));
        headers.insert(WEBHOOK_SIGNATURE, value(signer.sign("e1", ts, body)));
        headers
    }

    #[test]
    fn a_signature_verifies_only_near_now_and_any_timestamp_is_safe() {
        let signer = Signer::from_secret(&Signer::random_secret()).expect("a secret");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs() as i64;
        assert!(verify(&signer, &signed(&signer, now, b"{}"), b"{}"));
        assert!(!verify(&signer, &signed(&signer, now, b"{}"), b"[]"));
        let stale = now - SIGNATURE_TOLERANCE_SECS - 1;
        for ts in [stale, i64::MIN, i64::MAX, i64::MIN + 1] {
            assert!(!verify(&signer, &signed(&signer, ts, b"{}"), b"{}"), "{ts}");
        }
    }
}
