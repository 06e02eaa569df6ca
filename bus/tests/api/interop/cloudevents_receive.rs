//! The bus's CloudEvents deliveries (`format: "cloudevents"`, binary mode, and
//! `"cloudevents-structured"`, single and batched) read by the official SDKs' receivers:
//! each gives back the event (id, type, source, data, subject, the `sequence` extension).

use super::delivery;
use super::script::{self, Sdk};
use crate::helpers::{spawn_app, spec, TestApp};
use bus::testkit::{FakeSubscriber, Received};
use serde_json::{json, Value};

/// Events every receiver reads: attributes that need no percent-encoding (neither the
/// npm receiver nor the PyPI 1.x API decodes any), and data that is an object, an array or
/// a string (in binary mode the npm receiver reads `null`, a number or a boolean as a
/// string: its JSON parser quotes any body that does not start with `{`, `[` or `"`).
const PLAIN: [&str; 3] = [
    r#"{"type":"PostCreated","source":"posts","stream":"post-p1","data":{"id":"p1","title":"héllo ✓","n":[1, 2.50]}}"#,
    r#"{"type":"Listed","data":[{"id":"a"}, "b"]}"#,
    r#"{"type":"Said","data":"just text"}"#,
];

/// `null` data, which the PyPI receivers read too.
const NULL_DATA: &str = r#"{"type":"Nothing","data":null}"#;

/// A type and source the binary mode must percent-encode, which the PyPI 2.x receiver
/// decodes.
const ENCODED: &str =
    r#"{"type":"Commande créée","source":"boutique 100% \"été\"","data":{"id":"o1"}}"#;

/// Publishes `events` (raw JSON texts); their envelopes as stored.
async fn publish(app: &TestApp, events: &[&str]) -> Vec<Value> {
    let mut envelopes = Vec::new();
    for text in events {
        let (status, reply) = app.publish_raw(text.to_string(), "application/json").await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{reply}");
        let (_, envelope) = app.get_json(&format!("/events/{}", reply["seq"])).await;
        envelopes.push(envelope);
    }
    envelopes
}

/// Subscribes `name` with `settings` to a fresh fake subscriber and waits until its
/// cursor is `head`; what it received.
async fn deliveries(app: &TestApp, name: &str, settings: Value, head: u64) -> Vec<Received> {
    let subscriber = FakeSubscriber::start().await;
    app.create_sub(name, spec(&subscriber.url, settings)).await;
    app.until_cursor(name, head).await;
    subscriber.received()
}

/// Hands `received` to the receiver of `sdk` (`api`: the PyPI package's `"core"` 2.x API
/// or its `"v1"` one); the events it read, in order.
async fn read_with(sdk: Sdk, api: &str, received: &[Received]) -> Vec<Value> {
    let deliveries: Vec<Value> = received.iter().map(delivery).collect();
    let job = json!({"api": api, "deliveries": deliveries});
    let read = script::run(sdk, "ce_receive", job).await;
    let read = read.as_array().expect("one array per delivery");
    assert_eq!(
        read.len(),
        received.len(),
        "{sdk:?}: one result per delivery"
    );
    read.iter()
        .flat_map(|events| events.as_array().expect("an array of events").clone())
        .collect()
}

/// Asserts that `ce`, as an SDK read it, is `envelope`, with the seq in 20 digits as its
/// `sequence` (so that sequences sort as strings, as the extension requires).
fn assert_same_event(ce: &Value, envelope: &Value) {
    let seq = envelope["seq"].as_u64().expect("a seq");
    assert_eq!(ce["specversion"], "1.0", "{ce}");
    assert_eq!(ce["id"], envelope["id"], "{ce}");
    assert_eq!(ce["type"], envelope["type"], "{ce}");
    let source = envelope["source"].as_str().unwrap_or("minibus");
    assert_eq!(ce["source"], source, "{ce}");
    assert_eq!(ce["data"], envelope["data"], "{ce}");
    assert_eq!(ce["subject"], envelope["stream"], "{ce}");
    assert_eq!(ce["sequence"], format!("{seq:020}"), "{ce}");
}

/// Subscribes to the types of `envelopes` in both formats, reads the deliveries with
/// `sdk`'s `api` and compares them with `envelopes`.
async fn check_formats(app: &TestApp, sdk: Sdk, api: &str, envelopes: &[Value], head: u64) {
    let types: Vec<&Value> = envelopes.iter().map(|e| &e["type"]).collect();
    for format in ["cloudevents", "cloudevents-structured"] {
        let case = format!("{sdk:?} {api} {format}");
        let settings = json!({"format": format, "types": types});
        let name = case.replace(' ', "-").to_lowercase();
        let received = deliveries(app, &name, settings, head).await;
        let read = read_with(sdk, api, &received).await;
        assert_eq!(read.len(), envelopes.len(), "{case}");
        for (ce, envelope) in read.iter().zip(envelopes) {
            assert_same_event(ce, envelope);
        }
    }
}

#[tokio::test]
async fn the_npm_receiver_reads_binary_structured_and_batched_deliveries() {
    let app = spawn_app().await;
    let mut events = PLAIN.to_vec();
    // Past seq 9, so that sequences sorted as strings are tried across 9 → 10.
    events.extend([r#"{"type":"Filler","data":{}}"#; 8]);
    let envelopes = publish(&app, &events).await;
    let head = app.head().await;
    check_formats(&app, Sdk::Npm, "core", &envelopes, head).await;

    let settings = json!({"format": "cloudevents-structured", "batch": 20});
    let received = deliveries(&app, "npm-batch", settings, head).await;
    assert_eq!(received.len(), 1, "one batch");
    let mut read = read_with(Sdk::Npm, "core", &received).await;
    assert_eq!(read.len(), envelopes.len());
    read.sort_by_key(|ce| ce["sequence"].as_str().map(str::to_owned));
    for (ce, envelope) in read.iter().zip(&envelopes) {
        assert_same_event(ce, envelope);
    }
}

#[tokio::test]
async fn the_pypi_receivers_read_binary_and_structured_deliveries() {
    let app = spawn_app().await;
    let mut events = PLAIN.to_vec();
    events.extend([NULL_DATA, ENCODED]);
    let envelopes = publish(&app, &events).await;
    let head = app.head().await;
    check_formats(&app, Sdk::PyPi, "core", &envelopes, head).await;
    // The 1.x API does not percent-decode: all but the encoded event.
    let (encoded, plain) = envelopes.split_last().expect("events");
    assert_eq!(encoded["type"], "Commande créée");
    check_formats(&app, Sdk::PyPi, "v1", plain, head).await;
}
