//! Integers in request bodies are read in any JSON spelling of a whole number (`2`, `2.0`,
//! `2e0`): JSON Schema, so OpenAPI 3.1, counts them all as integers, Python's `json` writes a
//! whole float as `2.0`, and schemathesis sends such spellings as valid data.

use crate::helpers::{assert_error, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// JSON Schema counts `2.0` as the integer 2 (and Python's `json` writes a whole float so):
/// every integer of a request body takes it; a fraction is still refused.
#[tokio::test]
async fn integers_in_bodies_may_be_spelled_as_whole_floats() {
    let app = spawn_app().await;
    let event = json!({"type": "T", "stream": "s", "expected_version": 0.0});
    assert_eq!(app.publish_ok(event).await["version"], 1);
    let spec = json!({
        "url": "http://127.0.0.1:9/",
        "start": {"after": 1.0},
        "batch": 2.0,
        "batch_max_bytes": 1e6,
        "timeout_ms": 100.0,
        "retry": {"initial_ms": 10.0, "max_ms": 2e1, "max_attempts": 3.0},
    });
    let (status, body) = app.call(Method::PUT, "/subscriptions/f", Some(spec)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!((&body["batch"], &body["cursor"]), (&json!(2), &json!(1)));
    let rewind = json!({"after": 0.0});
    let (status, body) = app
        .call(Method::POST, "/subscriptions/f/rewind", Some(rewind))
        .await;
    assert_eq!(
        (status, &body["after"]),
        (StatusCode::OK, &json!(0)),
        "{body}"
    );

    let (status, body) = app
        .publish(json!({"type": "T", "stream": "s", "expected_version": 1.5}))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_event",
        "1.5",
    );
    let spec = json!({"url": "http://127.0.0.1:9/", "batch": 1.5});
    let (status, body) = app.call(Method::PUT, "/subscriptions/g", Some(spec)).await;
    let code = "invalid_subscription";
    assert_error(status, &body, StatusCode::BAD_REQUEST, code, "batch 1.5");
}
