//! `GET /events` over a large log returns it all, in order, streamed.

use crate::helpers::spawn_app;
use reqwest::StatusCode;
use serde::Deserialize;
use std::fmt::Write;

/// The fields checked; the rest of each envelope is skipped while parsing.
#[derive(Deserialize)]
struct Seen {
    seq: u64,
    id: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_events_over_100000_events_returns_all_in_order() {
    const EVENTS: u64 = 100_000;
    const ARRAY: u64 = 1_000;
    let app = spawn_app().await;
    for a in 0..EVENTS / ARRAY {
        // Built as text: this test is about the read, so publishing stays cheap.
        let mut body = String::with_capacity(64 * ARRAY as usize);
        for i in 0..ARRAY {
            body.push(if i == 0 { '[' } else { ',' });
            let n = a * ARRAY + i;
            write!(body, r#"{{"id":"big-{n}","type":"Big","data":{i}}}"#).expect("a String");
        }
        body.push(']');
        let (status, replies) = app.publish_raw(body, "application/json").await;
        assert_eq!(status, StatusCode::CREATED, "{replies}");
        assert_eq!(replies[0]["seq"].as_u64(), Some(a * ARRAY + 1));
    }
    let answer = app
        .client
        .get(app.at("/events"))
        .send()
        .await
        .expect("GET /events");
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        answer.headers().get("content-length").is_none(),
        "the whole log is streamed, not buffered into one sized body"
    );
    let text = answer.text().await.expect("the body");
    let events: Vec<Seen> = serde_json::from_str(&text).expect("one JSON array");
    assert_eq!(events.len() as u64, EVENTS);
    for (expected, event) in (1..).zip(&events) {
        assert_eq!(event.seq, expected, "in order, gapless");
        assert_eq!(event.id, format!("big-{}", expected - 1));
    }
}
