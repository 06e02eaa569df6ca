//! A huge bad value (a megabyte in a body, 30 KB in a query) is refused with its usual
//! status and code, and the error quotes at most a couple of hundred characters of it.

use crate::helpers::{spawn_app, TestApp};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};

/// About a megabyte: under the default --max-event-bytes (1 MiB), so the value itself is
/// what is refused.
const MEGABYTE: usize = 1_000_000;
/// The longest error body, in bytes, a huge input may get back.
const MAX_ERROR_BYTES: usize = 1024;

/// Sends `request`, asserts the answer is `status` with `code` in under
/// [`MAX_ERROR_BYTES`]; the answer.
async fn assert_short_error(request: RequestBuilder, status: StatusCode, code: &str, case: &str) {
    let answer = request.send().await.expect(case);
    assert_eq!(answer.status(), status, "{case}");
    let text = answer.text().await.expect("a body");
    assert!(
        text.len() < MAX_ERROR_BYTES,
        "{case}: a {}-byte error: {}…",
        text.len(),
        &text[..MAX_ERROR_BYTES.min(text.len())]
    );
    let body: Value = serde_json::from_str(&text).expect("a JSON error");
    assert_eq!(body["error"], code, "{case}: {body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

fn post(app: &TestApp, path: &str, content_type: &str, body: String) -> RequestBuilder {
    app.request(Method::POST, path)
        .header("content-type", content_type)
        .body(body)
}

#[tokio::test]
async fn a_megabyte_field_of_an_event_is_refused_briefly() {
    let app = spawn_app().await;
    let huge = "x".repeat(MEGABYTE);
    let cases = [
        ("type", json!({"type": huge})),
        ("id", json!({"type": "T", "id": huge})),
        ("stream", json!({"type": "T", "stream": huge})),
        (
            "expected_version",
            json!({"type": "T", "stream": "s", "expected_version": huge}),
        ),
        ("type as a number", json!({"type": 1, "source": huge})),
        ("source", json!({"type": "T", "source": huge})),
        (
            "in an array",
            json!([{"type": "T"}, {"type": "T", "correlation_id": huge}]),
        ),
    ];
    for (case, event) in cases {
        let request = post(&app, "/events", "application/json", event.to_string());
        assert_short_error(request, StatusCode::BAD_REQUEST, "invalid_event", case).await;
    }
    let key = format!(r#"{{"type":"T","{huge}":1,"type":"again"}}"#);
    let request = post(&app, "/events", "application/json", key);
    assert_short_error(request, StatusCode::BAD_REQUEST, "invalid_event", "a key").await;
    let not_json = format!(r#"{{"type":"T","data":{huge}}}"#);
    let request = post(&app, "/events", "application/json", not_json);
    assert_short_error(request, StatusCode::BAD_REQUEST, "invalid_json", "not JSON").await;
    let cloudevent = json!({"specversion": huge, "id": "e1", "type": "T", "source": "s"});
    let request = post(
        &app,
        "/events",
        "application/cloudevents+json",
        cloudevent.to_string(),
    );
    assert_short_error(
        request,
        StatusCode::BAD_REQUEST,
        "invalid_event",
        "specversion",
    )
    .await;
    assert_eq!(app.head().await, 0);
}

#[tokio::test]
async fn a_megabyte_subscription_setting_is_refused_briefly() {
    let app = spawn_app().await;
    let huge = "x".repeat(MEGABYTE);
    let cases = [
        (
            "types",
            json!({"url": "http://127.0.0.1:9/", "types": [huge]}),
        ),
        ("url", json!({"url": huge})),
        (
            "start",
            json!({"url": "http://127.0.0.1:9/", "start": huge}),
        ),
        (
            "max_attempts",
            json!({"url": "http://127.0.0.1:9/", "max_attempts": huge}),
        ),
    ];
    for (case, spec) in cases {
        let request = app
            .request(Method::PUT, "/subscriptions/s")
            .header("content-type", "application/json")
            .body(spec.to_string());
        assert_short_error(
            request,
            StatusCode::BAD_REQUEST,
            "invalid_subscription",
            case,
        )
        .await;
    }
}

#[tokio::test]
async fn a_long_query_value_or_name_is_refused_briefly() {
    let app = spawn_app().await;
    // A URI is at most 64 KiB (the `http` crate).
    let long = "9".repeat(30_000);
    for (case, path) in [
        ("after", format!("/events?after={long}")),
        ("limit", format!("/events?limit={long}")),
        ("type", format!("/events?type={}", "x".repeat(30_000))),
        ("stream", format!("/events?stream={}", "x y".repeat(10_000))),
        (
            "unknown parameter",
            format!("/events?{}=1", "x".repeat(30_000)),
        ),
        ("seq", format!("/events/{long}")),
    ] {
        let request = app.request(Method::GET, &path);
        assert_short_error(request, StatusCode::BAD_REQUEST, "invalid_query", case).await;
    }
    let request = app.request(Method::GET, &format!("/nowhere/{long}"));
    assert_short_error(request, StatusCode::NOT_FOUND, "not_found", "a path").await;
}
