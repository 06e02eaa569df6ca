//! Crashes while the bus delivers: after SIGKILL and restart, each subscriber's received
//! seqs, duplicates removed, are exactly its matching seqs in order, and a seq repeats only
//! across a restart (never within one connection of one bus process). Delivery continues.
//! And what the command line says about delivery: `--allow-subscriber-hosts` over stored
//! subscriptions, failures logged at WARN.

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
    start_with(dir, &[]).await
}

/// Starts the bus over `dir` with `args` added to its command line.
async fn start_with(dir: &Path, args: &[&str]) -> BusProcess {
    let dir = PathBuf::from(dir);
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        BusProcess::start(&dir, &args)
    })
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

/// Waits until `name`'s status satisfies `probe`; that status.
async fn until_status(
    bus: &BusProcess,
    name: &str,
    what: &str,
    probe: impl Fn(&Value) -> bool,
) -> Value {
    let api = bus.api();
    let path = format!("/subscriptions/{name}");
    eventually_within(&format!("{name}: {what}"), Duration::from_secs(30), || {
        let (api, path, probe) = (api.clone(), path.clone(), &probe);
        async move {
            let status = api.get_ok(&path).await;
            probe(&status).then_some(status)
        }
    })
    .await
}

async fn publish_one(bus: &BusProcess) {
    let (status, body) = bus.api().publish(&json!({"type": "A"})).await.unwrap();
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_stored_subscription_to_a_host_no_longer_allowed_is_blocked_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (refused, allowed) = (FakeSubscriber::start().await, FakeSubscriber::start().await);
    let bus = start(dir.path()).await;
    subscribe(bus.url(), "refused", &refused.url, json!([]), 1).await;
    let via_localhost = allowed.url.replacen("127.0.0.1", "localhost", 1);
    subscribe(bus.url(), "allowed", &via_localhost, json!([]), 1).await;
    publish_one(&bus).await;
    caught_up(&bus, "refused").await;
    caught_up(&bus, "allowed").await;
    assert!(bus.terminate().success());

    let bus = start_with(dir.path(), &["--allow-subscriber-hosts", "localhost"]).await;
    let status = until_status(&bus, "refused", "blocked", |s| s["state"] == "blocked").await;
    let error = status["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("127.0.0.1") && error.contains("--allow-subscriber-hosts"),
        "{error}"
    );
    publish_one(&bus).await;
    caught_up(&bus, "allowed").await;
    let status = bus.api().get_ok("/subscriptions/refused").await;
    assert_eq!(
        (status["state"].as_str(), status["cursor"].as_u64()),
        (Some("blocked"), Some(1)),
        "{status}"
    );
    assert_eq!(
        refused.seqs(),
        [1],
        "nothing sent to a host no longer allowed"
    );
    assert_eq!(allowed.seqs(), [1, 2]);
    assert!(
        bus.stderr().contains("subscription blocked"),
        "{}",
        bus.stderr()
    );
}

#[tokio::test]
async fn delivery_failures_are_logged_at_warn_once_per_window() {
    let dir = tempfile::tempdir().unwrap();
    let bus = start(dir.path()).await;
    // A port nothing listens on: every attempt fails at once.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("http://{}/events", listener.local_addr().unwrap());
    drop(listener);
    let response = reqwest::Client::new()
        .put(format!("{}/subscriptions/down", bus.url()))
        .json(&json!({"url": target, "retry": {"initial_ms": 1, "max_ms": 5}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    publish_one(&bus).await;
    until_status(&bus, "down", "20 failed attempts", |s| {
        s["attempts"].as_u64().is_some_and(|a| a >= 20)
    })
    .await;
    let stderr = bus.stderr();
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("delivery failed"))
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "one WARN for 20 failures within seconds:\n{stderr}"
    );
    for field in [
        "WARN",
        "subscription",
        "down",
        "seq",
        "attempt",
        "cannot connect",
    ] {
        assert!(warnings[0].contains(field), "{field} in {}", warnings[0]);
    }
}
