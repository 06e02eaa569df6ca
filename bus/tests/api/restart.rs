//! Restart: a graceful stop and a new daemon on the same data dir keep everything.

use crate::helpers::{eventually, seqs, spawn_app, SseClient};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[tokio::test]
async fn a_restarted_bus_keeps_its_log_id_and_events_and_continues_at_head_plus_one() {
    let app = spawn_app().await;
    app.publish_ok(
        json!({"id": "p1", "type": "PostCreated", "stream": "post-p1", "source": "posts"}),
    )
    .await;
    let array: Vec<_> = (0..50)
        .map(|i| json!({"id": format!("e{i}"), "type": "A", "data": {"i": i}}))
        .collect();
    app.publish_ok(json!(array)).await;
    app.publish_ok(json!({"id": "p1-renamed", "type": "PostRenamed", "stream": "post-p1"}))
        .await;
    let before_info = app.info().await;
    let before_events = app.events().await;
    assert_eq!(before_events.len(), 52);

    let app = app.restart().await;
    let info = app.info().await;
    assert_eq!(info["log_id"], before_info["log_id"]);
    assert_eq!(info["head_seq"], 52);
    assert_eq!(app.events().await, before_events);

    // Publishing continues at head + 1, and streams at their next version.
    let reply = app.publish_ok(json!({"type": "After"})).await;
    assert_eq!(reply["seq"], 53);
    let reply = app
        .publish_ok(json!({"type": "PostRenamed", "stream": "post-p1", "expected_version": 2}))
        .await;
    assert_eq!(reply["seq"], 54);
    assert_eq!(reply["version"], 3);

    // Idempotency holds across the restart.
    let (status, again) = app
        .publish(json!({"id": "p1", "type": "PostCreated", "stream": "post-p1", "source": "posts", "expected_version": 0}))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again, json!({"seq": 1, "id": "p1", "version": 1}));
    let (status, again) = app.publish(json!(array)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again[49]["seq"], 51);
    let (status, conflict) = app.publish(json!({"id": "e3", "type": "B"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(conflict["error"], "id_conflict");

    // And once more, with the new events.
    let app = app.restart().await;
    assert_eq!(app.info().await["log_id"], before_info["log_id"]);
    assert_eq!(seqs(&app.events().await), (1..=54).collect::<Vec<_>>());
    assert_eq!(app.publish_ok(json!({"type": "Again"})).await["seq"], 55);
}

#[tokio::test]
async fn an_empty_store_restarts_empty_with_the_same_log_id() {
    let app = spawn_app().await;
    let log_id = app.info().await["log_id"].clone();
    let app = app.restart().await;
    let info = app.info().await;
    assert_eq!(info["log_id"], log_id);
    assert_eq!(info["head_seq"], 0);
    assert_eq!(app.publish_ok(json!({"type": "First"})).await["seq"], 1);
}

#[tokio::test]
async fn a_live_event_stream_does_not_hold_up_a_graceful_stop() {
    let app = spawn_app().await;
    app.publish_ok(json!({"type": "A"})).await;
    let mut sse = SseClient::connect(&app, "", None).await;
    assert_eq!(sse.next().await.seq(), 1);
    // `stop` fails the test if the daemon does not stop within its patience bound.
    let app = app.restart().await;
    assert_eq!(app.head().await, 1);
}

#[tokio::test]
async fn readers_that_stop_reading_do_not_hold_up_a_stop() {
    let app = spawn_app().await;
    let big = "x".repeat(4_000);
    for _ in 0..10 {
        let batch: Vec<_> = (0..1_000)
            .map(|_| json!({"type": "A", "data": big}))
            .collect();
        app.publish_ok(serde_json::Value::Array(batch)).await;
    }
    // ~40 MB of history each, far more than the sockets buffer: neither body can finish.
    let stalled_sse = app
        .request(reqwest::Method::GET, "/events/stream")
        .send()
        .await
        .unwrap();
    let stalled_read = app
        .request(reqwest::Method::GET, "/events")
        .send()
        .await
        .unwrap();
    assert!(stalled_sse.status().is_success() && stalled_read.status().is_success());
    // `stop` fails the test if the daemon does not stop within its patience bound; the
    // daemon cuts such connections off DRAIN_TIMEOUT after shutdown begins.
    app.stop().await;
    drop((stalled_sse, stalled_read));
}

/// Publishers keep going while the daemon stops: every acknowledged event is there after
/// the restart at the seq its reply gave, and the log is gapless.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_under_load_keeps_every_acknowledged_event() {
    let app = spawn_app().await;
    // Set once the new daemon is up, so that no publisher outlives the test.
    let done = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for p in 0..16 {
        let (client, url) = (app.client.clone(), app.at("/events"));
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0.. {
                if done.load(Ordering::Relaxed) {
                    break;
                }
                let id = format!("p{p}-{i}");
                let body = json!({"id": id, "type": "Load"});
                let Ok(answer) = client.post(&url).json(&body).send().await else {
                    break;
                };
                if answer.status() != StatusCode::CREATED {
                    break;
                }
                let Ok(reply) = answer.json::<serde_json::Value>().await else {
                    break;
                };
                acked.push((id, reply["seq"].as_u64().expect("a seq")));
            }
            acked
        }));
    }
    // Stop while the load is on: once a few hundred events are in.
    eventually("300 events published", || async {
        (app.head().await >= 300).then_some(())
    })
    .await;
    let app = app.restart().await;
    done.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    for task in tasks {
        acked.extend(task.await.expect("a publisher finished"));
    }
    assert!(acked.len() >= 300);
    let events = app.events().await;
    assert_eq!(
        seqs(&events),
        (1..=events.len() as u64).collect::<Vec<_>>(),
        "gapless"
    );
    for (id, seq) in &acked {
        let event = events
            .get(usize::try_from(*seq).expect("small") - 1)
            .unwrap_or_else(|| panic!("acknowledged seq {seq} ({id}) is lost"));
        assert_eq!(
            event["id"],
            id.as_str(),
            "{id} is at the seq its reply gave"
        );
    }
    let next = events.len() as u64 + 1;
    assert_eq!(
        app.publish_ok(json!({"type": "After"})).await["seq"].as_u64(),
        Some(next)
    );
}
