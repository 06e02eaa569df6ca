//! What one delivery sends: the body in the subscription's format, and its headers.

use crate::daemon::store::StoredEvent;
use crate::envelope::Envelope;
use crate::signature::Signer;
use crate::wire::Format;
use bytes::{BufMut, Bytes, BytesMut};
use http::header::{HeaderMap, HeaderName, HeaderValue};

/// Who is delivering, for the `Minibus-*` headers.
pub(crate) struct Context<'a> {
    /// The subscription's name (`Minibus-Subscription`).
    pub(crate) name: &'a str,
    /// Its generation (`Minibus-Generation`).
    pub(crate) generation: u64,
    /// The log's id (`Minibus-Log-Id`).
    pub(crate) log_id: &'a str,
}

/// One request ready to send.
pub(crate) struct Delivery {
    /// The body, in the subscription's format.
    pub(crate) body: Bytes,
    /// Every header but the connection's own (`Host`, `Authorization`, `User-Agent`).
    pub(crate) headers: HeaderMap,
}

fn put(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

/// Builds the request for `events` (at least one; one for CloudEvents binary mode). With
/// `array` (a subscription with `batch` > 1) the body is a JSON array even of one event,
/// so that a subscriber sees one body shape whatever is available.
pub(crate) fn build(
    events: &[StoredEvent],
    format: Format,
    array: bool,
    ctx: &Context<'_>,
    signer: Option<&Signer>,
    redelivery: bool,
) -> Delivery {
    let array = array || events.len() > 1;
    let (body, content_type, mut headers) = body(events, format, array);
    put(&mut headers, "content-type", content_type);
    put_minibus_headers(&mut headers, events, ctx, redelivery);
    if let Some(signer) = signer {
        let (first, last) = (events[0].seq(), events[events.len() - 1].seq());
        let id = if !array {
            events[0].id().to_string()
        } else {
            format!("batch-{first}-{last}")
        };
        let timestamp = chrono::Utc::now().timestamp();
        put(&mut headers, "webhook-id", &id);
        put(&mut headers, "webhook-timestamp", &timestamp.to_string());
        put(
            &mut headers,
            "webhook-signature",
            &signer.sign(&id, timestamp, &body),
        );
    }
    Delivery { body, headers }
}

/// The body in `format`, its content type, and the headers the format itself needs.
fn body(events: &[StoredEvent], format: Format, array: bool) -> (Bytes, &'static str, HeaderMap) {
    match format {
        Format::Envelope if array => {
            let items: Vec<Bytes> = events.iter().map(StoredEvent::json).collect();
            (join(&items), "application/json", HeaderMap::new())
        }
        Format::Envelope => (events[0].json(), "application/json", HeaderMap::new()),
        Format::Cloudevents => binary(&events[0]),
        Format::CloudeventsStructured if !array => (
            structured(&events[0]),
            "application/cloudevents+json",
            HeaderMap::new(),
        ),
        Format::CloudeventsStructured => {
            let items: Vec<Bytes> = events.iter().map(structured).collect();
            (
                join(&items),
                "application/cloudevents-batch+json",
                HeaderMap::new(),
            )
        }
    }
}

/// The `Minibus-*` headers: which events, for whom, from which log.
fn put_minibus_headers(
    headers: &mut HeaderMap,
    events: &[StoredEvent],
    ctx: &Context<'_>,
    redelivery: bool,
) {
    let (first, last) = (events[0].seq(), events[events.len() - 1].seq());
    put(headers, "minibus-seq", &last.to_string());
    put(headers, "minibus-first-seq", &first.to_string());
    put(headers, "minibus-subscription", ctx.name);
    put(headers, "minibus-generation", &ctx.generation.to_string());
    put(headers, "minibus-log-id", ctx.log_id);
    if redelivery {
        put(headers, "minibus-redelivery", "dead-letter");
    }
}

fn join(items: &[Bytes]) -> Bytes {
    let mut out = BytesMut::with_capacity(items.iter().map(|i| i.len() + 1).sum::<usize>() + 2);
    for (i, item) in items.iter().enumerate() {
        out.put_u8(if i == 0 { b'[' } else { b',' });
        out.put_slice(item);
    }
    out.put_u8(b']');
    out.freeze()
}

fn parse(event: &StoredEvent) -> Option<Envelope> {
    serde_json::from_slice(&event.json()).ok()
}

fn source(envelope: &Envelope) -> &str {
    envelope.source.as_deref().unwrap_or("minibus")
}

/// CloudEvents binary mode: the body is `data`, attributes in `ce-*` headers.
fn binary(event: &StoredEvent) -> (Bytes, &'static str, HeaderMap) {
    let mut headers = HeaderMap::new();
    let Some(e) = parse(event) else {
        return (event.json(), "application/json", headers);
    };
    put(&mut headers, "ce-specversion", "1.0");
    put(&mut headers, "ce-id", &percent_encode(&e.id));
    put(&mut headers, "ce-source", &percent_encode(source(&e)));
    put(&mut headers, "ce-type", &percent_encode(&e.ty));
    put(&mut headers, "ce-time", &e.time);
    put(&mut headers, "ce-sequence", &e.seq.to_string());
    if let Some(stream) = &e.stream {
        put(&mut headers, "ce-subject", stream);
    }
    (
        Bytes::from(e.data.get().to_owned()),
        "application/json",
        headers,
    )
}

/// CloudEvents structured mode: the whole event as JSON, `data` kept as sent.
fn structured(event: &StoredEvent) -> Bytes {
    let Some(e) = parse(event) else {
        return event.json();
    };
    let mut value = serde_json::json!({
        "specversion": "1.0",
        "id": e.id,
        "source": source(&e),
        "type": e.ty,
        "time": e.time,
        "datacontenttype": "application/json",
        "sequence": e.seq.to_string(),
    });
    if let (Some(stream), Some(map)) = (&e.stream, value.as_object_mut()) {
        map.insert("subject".into(), stream.clone().into());
    }
    // Splice the raw `data` in, so it stays the publisher's exact text.
    let mut text = serde_json::to_string(&value).unwrap_or_default();
    text.pop();
    text.push_str(",\"data\":");
    text.push_str(e.data.get());
    text.push('}');
    Bytes::from(text)
}

/// Percent-encodes what CloudEvents' HTTP binding requires in header values: space, `"`,
/// `%`, and anything outside printable ASCII.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b == b' ' || b == b'"' || b == b'%' || !(0x21..=0x7e).contains(&b) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn header_values_are_percent_encoded() {
        assert_eq!(percent_encode("a b\"%é"), "a%20b%22%25%C3%A9");
        assert_eq!(percent_encode("PostCreated"), "PostCreated");
    }
}
