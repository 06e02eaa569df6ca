//! What one delivery sends: the body in the subscription's format, and its headers.

use crate::daemon::store::StoredEvent;
use crate::envelope::Envelope;
use crate::signature::Signer;
use crate::wire::headers::{
    CE_ID, CE_SEQUENCE, CE_SOURCE, CE_SPECVERSION, CE_SUBJECT, CE_TIME, CE_TYPE, MINIBUS_FIRST_SEQ,
    MINIBUS_GENERATION, MINIBUS_LOG_ID, MINIBUS_REDELIVERY, MINIBUS_SEQ, MINIBUS_SUBSCRIPTION,
    REDELIVERY_DEAD_LETTER, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP,
};
use crate::wire::Format;
use bytes::{BufMut, Bytes, BytesMut};
use http::header::{HeaderMap, HeaderValue, IntoHeaderName, CONTENT_TYPE};

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

/// Sets `name` (one of `wire::headers`, lowercase) to `value`; a value that is not a valid
/// header value (never the case for what `build` sends) is left out.
fn put(headers: &mut HeaderMap, name: impl IntoHeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
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
    put(&mut headers, CONTENT_TYPE, content_type);
    put_minibus_headers(&mut headers, events, ctx, redelivery);
    if let Some(signer) = signer {
        let (first, last) = (events[0].seq(), events[events.len() - 1].seq());
        // Percent-encoded as `ce-id` is: an id may hold a space or text beyond ASCII, which
        // a header would carry as bytes that receivers read as Latin-1 (or trim), and then
        // sign a different id than ours.
        let id = if !array {
            percent_encode(events[0].id())
        } else {
            format!("batch-{first}-{last}")
        };
        let timestamp = chrono::Utc::now().timestamp();
        put(&mut headers, WEBHOOK_ID, &id);
        put(&mut headers, WEBHOOK_TIMESTAMP, &timestamp.to_string());
        put(
            &mut headers,
            WEBHOOK_SIGNATURE,
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
    put(headers, MINIBUS_SEQ, &last.to_string());
    put(headers, MINIBUS_FIRST_SEQ, &first.to_string());
    put(headers, MINIBUS_SUBSCRIPTION, ctx.name);
    put(headers, MINIBUS_GENERATION, &ctx.generation.to_string());
    put(headers, MINIBUS_LOG_ID, ctx.log_id);
    if redelivery {
        put(headers, MINIBUS_REDELIVERY, REDELIVERY_DEAD_LETTER);
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
    put(&mut headers, CE_SPECVERSION, "1.0");
    put(&mut headers, CE_ID, &percent_encode(&e.id));
    put(&mut headers, CE_SOURCE, &percent_encode(source(&e)));
    put(&mut headers, CE_TYPE, &percent_encode(&e.ty));
    put(&mut headers, CE_TIME, &e.time);
    put(&mut headers, CE_SEQUENCE, &ce_sequence(e.seq));
    if let Some(stream) = &e.stream {
        put(&mut headers, CE_SUBJECT, stream);
    }
    (
        Bytes::from(e.data.get().to_owned()),
        "application/json",
        headers,
    )
}

/// The seq as CloudEvents' `sequence` extension, in both modes: zero-padded to 20 digits
/// (the widest `u64`), so that sequences compare as strings in seq order, as the extension
/// requires.
fn ce_sequence(seq: u64) -> String {
    format!("{seq:020}")
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
        "sequence": ce_sequence(e.seq),
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
    use super::*;
    use crate::daemon::store::{encode, RecordFields};

    /// A stored event of type `T` at `seq`, as the writer stores it.
    fn event(seq: u64) -> StoredEvent {
        let id = format!("id-{seq}");
        let json = format!(
            r#"{{"seq":{seq},"id":"{id}","type":"T","data":{{"n":1}},"time":"2026-01-02T03:04:05.678Z"}}"#
        );
        let fields = RecordFields {
            time_ms: 0,
            version: 0,
            ty: "T",
            stream: "",
            id: &id,
            source: "",
        };
        let raw = encode(&fields, json.as_bytes());
        StoredEvent::parse(seq, raw.into()).expect("a record")
    }

    fn binary_headers(seq: u64) -> HeaderMap {
        let ctx = Context {
            name: "s",
            generation: 1,
            log_id: "log",
        };
        build(&[event(seq)], Format::Cloudevents, false, &ctx, None, false).headers
    }

    fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
        headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn ce_sequence_is_zero_padded_to_20_digits_and_sorts_as_a_string() {
        let (nine, ten) = (binary_headers(9), binary_headers(10));
        assert_eq!(header(&nine, CE_SEQUENCE), Some("00000000000000000009"));
        assert_eq!(header(&ten, CE_SEQUENCE), Some("00000000000000000010"));
        assert!(header(&nine, CE_SEQUENCE) < header(&ten, CE_SEQUENCE));
        assert_eq!(ce_sequence(u64::MAX), u64::MAX.to_string());
        // The bus's own header stays a plain number.
        assert_eq!(header(&nine, MINIBUS_SEQ), Some("9"));
    }

    #[test]
    fn binary_mode_sends_the_data_and_the_protocol_headers() {
        let ctx = Context {
            name: "s",
            generation: 3,
            log_id: "log",
        };
        let delivery = build(&[event(5)], Format::Cloudevents, false, &ctx, None, true);
        assert_eq!(&delivery.body[..], br#"{"n":1}"#);
        let headers = &delivery.headers;
        assert_eq!(header(headers, CE_SPECVERSION), Some("1.0"));
        assert_eq!(header(headers, CE_ID), Some("id-5"));
        assert_eq!(header(headers, CE_SOURCE), Some("minibus"));
        assert_eq!(header(headers, CE_TYPE), Some("T"));
        assert_eq!(header(headers, MINIBUS_FIRST_SEQ), Some("5"));
        assert_eq!(header(headers, MINIBUS_SUBSCRIPTION), Some("s"));
        assert_eq!(header(headers, MINIBUS_GENERATION), Some("3"));
        assert_eq!(header(headers, MINIBUS_LOG_ID), Some("log"));
        assert_eq!(
            header(headers, MINIBUS_REDELIVERY),
            Some(REDELIVERY_DEAD_LETTER)
        );
        assert_eq!(header(headers, "content-type"), Some("application/json"));
    }

    #[test]
    fn header_values_are_percent_encoded() {
        assert_eq!(percent_encode("a b\"%é"), "a%20b%22%25%C3%A9");
        assert_eq!(percent_encode("PostCreated"), "PostCreated");
    }
}
