//! Titles and bodies refused with a JSON error: nothing stored, nothing published.

use crate::helpers::{data_dir, log, TestPosts};
use bus::testkit::spawn_bus;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn bad_titles_and_bodies_are_refused_and_leave_nothing_behind() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let posts = TestPosts::start(dir.path(), bus.url()).await;
    let longest = "é".repeat(200);
    let too_long = "x".repeat(201);
    let titles = [
        ("", "invalid_title"),
        ("   ", "invalid_title"),
        (" \t\n\u{3000} ", "invalid_title"),
        (too_long.as_str(), "invalid_title"),
    ];
    for (title, code) in titles {
        for path in ["/posts", "/posts/create"] {
            let refused = posts.post_json(path, &json!({ "title": title })).await;
            let what = format!("{path} {title:?}: {}", refused.body);
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{what}");
            assert_eq!(refused.body["error"], code, "{what}");
        }
    }
    let oversized = format!(r#"{{"title": "{}x"}}"#, " ".repeat(16 * 1024));
    let bodies: [(&str, Option<&str>, u16, &str); 7] = [
        (&oversized, Some("application/json"), 413, "body_too_large"),
        ("{not json", Some("application/json"), 400, "invalid_json"),
        ("{}", Some("application/json"), 400, "invalid_json"),
        (
            r#"{"name": "x"}"#,
            Some("application/json"),
            400,
            "invalid_json",
        ),
        (
            r#"{"title": 5}"#,
            Some("application/json"),
            400,
            "invalid_json",
        ),
        (r#"["x"]"#, Some("application/json"), 400, "invalid_json"),
        (r#"{"title": "x"}"#, None, 415, "unsupported_media_type"),
    ];
    let http = reqwest::Client::new();
    for (body, content_type, status, code) in bodies {
        let mut request = http.post(posts.at("/posts")).body(body.to_string());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status().as_u16(), status, "{body}");
        let answer: Value = answer.json().await.expect("a JSON error");
        assert_eq!(answer["error"], code, "{body}: {answer}");
    }
    assert_eq!(posts.list().await.1, json!({}), "nothing stored");
    assert!(log(bus.url()).await.is_empty(), "nothing published");

    let padded = format!("  {longest}  ");
    let taken = posts.create(&padded).await;
    assert_eq!(
        taken.body["title"],
        json!(longest),
        "200 characters once trimmed"
    );
}
