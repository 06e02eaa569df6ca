//! Streams, versions and optimistic concurrency (`expected_version`).

use crate::helpers::spawn_app;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn assert_wrong_version(
    status: StatusCode,
    reply: &Value,
    stream: &str,
    expected: u64,
    actual: u64,
) {
    assert_eq!(status, StatusCode::CONFLICT, "{reply}");
    assert_eq!(reply["error"], "wrong_expected_version", "{reply}");
    assert!(reply["message"].is_string());
    assert_eq!(reply["stream"], stream, "{reply}");
    assert_eq!(reply["expected"].as_u64(), Some(expected), "{reply}");
    assert_eq!(reply["actual"].as_u64(), Some(actual), "{reply}");
}

#[tokio::test]
async fn expected_version_0_creates_a_stream_and_each_append_checks_the_version() {
    let app = spawn_app().await;
    let reply = app
        .publish_ok(json!({"type": "PostCreated", "stream": "post-p1", "expected_version": 0}))
        .await;
    assert_eq!(reply["version"], 1);
    let reply = app
        .publish_ok(json!({"type": "PostRenamed", "stream": "post-p1", "expected_version": 1}))
        .await;
    assert_eq!(reply["version"], 2);
    assert_eq!(reply["seq"], 2);
}

#[tokio::test]
async fn a_conflict_is_409_with_stream_expected_and_actual_and_appends_nothing() {
    let app = spawn_app().await;
    for _ in 0..2 {
        app.publish_ok(json!({"type": "A", "stream": "post-p1"}))
            .await;
    }
    let (status, reply) = app
        .publish(json!({"type": "A", "stream": "post-p1", "expected_version": 0}))
        .await;
    assert_wrong_version(status, &reply, "post-p1", 0, 2);
    let (status, reply) = app
        .publish(json!({"type": "A", "stream": "post-p1", "expected_version": 5}))
        .await;
    assert_wrong_version(status, &reply, "post-p1", 5, 2);
    let (status, reply) = app
        .publish(json!({"type": "A", "stream": "nope", "expected_version": 1}))
        .await;
    assert_wrong_version(status, &reply, "nope", 1, 0);
    app.assert_unchanged(2, "version conflicts").await;
    let (status, _) = app.get_json("/streams/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn inside_an_array_it_is_checked_after_the_arrays_earlier_events() {
    let app = spawn_app().await;
    let replies = app
        .publish_ok(json!([
            {"type": "A", "stream": "s", "expected_version": 0},
            {"type": "A", "stream": "t"},
            {"type": "A", "stream": "s", "expected_version": 1},
            {"type": "A", "stream": "s", "expected_version": 2},
            {"type": "A", "stream": "t", "expected_version": 1},
        ]))
        .await;
    let versions: Vec<_> = replies
        .as_array()
        .expect("replies")
        .iter()
        .map(|r| r["version"].as_u64())
        .collect();
    assert_eq!(versions, [Some(1), Some(1), Some(2), Some(3), Some(2)]);

    // The second event expects the version before the first: refused, whole array.
    let (status, reply) = app
        .publish(json!([
            {"type": "A", "stream": "s", "expected_version": 3},
            {"type": "A", "stream": "s", "expected_version": 3},
        ]))
        .await;
    assert_wrong_version(status, &reply, "s", 3, 4);
    assert_eq!(
        reply["message"],
        "event 1: stream s is at version 4 (counting this array's earlier events on it), not 3"
    );
    app.assert_unchanged(5, "an array conflicting with itself")
        .await;
    // The array's first event conflicts with the store: named, nothing said of the array.
    let (status, reply) = app
        .publish(json!([{"type": "A"}, {"type": "A", "stream": "s", "expected_version": 9}]))
        .await;
    assert_wrong_version(status, &reply, "s", 9, 3);
    assert_eq!(reply["message"], "event 1: stream s is at version 3, not 9");
}

#[tokio::test]
async fn versions_increase_by_one_per_stream() {
    let app = spawn_app().await;
    let mut expected = std::collections::HashMap::new();
    for i in 0..30u64 {
        let stream = ["post-a", "post-b", "comment-c"][(i % 3) as usize];
        let body = if i % 5 == 0 {
            json!([{"type": "A", "stream": stream}, {"type": "Other"}])
        } else {
            json!({"type": "A", "stream": stream})
        };
        let reply = app.publish_ok(body).await;
        let reply = if reply.is_array() {
            reply[0].clone()
        } else {
            reply
        };
        let version = expected.entry(stream).or_insert(0u64);
        *version += 1;
        assert_eq!(reply["version"].as_u64(), Some(*version), "{stream} #{i}");
    }
    for (stream, last) in expected {
        let events = app.get_array(&format!("/streams/{stream}")).await;
        let versions: Vec<_> = events.iter().map(|e| e["version"].as_u64()).collect();
        assert_eq!(versions, (1..=last).map(Some).collect::<Vec<_>>());
        assert!(events.iter().all(|e| e["stream"] == stream));
    }
}
