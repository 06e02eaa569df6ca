//! CloudEvents in binary mode (the official SDKs' default): attributes in `ce-*` headers,
//! `data` as the body.

use crate::helpers::{json_of, spawn_app, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Sends `body` with `headers` (a binary-mode CloudEvent, or a broken one).
async fn send(app: &TestApp, headers: &[(&str, &str)], body: &str) -> (StatusCode, Value) {
    let mut request = app.request(Method::POST, "/events").body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    json_of(request.send().await.expect("POST /events")).await
}

/// Headers of a request.
type Headers = Vec<(&'static str, &'static str)>;

/// A refused case: what it is, its headers and body, the status and code expected.
struct Refused {
    case: &'static str,
    headers: Headers,
    body: &'static str,
    status: StatusCode,
    code: &'static str,
}

fn order_placed(id: &'static str) -> Headers {
    vec![
        ("content-type", "application/json"),
        ("ce-specversion", "1.0"),
        ("ce-id", id),
        ("ce-type", "com.example.OrderPlaced"),
        ("ce-source", "/shop/orders"),
    ]
}

#[tokio::test]
async fn a_binary_cloudevent_is_stored_from_its_headers_with_the_body_as_data() {
    let app = spawn_app().await;
    // A body that looks like a minibus event must not be read as one.
    let body = r#"{"id": "order-7", "type": "book"}"#;
    let (status, reply) = send(&app, &order_placed("evt-1"), body).await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["id"], "evt-1");
    let seq = reply["seq"].as_u64().expect("a seq");
    let text = app.get_text(&format!("/events/{seq}")).await;
    assert!(
        text.contains(&format!(r#""data":{body}"#)),
        "byte for byte: {text}"
    );
    let event: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(event["id"], "evt-1");
    assert_eq!(event["type"], "com.example.OrderPlaced");
    assert_eq!(event["source"], "/shop/orders");

    // Another CloudEvent whose body holds the same "id" is a new event, not a duplicate.
    let (status, second) = send(&app, &order_placed("evt-2"), body).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["seq"].as_u64(), Some(seq + 1));

    // The same CloudEvent again is an idempotent repeat.
    let (status, again) = send(&app, &order_placed("evt-1"), body).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["seq"].as_u64(), Some(seq));
}

#[tokio::test]
async fn a_broken_binary_cloudevent_is_refused_and_appends_nothing() {
    let app = spawn_app().await;
    let head = app.head().await;
    let without = |missing: &str| -> Headers {
        order_placed("evt-x")
            .into_iter()
            .filter(|(name, _)| *name != missing)
            .collect()
    };
    let refused = |case, headers, body, status, code| Refused {
        case,
        headers,
        body,
        status,
        code,
    };
    let bad = StatusCode::BAD_REQUEST;
    let mut cases = Vec::new();
    for header in ["ce-specversion", "ce-id", "ce-type", "ce-source"] {
        cases.push(refused(header, without(header), "{}", bad, "invalid_event"));
    }
    let mut old_version = without("ce-specversion");
    old_version.push(("ce-specversion", "0.3"));
    cases.push(refused(
        "specversion 0.3",
        old_version,
        "{}",
        bad,
        "invalid_event",
    ));
    let mut text = without("content-type");
    text.push(("content-type", "text/plain"));
    let unsupported = StatusCode::UNSUPPORTED_MEDIA_TYPE;
    cases.push(refused(
        "text data",
        text,
        "hello",
        unsupported,
        "unsupported_media_type",
    ));
    let not_json = order_placed("evt-y");
    cases.push(refused(
        "data not JSON",
        not_json,
        "{not json",
        bad,
        "invalid_json",
    ));
    for Refused {
        case,
        headers,
        body,
        status,
        code,
    } in cases
    {
        let (got, reply) = send(&app, &headers, body).await;
        assert_eq!(got, status, "{case}: {reply}");
        assert_eq!(reply["error"], code, "{case}: {reply}");
    }
    assert_eq!(app.head().await, head, "nothing was appended");
}
