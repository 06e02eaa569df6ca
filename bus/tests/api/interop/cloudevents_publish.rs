//! CloudEvents built and sent by the official SDKs, in each mode they offer, are stored
//! with their attributes, and with their data exactly as sent; two of them whose data hold
//! the same `id` field are two events.

use super::script::{self, Sdk};
use crate::helpers::{spawn_app, TestApp};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The data of every event: `id` and `type` fields (which must not be taken for the
/// event's), text beyond ASCII, numbers and nesting.
fn order_data() -> Value {
    json!({
        "id": "order-7",
        "type": "book",
        "title": "Ünïcödé ✓ \"quoted\"",
        "n": [1, 2.5, -0.001],
        "nested": {"ok": true, "none": null},
    })
}

/// Two CloudEvents with the same data, with attributes `sdk` can put in headers in
/// `mode`. The npm SDK needs a URI reference as `source` and sends header values as they
/// are, as does the PyPI package's 1.x API (`v1-…` modes); its 2.x API percent-encodes them
/// (HTTP binding §3.1.3.2), so its attributes hold a space, a `%` and text beyond ASCII.
/// The second PyPI event has no `datacontenttype` (that SDK's default: no `Content-Type`
/// in binary mode).
fn order_events(sdk: Sdk, mode: &str) -> Vec<Value> {
    let data = order_data();
    let (id, ty, source) = match sdk {
        Sdk::PyPi if !mode.starts_with("v1-") => (
            format!("pypi {mode} ✓"),
            "com.example.commande créée",
            "/boutique/100% été",
        ),
        _ => (
            format!("{sdk:?}-{mode}").to_lowercase(),
            "com.example.OrderPlaced",
            "/shop/orders",
        ),
    };
    let first = json!({"id": format!("{id} 1"), "type": ty, "source": source, "data": data});
    let mut second = first.clone();
    second["id"] = Value::from(format!("{id} 2"));
    if let (Sdk::PyPi, Some(first)) = (sdk, first.as_object()) {
        let mut first = first.clone();
        first.insert("datacontenttype".into(), "application/json".into());
        return vec![Value::Object(first), second];
    }
    vec![first, second]
}

/// The raw JSON text of `field` in the object `json`.
fn raw_field(json: &str, field: &str) -> String {
    let object: BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("not a JSON object ({e}): {json}"));
    let raw = object
        .get(field)
        .unwrap_or_else(|| panic!("no {field}: {json}"));
    raw.get().to_owned()
}

/// Sends two order events with `sdk` in `mode` and checks what the bus stored.
async fn publish_and_read_back(app: &TestApp, sdk: Sdk, mode: &str) {
    let events = order_events(sdk, mode);
    let job = json!({"url": app.at("/events"), "mode": mode, "events": events});
    let results = script::run(sdk, "ce_emit", job).await;
    let results = results.as_array().expect("an array of results");
    assert_eq!(results.len(), events.len());
    let mut seqs = Vec::new();
    for (event, result) in events.iter().zip(results) {
        let case = format!("{sdk:?} {mode} {}", event["id"]);
        if let Some(status) = result["status"].as_u64() {
            assert_eq!(status, 201, "{case}: {result}");
        }
        let answer = result["answer"].as_str().expect("the answer");
        let reply: Value = serde_json::from_str(answer).expect("a JSON answer");
        assert_eq!(reply["id"], event["id"], "{case}: {reply}");
        let seq = reply["seq"]
            .as_u64()
            .unwrap_or_else(|| panic!("{case}: {reply}"));
        seqs.push(seq);

        let stored = app.get_text(&format!("/events/{seq}")).await;
        let envelope: Value = serde_json::from_str(&stored).expect("JSON");
        for attribute in ["id", "type", "source"] {
            assert_eq!(envelope[attribute], event[attribute], "{case}: {stored}");
        }
        let sent = result["sent"].as_str().expect("the body sent");
        let sent_data = match mode {
            "structured" | "v1-structured" => raw_field(sent, "data"),
            _ => sent.to_owned(),
        };
        assert_eq!(
            raw_field(&stored, "data"),
            sent_data,
            "{case}: data as sent"
        );
        assert_eq!(envelope["data"], order_data(), "{case}");
    }
    assert_ne!(seqs[0], seqs[1], "{sdk:?} {mode}: one event stored for two");
}

/// Every stored event whose data is the order (so that none was lost as a duplicate).
async fn orders_stored(app: &TestApp) -> usize {
    let events = app.events().await;
    events.iter().filter(|e| e["data"] == order_data()).count()
}

#[tokio::test]
async fn the_npm_sdk_binary_structured_and_emitter_events_are_stored_as_sent() {
    let app = spawn_app().await;
    for mode in ["binary", "structured", "emitter"] {
        publish_and_read_back(&app, Sdk::Npm, mode).await;
    }
    assert_eq!(orders_stored(&app).await, 6);
}

#[tokio::test]
async fn the_pypi_sdk_binary_and_structured_events_are_stored_as_sent() {
    let app = spawn_app().await;
    for mode in ["binary", "structured", "v1-binary", "v1-structured"] {
        publish_and_read_back(&app, Sdk::PyPi, mode).await;
    }
    assert_eq!(orders_stored(&app).await, 8);
}
