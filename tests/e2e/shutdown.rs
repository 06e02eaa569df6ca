//! How fast a bus with nothing in flight stops: SIGTERM to exit well under a second.

use crate::helpers::{new_event, BusProcess};
use bus::testkit::FakeSubscriber;
use serde_json::json;
use std::time::{Duration, Instant};

/// An idle bus exits within ~10 ms of SIGTERM on a quiet machine; 500 ms leaves room for a
/// loaded CI machine and still tells it apart from a stop that waits out a grace period it
/// does not need (the deliveries' 1 s is for a delivery in flight, the drain's 5 s for a
/// request in flight).
const IDLE_EXIT: Duration = Duration::from_millis(500);

/// A bus that delivered to a subscriber and served a client that keeps its connection open,
/// then went idle, exits 0 within [`IDLE_EXIT`] of SIGTERM.
#[tokio::test]
async fn an_idle_bus_exits_at_once_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || BusProcess::start(&dir, &[])
    })
    .await
    .expect("started");
    let api = bus.api();
    let subscriber = FakeSubscriber::start().await;
    let client = reqwest::Client::new();
    let created = client
        .put(format!("{}/subscriptions/query", bus.url()))
        .json(&json!({"url": subscriber.url}))
        .send()
        .await
        .expect("PUT /subscriptions/query");
    assert_eq!(created.status(), 201);
    for i in 0..3 {
        let (status, _) = api
            .publish(&new_event(json!({"i": i}), None))
            .await
            .expect("publish");
        assert!(status.is_success(), "{status}");
    }
    subscriber.until("every event", |got| got.len() >= 3).await;

    let (status, took) = tokio::task::spawn_blocking(move || {
        let asked = Instant::now();
        let status = bus.terminate();
        (status, asked.elapsed())
    })
    .await
    .expect("SIGTERM");

    assert_eq!(status.code(), Some(0), "{status}");
    assert!(took < IDLE_EXIT, "exited {took:?} after SIGTERM");
    drop(client);
}
