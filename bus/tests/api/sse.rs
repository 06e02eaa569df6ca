//! `GET /events/stream`: history after a seq, then live, resumable with `Last-Event-ID`.

use crate::helpers::{publish_types, spawn_app, SseClient, SseMessage};
use futures_util::StreamExt;
use serde_json::json;

fn seqs_of(messages: &[SseMessage]) -> Vec<u64> {
    messages
        .iter()
        .map(|m| {
            assert_eq!(
                m.event, None,
                "no event: field, so onmessage sees every type"
            );
            m.seq()
        })
        .collect()
}

#[tokio::test]
async fn history_after_n_then_live_events_in_order() {
    let app = spawn_app().await;
    publish_types(&app, &["A", "B", "C", "D", "E"]).await;
    let mut sse = SseClient::connect(&app, "after=2", None).await;
    let history = sse.take(3).await;
    assert_eq!(seqs_of(&history), [3, 4, 5]);
    let envelope = history[0].envelope();
    assert_eq!(envelope["type"], "C");
    assert_eq!(envelope["data"], json!({"i": 2}), "the third event's data");
    assert!(envelope["id"].is_string() && envelope["time"].is_string());

    // Live: one at a time, then an array.
    app.publish_ok(json!({"type": "F"})).await;
    assert_eq!(seqs_of(&sse.take(1).await), [6]);
    app.publish_ok(json!([{"type": "G"}, {"type": "H"}, {"type": "I"}]))
        .await;
    let live = sse.take(3).await;
    assert_eq!(seqs_of(&live), [7, 8, 9]);
    let types: Vec<_> = live.iter().map(|m| m.envelope()["type"].clone()).collect();
    assert_eq!(types, ["G", "H", "I"]);
}

#[tokio::test]
async fn without_parameters_the_stream_starts_at_the_beginning() {
    let app = spawn_app().await;
    let mut sse = SseClient::connect(&app, "", None).await;
    publish_types(&app, &["A", "B"]).await;
    assert_eq!(seqs_of(&sse.take(2).await), [1, 2]);
}

#[tokio::test]
async fn reconnecting_with_last_event_id_continues_without_gap_or_repeat() {
    let app = spawn_app().await;
    publish_types(&app, &["A", "B", "C"]).await;
    let mut first = SseClient::connect(&app, "after=0", None).await;
    let seen = first.take(3).await;
    let last = seen.last().expect("a message").id.clone().expect("an id");
    drop(first);

    // Published while disconnected.
    publish_types(&app, &["D", "E"]).await;
    // Last-Event-ID wins over an `after` that would repeat or skip.
    let mut second = SseClient::connect(&app, "after=1", Some(&last)).await;
    assert_eq!(seqs_of(&second.take(2).await), [4, 5]);
    publish_types(&app, &["F"]).await;
    assert_eq!(seqs_of(&second.take(1).await), [6]);
    drop(second);

    let mut third = SseClient::connect(&app, "after=5", Some("2")).await;
    assert_eq!(seqs_of(&third.take(4).await), [3, 4, 5, 6]);
}

#[tokio::test]
async fn the_type_filter_keeps_only_those_types() {
    let app = spawn_app().await;
    publish_types(&app, &["A", "B", "C", "A"]).await;
    let mut sse = SseClient::connect(&app, "type=A&type=C", None).await;
    assert_eq!(seqs_of(&sse.take(3).await), [1, 3, 4]);
    publish_types(&app, &["B", "B", "C"]).await;
    assert_eq!(seqs_of(&sse.take(1).await), [7]);
    let mut after = SseClient::connect(&app, "type=B&after=5", None).await;
    assert_eq!(seqs_of(&after.take(1).await), [6]);
}

#[tokio::test]
async fn many_events_behind_are_all_served_in_order() {
    let app = spawn_app().await;
    let array: Vec<_> = (0..1000).map(|i| json!({"type": "A", "data": i})).collect();
    app.publish_ok(json!(array)).await;
    app.publish_ok(json!(array)).await;
    let mut sse = SseClient::connect(&app, "after=10", None).await;
    let got = seqs_of(&sse.take(1990).await);
    assert_eq!(got, (11..=2000).collect::<Vec<_>>());
}

#[tokio::test]
async fn multi_line_data_survives_the_event_stream() {
    let app = spawn_app().await;
    let data = "{\n  \"b\": 1.50,\n  \"a\": [1e3, -0]\n}";
    let (status, _) = app
        .publish_raw(
            format!("{{\"type\":\"A\",\"data\":{data}}}"),
            "application/json",
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    let mut sse = SseClient::connect(&app, "", None).await;
    let message = sse.next().await;
    assert_eq!(message.seq(), 1);
    assert!(message.data.contains(data), "{:?}", message.data);
}

#[tokio::test]
async fn data_with_carriage_returns_still_arrives_as_the_envelope() {
    let app = spawn_app().await;
    let (status, _) = app
        .publish_raw(
            "{\"type\":\"A\",\"data\":{\r\n\"a\":\r1,\r\n\"b\": [2]}}",
            "application/json",
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    let mut sse = SseClient::connect(&app, "", None).await;
    let message = sse.next().await;
    assert_eq!(message.seq(), 1);
    assert_eq!(message.envelope()["data"], json!({"a": 1, "b": [2]}));
}

/// The stream opens with `retry: 1000`, so a client whose stream ends (the bus restarts)
/// comes back after 1 s instead of a browser's default 3 s.
#[tokio::test]
async fn the_stream_begins_by_asking_for_a_reconnect_after_one_second() {
    let app = spawn_app().await;
    publish_types(&app, &["A"]).await;
    let answer = app
        .request(reqwest::Method::GET, "/events/stream")
        .send()
        .await
        .expect("GET /events/stream");
    let mut body = answer.bytes_stream();
    let mut read = Vec::new();
    while !read.windows(2).any(|w| w == b"\n\n") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), body.next())
            .await
            .expect("the stream's first message in time")
            .expect("the stream goes on")
            .expect("a chunk");
        read.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(read).expect("UTF-8");
    let first = text.split("\n\n").next().expect("a first message");
    assert_eq!(first, "retry: 1000", "{text}");
}
