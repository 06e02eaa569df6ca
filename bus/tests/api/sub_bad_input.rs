//! Bad input on the subscription API: each a JSON 4xx with an error code, and nothing
//! created or changed.

use crate::helpers::{assert_error, publish_n, spawn_app, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

const URL: &str = "http://127.0.0.1:9/events";

/// `PUT /subscriptions/NAME` with exactly `body`.
async fn put_raw(app: &TestApp, name: &str, body: &str) -> (StatusCode, serde_json::Value) {
    let answer = app
        .request(Method::PUT, &format!("/subscriptions/{name}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("PUT");
    crate::helpers::json_of(answer).await
}

async fn assert_no_subscription(app: &TestApp, case: &str) {
    assert_eq!(app.info().await["subscriptions"], 0, "{case}");
    assert!(app.get_array("/subscriptions").await.is_empty(), "{case}");
}

#[tokio::test]
async fn bad_subscription_settings_are_refused_and_create_nothing() {
    let app = spawn_app().await;
    publish_n(&app, "A", 2).await;
    let with = |extra: &str| format!(r#"{{"url":"{URL}",{extra}}}"#);
    let cases: Vec<(&str, String)> = vec![
        ("missing url", "{}".into()),
        ("missing url, other fields", r#"{"types":["A"]}"#.into()),
        ("url null", r#"{"url":null}"#.into()),
        ("ftp url", r#"{"url":"ftp://127.0.0.1/events"}"#.into()),
        ("not a url", r#"{"url":"not a url"}"#.into()),
        ("relative url", r#"{"url":"/events"}"#.into()),
        ("url not a string", r#"{"url":42}"#.into()),
        ("unknown start", with(r#""start":"middle""#)),
        ("unknown start object", with(r#""start":{"before":1}"#)),
        ("negative start", with(r#""start":{"after":-1}"#)),
        ("unknown format", with(r#""format":"xml""#)),
        (
            "unknown on_exhausted",
            with(r#""retry":{"on_exhausted":"explode"}"#),
        ),
        ("unknown field", with(r#""colour":"red""#)),
        ("unknown retry field", with(r#""retry":{"tries":3}"#)),
        ("batch 0", with(r#""batch":0"#)),
        ("batch 1001", with(r#""batch":1001"#)),
        ("batch -1", with(r#""batch":-1"#)),
        ("batch x", with(r#""batch":"x""#)),
        ("batch 1.5", with(r#""batch":1.5"#)),
        ("batch_max_bytes 0", with(r#""batch_max_bytes":0"#)),
        (
            "batch_max_bytes over 64 MiB",
            with(r#""batch_max_bytes":67108865"#),
        ),
        ("timeout_ms 0", with(r#""timeout_ms":0"#)),
        ("timeout_ms over 5 min", with(r#""timeout_ms":300001"#)),
        ("max_ms over a day", with(r#""retry":{"max_ms":86400001}"#)),
        (
            "101 types",
            with(&format!(r#""types":{}"#, serde_json::json!(vec!["A"; 101]))),
        ),
        (
            "url over 2,048 bytes",
            format!(r#"{{"url":"http://127.0.0.1/{}"}}"#, "a".repeat(2_048)),
        ),
        ("max_attempts 0", with(r#""retry":{"max_attempts":0}"#)),
        ("initial_ms 0", with(r#""retry":{"initial_ms":0}"#)),
        (
            "initial_ms > max_ms",
            with(r#""retry":{"initial_ms":500,"max_ms":100}"#),
        ),
        ("empty type", with(r#""types":[""]"#)),
        (
            "a 201-character type",
            with(&format!(r#""types":["{}"]"#, "T".repeat(201))),
        ),
        ("types not a list", with(r#""types":"A""#)),
        (
            "secret without prefix",
            with(r#""secret":"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw""#),
        ),
        ("secret too short", with(r#""secret":"whsec_c2hvcnQ=""#)),
        ("secret not base64", with(r#""secret":"whsec_!!!""#)),
        (
            "cloudevents binary batch",
            with(r#""format":"cloudevents","batch":2"#),
        ),
        ("not JSON", "not json".into()),
        ("empty body", String::new()),
        ("an array", format!(r#"[{{"url":"{URL}"}}]"#)),
    ];
    for (case, body) in &cases {
        let (status, answer) = put_raw(&app, "s", body).await;
        assert_error(
            status,
            &answer,
            StatusCode::BAD_REQUEST,
            "invalid_subscription",
            case,
        );
        assert_no_subscription(&app, case).await;
    }

    // Bad names.
    let long = "a".repeat(201);
    for (case, name) in [
        ("a space", "a%20b"),
        ("201 characters", long.as_str()),
        ("a slash, encoded", "a%2Fb"),
    ] {
        let (status, answer) = put_raw(&app, name, &format!(r#"{{"url":"{URL}"}}"#)).await;
        assert_error(
            status,
            &answer,
            StatusCode::BAD_REQUEST,
            "invalid_subscription",
            case,
        );
        assert_no_subscription(&app, case).await;
    }
    // 200 characters is fine.
    let (status, answer) = put_raw(&app, &"a".repeat(200), &format!(r#"{{"url":"{URL}"}}"#)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/subscriptions/{}", "a".repeat(200)),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // A start beyond the head.
    let (status, answer) = put_raw(&app, "s", &with(r#""start":{"after":3}"#)).await;
    assert_error(
        status,
        &answer,
        StatusCode::CONFLICT,
        "cursor_beyond_head",
        "after 3",
    );
    assert_eq!(answer["head_seq"], 2);
    assert_no_subscription(&app, "after beyond head").await;
    let (status, answer) = put_raw(&app, "s", &with(r#""start":{"after":2}"#)).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "after = head is fine: {answer}"
    );
}

#[tokio::test]
async fn a_bad_update_changes_nothing() {
    let app = spawn_app().await;
    let (status, created) =
        put_raw(&app, "s", &format!(r#"{{"url":"{URL}","types":["A"]}}"#)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    for body in [
        format!(r#"{{"url":"{URL}","batch":0}}"#),
        r#"{"url":"ftp://x/"}"#.to_string(),
        format!(r#"{{"url":"{URL}","reset":true,"start":{{"after":1}}}}"#),
    ] {
        let (status, answer) = put_raw(&app, "s", &body).await;
        assert!(status.is_client_error(), "{body}: {status} {answer}");
        let now = app.sub("s").await;
        assert_eq!(now["types"], json!(["A"]), "{body}");
        assert_eq!(now["batch"], 1, "{body}");
        assert_eq!(now["generation"], 1, "{body}");
        assert_eq!(now["url"], URL, "{body}");
    }
}

#[tokio::test]
async fn unknown_subscriptions_are_404_on_every_route() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::GET, "/subscriptions/nope"),
        (Method::DELETE, "/subscriptions/nope"),
        (Method::POST, "/subscriptions/nope/pause"),
        (Method::POST, "/subscriptions/nope/resume"),
        (Method::POST, "/subscriptions/nope/skip"),
        (Method::GET, "/subscriptions/nope/dead-letters"),
        (Method::POST, "/subscriptions/nope/dead-letters/retry"),
        (Method::POST, "/subscriptions/nope/dead-letters/1/retry"),
        (Method::DELETE, "/subscriptions/nope/dead-letters/1"),
    ] {
        let (status, answer) = app.call(method.clone(), path, None).await;
        assert_error(
            status,
            &answer,
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("{method} {path}"),
        );
    }
    let (status, answer) = app
        .call(
            Method::POST,
            "/subscriptions/nope/rewind",
            Some(json!({"after": 0})),
        )
        .await;
    assert_error(
        status,
        &answer,
        StatusCode::NOT_FOUND,
        "not_found",
        "rewind",
    );
    assert_no_subscription(&app, "404s").await;
}

#[tokio::test]
async fn bad_rewinds_are_refused_and_move_nothing() {
    let app = spawn_app().await;
    publish_n(&app, "A", 3).await;
    let (status, created) =
        put_raw(&app, "s", &format!(r#"{{"url":"{URL}","start":"end"}}"#)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    for (case, body, want, code) in [
        (
            "neither",
            json!({}),
            StatusCode::BAD_REQUEST,
            "invalid_subscription",
        ),
        (
            "only dry_run",
            json!({"dry_run": true}),
            StatusCode::BAD_REQUEST,
            "invalid_subscription",
        ),
        (
            "both",
            json!({"after": 1, "time": "2020-01-01T00:00:00Z"}),
            StatusCode::BAD_REQUEST,
            "invalid_subscription",
        ),
        (
            "bad time",
            json!({"time": "yesterday"}),
            StatusCode::BAD_REQUEST,
            "invalid_subscription",
        ),
        (
            "negative",
            json!({"after": -1}),
            StatusCode::BAD_REQUEST,
            "invalid_subscription",
        ),
        (
            "unknown field",
            json!({"after": 1, "to": 2}),
            StatusCode::BAD_REQUEST,
            "invalid_subscription",
        ),
        (
            "beyond head",
            json!({"after": 4}),
            StatusCode::CONFLICT,
            "cursor_beyond_head",
        ),
    ] {
        let (status, answer) = app.sub_action("s", "rewind", Some(body)).await;
        assert_error(status, &answer, want, code, case);
        let now = app.sub("s").await;
        assert_eq!(
            (now["cursor"].clone(), now["generation"].clone()),
            (json!(3), json!(1)),
            "{case}"
        );
    }
    let answer = app
        .request(Method::POST, "/subscriptions/s/rewind")
        .header("content-type", "application/json")
        .body("not json")
        .send()
        .await
        .expect("POST");
    let (status, answer) = crate::helpers::json_of(answer).await;
    assert!(status.is_client_error(), "{answer}");
    assert!(answer["error"].is_string(), "{answer}");
    let (status, answer) = app
        .call(Method::POST, "/subscriptions/s/dead-letters/x/retry", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer["error"].is_string(), "{answer}");
}

#[tokio::test]
async fn a_subscription_body_over_max_body_bytes_is_413() {
    let app = crate::helpers::spawn_app_with(|c| {
        c.max_event_bytes = 1_000;
        c.max_body_bytes = 2_000;
    })
    .await;
    let body = serde_json::json!({"url": "http://127.0.0.1:9/", "types": ["x".repeat(3_000)]});
    let (status, reply) = app
        .call(reqwest::Method::PUT, "/subscriptions/big", Some(body))
        .await;
    crate::helpers::assert_error(
        status,
        &reply,
        reqwest::StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        "PUT",
    );
}

#[tokio::test]
async fn settings_at_their_limits_are_accepted() {
    let app = spawn_app().await;
    let types: Vec<String> = (0..100).map(|i| format!("T{i}")).collect();
    let prefix = "http://127.0.0.1:9/";
    let url_2048 = format!("{prefix}{}", "a".repeat(2_048 - prefix.len()));
    let cases = [
        ("exactly 100 types", json!({"url": URL, "types": types})),
        (
            "a 200-character type",
            json!({"url": URL, "types": ["T".repeat(200)]}),
        ),
        ("a 2,048-byte URL", json!({"url": url_2048})),
        (
            "batch_max_bytes 64 MiB",
            json!({"url": URL, "batch_max_bytes": 64 * 1024 * 1024}),
        ),
        ("batch 1,000", json!({"url": URL, "batch": 1_000})),
        (
            "timeout_ms 5 min",
            json!({"url": URL, "timeout_ms": 300_000}),
        ),
        (
            "max_ms a day",
            json!({"url": URL, "retry": {"initial_ms": 1, "max_ms": 86_400_000}}),
        ),
    ];
    for (case, spec) in cases {
        let (status, answer) = put_raw(&app, "s", &spec.to_string()).await;
        assert_eq!(status, StatusCode::CREATED, "{case}: {answer}");
        let (status, _) = app.call(Method::DELETE, "/subscriptions/s", None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{case}");
    }
}
