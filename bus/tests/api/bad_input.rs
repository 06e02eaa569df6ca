//! Bad input: each gets its JSON error with a 4xx (never a 5xx), and the log is unchanged
//! (the head does not move, and the next valid publish gets exactly the next seq).

use crate::helpers::{assert_error, json_of, spawn_app, spawn_app_with, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

const JSON: &str = "application/json";

/// Publishes `body` (exact bytes), expects `status` + `code`, and checks the log is unchanged.
async fn refused(app: &TestApp, case: &str, body: String, status: StatusCode, code: &str) {
    let head = app.head().await;
    let (got, reply) = app.publish_raw(body, JSON).await;
    assert!(got.is_client_error(), "{case}: a {got}, not a 4xx: {reply}");
    assert_error(got, &reply, status, code, case);
    app.assert_unchanged(head, case).await;
}

async fn bad_request(app: &TestApp, case: &str, body: &str, code: &str) {
    refused(app, case, body.to_string(), StatusCode::BAD_REQUEST, code).await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_400_invalid_json() {
    let app = spawn_app().await;
    for (case, body) in [
        ("empty body", ""),
        ("whitespace only", "  \n "),
        ("plain text", "hello"),
        ("truncated object", r#"{"type": "A""#),
        ("truncated array", r#"[{"type": "A"}"#),
        ("trailing garbage", r#"{"type": "A"} x"#),
        ("two objects", r#"{"type": "A"}{"type": "B"}"#),
        ("single quotes", "{'type': 'A'}"),
        ("trailing comma", r#"{"type": "A",}"#),
    ] {
        bad_request(&app, case, body, "invalid_json").await;
    }
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_400() {
    let app = spawn_app().await;
    for (case, body, code) in [
        ("a number", "5", "invalid_json"),
        ("a string", r#""PostCreated""#, "invalid_json"),
        ("null", "null", "invalid_json"),
        ("a boolean", "true", "invalid_json"),
        ("a numeric type", r#"{"type": 5}"#, "invalid_event"),
        ("a null type", r#"{"type": null}"#, "invalid_event"),
        ("an object type", r#"{"type": {"a": 1}}"#, "invalid_event"),
        ("an array of numbers", "[1, 2]", "invalid_event"),
        (
            "an array of arrays",
            r#"[[{"type": "A"}]]"#,
            "invalid_event",
        ),
        ("a numeric id", r#"{"type": "A", "id": 7}"#, "invalid_event"),
        (
            "a numeric stream",
            r#"{"type": "A", "stream": 7}"#,
            "invalid_event",
        ),
        (
            "a negative expected_version",
            r#"{"type": "A", "stream": "s", "expected_version": -1}"#,
            "invalid_event",
        ),
        (
            "a string expected_version",
            r#"{"type": "A", "stream": "s", "expected_version": "1"}"#,
            "invalid_event",
        ),
        (
            "the type twice",
            r#"{"type": "A", "type": "B"}"#,
            "invalid_event",
        ),
    ] {
        bad_request(&app, case, body, code).await;
    }
}

#[tokio::test]
async fn deeply_nested_json_never_crashes_the_bus() {
    let app = spawn_app().await;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    bad_request(&app, "a deeply nested body", &deep, "invalid_event").await;
    // As `data`, nesting is limited to 64 levels (MAX_DATA_DEPTH): subscribers must be
    // able to parse every event.
    let body = format!(r#"{{"type": "Deep", "data": {deep}}}"#);
    bad_request(&app, "deeply nested data", &body, "invalid_event").await;
    let head = app.head().await;
    let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
    let (status, reply) = app
        .publish_raw(format!(r#"{{"type": "Deep", "data": {ok}}}"#), JSON)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    let text = app.get_text(&format!("/events/{}", head + 1)).await;
    assert!(text.contains(&ok));
}

#[tokio::test]
async fn a_missing_empty_or_over_long_type_is_400() {
    let app = spawn_app().await;
    bad_request(&app, "no type", r#"{"data": {"a": 1}}"#, "invalid_event").await;
    bad_request(&app, "empty type", r#"{"type": ""}"#, "invalid_event").await;
    // 201 characters, counted as characters: "é" is 2 bytes, so 200 of them are 400 bytes.
    let long = json!({"type": "é".repeat(201)}).to_string();
    refused(
        &app,
        "201-character type",
        long,
        StatusCode::BAD_REQUEST,
        "invalid_event",
    )
    .await;
    let ascii = json!({"type": "T".repeat(201)}).to_string();
    refused(
        &app,
        "201-character ASCII type",
        ascii,
        StatusCode::BAD_REQUEST,
        "invalid_event",
    )
    .await;

    let head = app.head().await;
    for (i, ty) in ["é".repeat(200), "T".repeat(200), "x".into()]
        .into_iter()
        .enumerate()
    {
        let reply = app.publish_ok(json!({"type": ty})).await;
        assert_eq!(reply["seq"].as_u64(), Some(head + 1 + i as u64));
        let (_, event) = app
            .get_json(&format!("/events/{}", reply["seq"].as_u64().expect("seq")))
            .await;
        assert_eq!(event["type"], ty.as_str(), "the type is stored as sent");
    }
}

#[tokio::test]
async fn control_characters_in_type_id_stream_or_source_are_400() {
    let app = spawn_app().await;
    for (case, body) in [
        ("BEL in type", r#"{"type": "a\u0007b"}"#),
        ("newline in type", r#"{"type": "a\nb"}"#),
        ("NUL in type", r#"{"type": "a\u0000"}"#),
        ("DEL in type", r#"{"type": "a\u007fb"}"#),
        ("C1 control in type", r#"{"type": "a\u0085b"}"#),
        ("newline in id", r#"{"type": "A", "id": "a\nb"}"#),
        ("tab in id", r#"{"type": "A", "id": "\tx"}"#),
        ("CR in stream", r#"{"type": "A", "stream": "s\r"}"#),
        ("ESC in source", r#"{"type": "A", "source": "x\u001b[31m"}"#),
    ] {
        bad_request(&app, case, body, "invalid_event").await;
    }
}

#[tokio::test]
async fn invalid_stream_names_and_empty_names_are_400() {
    let app = spawn_app().await;
    let long_stream = json!({"type": "A", "stream": "s".repeat(201)}).to_string();
    let cases = [
        (
            "a space in stream",
            r#"{"type": "A", "stream": "post p1"}"#.to_string(),
        ),
        (
            "a slash in stream",
            r#"{"type": "A", "stream": "post/p1"}"#.into(),
        ),
        (
            "non-ASCII stream",
            r#"{"type": "A", "stream": "pöst"}"#.into(),
        ),
        ("empty stream", r#"{"type": "A", "stream": ""}"#.into()),
        ("201-character stream", long_stream),
        ("empty id", r#"{"type": "A", "id": ""}"#.into()),
        (
            "201-character id",
            json!({"type": "A", "id": "i".repeat(201)}).to_string(),
        ),
        (
            "201-character source",
            json!({"type": "A", "source": "é".repeat(201)}).to_string(),
        ),
        ("empty source", r#"{"type": "A", "source": ""}"#.into()),
    ];
    for (case, body) in cases {
        refused(&app, case, body, StatusCode::BAD_REQUEST, "invalid_event").await;
    }
    // The longest valid stream name, with every allowed punctuation.
    let name = format!("{}._:-", "s".repeat(196));
    let reply = app.publish_ok(json!({"type": "A", "stream": name})).await;
    assert_eq!(reply["version"], 1);
}

#[tokio::test]
async fn an_array_with_one_bad_event_appends_nothing() {
    let app = spawn_app().await;
    for (case, body, code) in [
        (
            "empty type in the middle",
            r#"[{"type": "A"}, {"type": ""}, {"type": "C"}]"#,
            "invalid_event",
        ),
        (
            "bad stream last",
            r#"[{"type": "A"}, {"type": "B", "stream": "a b"}]"#,
            "invalid_event",
        ),
        ("a number inside", r#"[{"type": "A"}, 3]"#, "invalid_event"),
        (
            "expected_version without stream inside",
            r#"[{"type": "A"}, {"type": "B", "expected_version": 0}]"#,
            "invalid_event",
        ),
    ] {
        bad_request(&app, case, body, code).await;
    }
    assert_eq!(app.events().await.len() as u64, app.head().await);
}

#[tokio::test]
async fn the_same_id_twice_in_an_array_is_400() {
    let app = spawn_app().await;
    bad_request(
        &app,
        "one id twice",
        r#"[{"id": "x", "type": "A"}, {"type": "B"}, {"id": "x", "type": "A"}]"#,
        "duplicate_id",
    )
    .await;
    // Nothing of it was stored: publishing "x" now is a fresh append.
    let reply = app.publish_ok(json!({"id": "x", "type": "A"})).await;
    assert_eq!(reply["id"], "x");
}

#[tokio::test]
async fn expected_version_without_stream_is_400() {
    let app = spawn_app().await;
    bad_request(
        &app,
        "expected_version 0 without stream",
        r#"{"type": "A", "expected_version": 0}"#,
        "invalid_event",
    )
    .await;
    bad_request(
        &app,
        "expected_version 3 without stream",
        r#"{"type": "A", "expected_version": 3}"#,
        "invalid_event",
    )
    .await;
}

#[tokio::test]
async fn an_empty_array_is_400() {
    let app = spawn_app().await;
    bad_request(&app, "empty array", "[]", "empty_array").await;
    bad_request(&app, "empty array with spaces", " [ ] ", "empty_array").await;
}

#[tokio::test]
async fn more_than_1000_events_in_an_array_is_413_too_many_events() {
    let app = spawn_app().await;
    let events = |n: usize| {
        (0..n)
            .map(|i| json!({"id": format!("e{n}-{i}"), "type": "A"}))
            .collect::<Vec<_>>()
    };
    refused(
        &app,
        "1001 events",
        json!(events(1001)).to_string(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_many_events",
    )
    .await;
    let head = app.head().await;
    let replies = app.publish_ok(json!(events(1000))).await;
    assert_eq!(replies.as_array().map(Vec::len), Some(1000));
    assert_eq!(replies[0]["seq"].as_u64(), Some(head + 1));
    assert_eq!(replies[999]["seq"].as_u64(), Some(head + 1000));
}

#[tokio::test]
async fn a_body_over_max_body_bytes_is_413_and_an_event_over_max_event_bytes_is_413() {
    let app = spawn_app_with(|c| {
        c.max_body_bytes = 4096;
        c.max_event_bytes = 1024;
    })
    .await;
    let padded = |bytes: usize| {
        let event = json!({"type": "A", "data": "x".repeat(bytes)}).to_string();
        assert!(event.len() >= bytes);
        event
    };
    refused(
        &app,
        "one event over --max-event-bytes",
        padded(1100),
        StatusCode::PAYLOAD_TOO_LARGE,
        "event_too_large",
    )
    .await;
    refused(
        &app,
        "an array with one event over --max-event-bytes",
        format!(r#"[{{"type": "A"}}, {}]"#, padded(1100)),
        StatusCode::PAYLOAD_TOO_LARGE,
        "event_too_large",
    )
    .await;
    let small = padded(500);
    refused(
        &app,
        "a body over --max-body-bytes of small events",
        format!("[{}]", [small.as_str(); 10].join(",")),
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    )
    .await;
    refused(
        &app,
        "a single event over --max-body-bytes",
        padded(5000),
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    )
    .await;
    // Just under both limits is fine.
    let (status, reply) = app
        .publish_raw(format!("[{}]", [small.as_str(); 6].join(",")), JSON)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
}

/// `GET path` must answer `status` with the JSON error `code`.
async fn get_refused(app: &TestApp, path: &str, status: StatusCode, code: &str) {
    let (got, body) = app.get_json(path).await;
    assert_error(got, &body, status, code, &format!("GET {path}"));
}

#[tokio::test]
async fn bad_read_queries_are_400_invalid_query() {
    let app = spawn_app().await;
    app.publish_ok(json!({"type": "A"})).await;
    for query in [
        "after=-1",
        "after=abc",
        "after=1.5",
        "after=",
        "after=18446744073709551616",
        "after=99999999999999999999999999",
        "limit=0",
        "limit=-5",
        "limit=ten",
        "limit=10001",
        "limit=18446744073709551616",
        "limit=",
        "after=0&limit=0",
        "type=",
        "stream=a%20b",
        "stream=",
        "colour=red",
        "after=0&colour=red",
        "Limit=5",
    ] {
        get_refused(
            &app,
            &format!("/events?{query}"),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        )
        .await;
    }
    for path in ["/events/1?x=1", "/streams/s?after=0"] {
        get_refused(&app, path, StatusCode::BAD_REQUEST, "invalid_query").await;
    }
    for query in ["after=-1", "after=x", "limit=5", "stream=s", "after=1e3"] {
        get_refused(
            &app,
            &format!("/events/stream?{query}"),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        )
        .await;
    }
    let answer = app
        .request(Method::GET, "/events/stream")
        .header("last-event-id", "nope")
        .send()
        .await
        .expect("GET /events/stream");
    let (status, body) = json_of(answer).await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_query",
        "Last-Event-ID: nope",
    );
    // The limits themselves are fine.
    assert_eq!(app.get_array("/events?limit=10000").await.len(), 1);
    assert_eq!(app.get_array("/events?limit=1").await.len(), 1);
    assert_eq!(
        app.get_array("/events?after=18446744073709551615")
            .await
            .len(),
        0
    );
}

#[tokio::test]
async fn a_bad_seq_in_the_path_is_400() {
    let app = spawn_app().await;
    for path in [
        "/events/abc",
        "/events/-1",
        "/events/1.0",
        "/events/18446744073709551616",
    ] {
        get_refused(&app, path, StatusCode::BAD_REQUEST, "invalid_query").await;
    }
    get_refused(
        &app,
        "/streams/a%20b",
        StatusCode::BAD_REQUEST,
        "invalid_stream",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_route_is_a_json_404() {
    let app = spawn_app().await;
    for path in ["/nope", "/events/1/extra", "/", "/streams", "/subscription"] {
        get_refused(&app, path, StatusCode::NOT_FOUND, "not_found").await;
    }
    let answer = app
        .request(Method::POST, "/nope")
        .body("{}")
        .send()
        .await
        .expect("POST /nope");
    let (status, body) = json_of(answer).await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "not_found",
        "POST /nope",
    );
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405_and_changes_nothing() {
    let app = spawn_app().await;
    let head = app.head().await;
    for (method, path) in [
        (Method::DELETE, "/events"),
        (Method::PUT, "/events"),
        (Method::PATCH, "/events"),
        (Method::POST, "/events/1"),
        (Method::DELETE, "/events/1"),
        (Method::POST, "/info"),
        (Method::POST, "/events/stream"),
        (Method::PUT, "/streams/s"),
    ] {
        let answer = app
            .request(method.clone(), path)
            .header("content-type", JSON)
            .body(r#"{"type": "A"}"#)
            .send()
            .await
            .expect("a request");
        let (status, body) = json_of(answer).await;
        assert_error(
            status,
            &body,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            &format!("{method} {path}"),
        );
    }
    app.assert_unchanged(head, "wrong methods").await;
}
