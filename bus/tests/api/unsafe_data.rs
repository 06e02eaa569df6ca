//! `data` that is valid JSON but that many consumers' parsers cannot read is refused with
//! `400 invalid_event` saying why: a number beyond a double's range (`1e999`, which
//! JavaScript reads as `Infinity` and serde_json refuses) and a lone UTF-16 surrogate
//! escape (`"\ud800"`, which serde_json and Python's strict decoders refuse). What they
//! can read, however written, is kept byte for byte.

use crate::helpers::{assert_error, spawn_app};
use reqwest::StatusCode;

#[tokio::test]
async fn numbers_beyond_a_double_and_lone_surrogates_are_refused() {
    let app = spawn_app().await;
    let huge_integer = "9".repeat(400);
    let cases = [
        ("1e999", "1e999".to_string()),
        ("-1E999", "-1E999".to_string()),
        ("nested", r#"{"a":[1,{"b":2e308}]}"#.to_string()),
        ("400 digits", huge_integer),
        ("lone high", r#""\ud800""#.to_string()),
        ("lone low", r#""a\uDC00b""#.to_string()),
        ("high then not low", r#""\uD83D\u0041""#.to_string()),
        ("high at the end", r#"{"k":"x\ud83d"}"#.to_string()),
        ("in a key", r#"{"\udfff":1}"#.to_string()),
    ];
    for (case, data) in cases {
        let body = format!(r#"{{"type":"T","data":{data}}}"#);
        let (status, reply) = app.publish_raw(body, "application/json").await;
        assert_error(
            status,
            &reply,
            StatusCode::BAD_REQUEST,
            "invalid_event",
            case,
        );
        let message = reply["message"].as_str().unwrap_or_default();
        assert!(message.contains("`data`"), "{case}: {message}");
    }
    // In an array, the event is named, and nothing is appended.
    let body = r#"[{"type":"T","data":1},{"type":"T","data":1e999}]"#;
    let (status, reply) = app.publish_raw(body, "application/json").await;
    assert_error(
        status,
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_event",
        "array",
    );
    assert!(
        reply["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("event 1:"),
        "{reply}"
    );
    assert_eq!(app.head().await, 0);
}

#[tokio::test]
async fn readable_numbers_and_strings_are_kept_byte_for_byte() {
    let app = spawn_app().await;
    let data = r#"{"max":1.7976931348623157e308,"tiny":1e-400,"big":123456789012345678901234567890,"neg":-0.0,"pair":"\ud83d\ude00","raw":"😀","esc":"\\ud800 is text","keys":{"\u00e9":1}}"#;
    let body = format!(r#"{{"type":"T","data":{data}}}"#);
    let (status, reply) = app.publish_raw(body, "application/json").await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    let text = app.get_text("/events/1").await;
    assert!(text.contains(data), "stored as sent: {text}");
}
