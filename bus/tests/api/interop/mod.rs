//! The official SDKs against the real bus: CloudEvents built by npm `cloudevents` and PyPI
//! `cloudevents` are published and read back; the bus's CloudEvents deliveries are read by
//! each SDK's receiver; Standard Webhooks signatures are checked by the official
//! `standardwebhooks` packages (and theirs by ours).
//!
//! The SDKs run in the small scripts of `tests/tools/` (installed by
//! `scripts/install-test-tools.sh`); the Rust side starts the bus, captures deliveries with
//! the fake subscriber, and hands them to a script as JSON.
//!
//! # Layout
//!
//! ```text
//! script.rs              Sdk, run(): one script, JSON in and out, bounded, killed on drop
//! cloudevents_publish.rs the SDKs' emitters → POST /events → GET /events
//! cloudevents_receive.rs format "cloudevents" / "cloudevents-structured" → the SDKs' receivers
//! webhooks.rs            signed deliveries → standardwebhooks verify; their signatures → ours
//! ```

mod cloudevents_publish;
mod cloudevents_receive;
mod script;
mod webhooks;

use bus::testkit::Received;
use serde_json::{json, Map, Value};

/// A delivery as the scripts take it: `{"headers": {name: value}, "body": "…"}`, the
/// header values read as Node's and Python's HTTP servers read them (bytes beyond ASCII as
/// Latin-1).
fn delivery(received: &Received) -> Value {
    let headers: Map<String, Value> = received
        .headers
        .iter()
        .map(|(name, value)| {
            let latin1: String = value.as_bytes().iter().map(|&b| char::from(b)).collect();
            (name.as_str().to_owned(), Value::from(latin1))
        })
        .collect();
    let body = std::str::from_utf8(&received.body).expect("a UTF-8 body");
    json!({"headers": headers, "body": body})
}
