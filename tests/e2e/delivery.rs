//! Crashes while the bus delivers: after SIGKILL and restart, each subscriber's received
//! seqs, duplicates removed, are exactly its matching seqs in order, and a seq repeats only
//! across a restart (never within one connection of one bus process). Delivery continues.

use crate::helpers::{eventually_within, BusProcess};
use bus::testkit::FakeSubscriber;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

async fn start(dir: &Path) -> BusProcess {
    let dir = PathBuf::from(dir);
    tokio::task::spawn_blocking(move || BusProcess::start(&dir, &[]))
        .await
        .unwrap()
}

/// Publishers of events of types A and B until `stop` is set; errors (a dead bus) end them.
fn publish_load(url: &str, stop: &Arc<AtomicBool>) -> Vec<tokio::task::JoinHandle<()>> {
    (0..8)
        .map(|i| {
            let (url, stop) = (format!("{url}/events"), stop.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let ty = if (n + i).is_multiple_of(3) { "B" } else { "A" };
                    let event = json!({"type": ty, "id": uuid::Uuid::new_v4().to_string()});
                    if http.post(&url).json(&event).send().await.is_err() {
                        break;
                    }
                    n += 1;
                }
            })
        })
        .collect()
}

async fn subscribe(url: &str, name: &str, target: &str, types: Value, batch: u32) {
    let response = reqwest::Client::new()
        .put(format!("{url}/subscriptions/{name}"))
        .json(&json!({"url": target, "types": types, "batch": batch, "retry": {"initial_ms": 10, "max_ms": 100}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

/// Waits until `name`'s cursor reaches the head.
async fn caught_up(bus: &BusProcess, name: &str) {
    let api = bus.api();
    eventually_within(
        &format!("{name} catches up"),
        Duration::from_secs(60),
        || {
            let api = api.clone();
            async move {
                let status = api.get_ok(&format!("/subscriptions/{name}")).await;
                (status["cursor"] == status["head_seq"]).then_some(())
            }
        },
    )
    .await;
}

/// The seqs as received with repeats removed, and a check that no connection saw a repeat
/// or a step back.
fn deduplicated(subscriber: &FakeSubscriber) -> Vec<u64> {
    let received: Vec<(SocketAddr, u64)> = subscriber
        .received()
        .iter()
        .flat_map(|r| r.seqs.iter().map(|seq| (r.peer, *seq)))
        .collect();
    let mut last_on: BTreeMap<SocketAddr, u64> = BTreeMap::new();
    for (peer, seq) in &received {
        let last = last_on.entry(*peer).or_insert(0);
        assert!(
            *seq > *last,
            "seq {seq} after {last} on one connection of one bus process"
        );
        *last = *seq;
    }
    let mut seen = HashSet::new();
    received
        .iter()
        .map(|(_, s)| *s)
        .filter(|s| seen.insert(*s))
        .collect()
}

fn crash_rounds() -> usize {
    if std::env::var("MINIBUS_SOAK").as_deref() == Ok("1") {
        30
    } else {
        3
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_delivering_loses_and_reorders_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (all, only_b) = (FakeSubscriber::start().await, FakeSubscriber::start().await);
    let mut bus = start(dir.path()).await;
    subscribe(bus.url(), "all", &all.url, json!([]), 1).await;
    subscribe(bus.url(), "only-b", &only_b.url, json!(["B"]), 10).await;
    for _ in 0..crash_rounds() {
        let stop = Arc::new(AtomicBool::new(false));
        let load = publish_load(bus.url(), &stop);
        tokio::time::sleep(Duration::from_millis(fastrand::u64(50..300))).await;
        bus.kill();
        stop.store(true, Ordering::Relaxed);
        for task in load {
            task.await.unwrap();
        }
        bus = start(dir.path()).await;
    }
    // Delivery continues after the last restart.
    for i in 0..30 {
        let ty = if i % 2 == 0 { "A" } else { "B" };
        let (status, _) = bus.api().publish(&json!({"type": ty})).await.unwrap();
        assert_eq!(status, 201);
    }
    caught_up(&bus, "all").await;
    caught_up(&bus, "only-b").await;
    let events = bus.api().events().await;
    let every: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    let bs: Vec<u64> = events
        .iter()
        .filter(|e| e["type"] == "B")
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert!(!bs.is_empty() && bs.len() < every.len());
    assert_eq!(deduplicated(&all), every, "all: every seq once, in order");
    assert_eq!(deduplicated(&only_b), bs, "only-b: its seqs once, in order");
}
