//! The daemon's lifecycle: however `run` returns, an early error included, it leaves none
//! of its threads behind and the store's lock free, so the same data dir opens again at
//! once.
//!
//! A test binary of its own: it counts the process's threads by name, which the API tests,
//! running daemons side by side, would disturb. Its own tests take turns for the same
//! reason.

#![cfg(feature = "daemon")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bus::daemon::{run, BusConfig, DaemonError};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The names the daemon gives its threads.
const DAEMON_THREADS: [&str; 3] = ["minibus-writer", "minibus-flusher", "minibus-delivery"];

/// Linux keeps the first 15 bytes of a thread's name (`minibus-deliver`).
const COMM_BYTES: usize = 15;

/// How long anything may take before the test fails (a bound against hangs, not a timing).
const PATIENCE: Duration = Duration::from_secs(10);

/// One test at a time: each counts every thread of the process.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The names of this process's threads that belong to a daemon.
fn daemon_threads() -> Vec<String> {
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|comm| comm.trim_end().to_string())
        .filter(|comm| {
            DAEMON_THREADS
                .iter()
                .any(|name| name.as_bytes()[..name.len().min(COMM_BYTES)] == *comm.as_bytes())
        })
        .collect()
}

/// Waits (at most [`PATIENCE`]) until no daemon thread is left; the ones left otherwise.
async fn daemon_threads_gone() -> Result<(), Vec<String>> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = daemon_threads();
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(left);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Opens the store in `dir` with sled itself, at once: fails while anyone holds its lock.
fn open_again(dir: &Path) {
    let db = sled::Config::new()
        .path(dir)
        .open()
        .expect("the store opens again at once: its lock is free");
    drop(db);
}

async fn loopback() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    (listener, addr)
}

/// Runs a daemon that is expected to stop by itself (an error at start); what it returned.
async fn run_until_it_returns(listener: TcpListener, config: BusConfig) -> Result<(), DaemonError> {
    tokio::time::timeout(PATIENCE, run(listener, config, CancellationToken::new()))
        .await
        .expect("run returns")
}

#[tokio::test]
async fn a_refused_static_subscription_stops_everything_run_started() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let data_dir = dir.path().join("bus");
    let (listener, addr) = loopback().await;
    let mut config = BusConfig::new(addr, data_dir.clone());
    // Valid settings, so `check` lets it through; refused when it is created, for its
    // `start` is beyond the head of the empty log.
    let file = dir.path().join("subscriptions.json");
    let spec = r#"{"query": {"url": "http://127.0.0.1:9/events", "start": {"after": 5}}}"#;
    std::fs::write(&file, spec).expect("write the subscriptions file");
    config.subscriptions = Some(file);

    let ran = run_until_it_returns(listener, config).await;

    assert!(matches!(ran, Err(DaemonError::Config(_))), "{ran:?}");
    open_again(&data_dir);
    assert_eq!(daemon_threads_gone().await, Ok(()));
}

#[tokio::test]
async fn unreadable_stored_subscriptions_are_a_subscriptions_error_and_stop_everything() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let data_dir = dir.path().join("bus");
    // A bus store (a daemon made it, then stopped), whose subscriptions tree is then damaged.
    let (listener, addr) = loopback().await;
    let stopped = CancellationToken::new();
    stopped.cancel();
    let made = tokio::time::timeout(
        PATIENCE,
        run(listener, BusConfig::new(addr, data_dir.clone()), stopped),
    )
    .await
    .expect("run returns");
    assert!(made.is_ok(), "{made:?}");
    let db = sled::Config::new().path(&data_dir).open().expect("sled");
    db.open_tree("subscriptions")
        .and_then(|tree| tree.insert("query", "not json"))
        .expect("a damaged subscription");
    db.flush().expect("flush");
    drop(db);
    open_again(&data_dir);
    let (listener, addr) = loopback().await;

    let ran = run_until_it_returns(listener, BusConfig::new(addr, data_dir.clone())).await;

    assert!(
        matches!(ran, Err(DaemonError::Subscriptions { .. })),
        "{ran:?}"
    );
    open_again(&data_dir);
    assert_eq!(daemon_threads_gone().await, Ok(()));
}

#[tokio::test]
async fn a_daemon_that_served_stops_its_threads_and_frees_the_store() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let data_dir = dir.path().join("bus");
    let (listener, addr) = loopback().await;
    let shutdown = CancellationToken::new();
    let daemon = tokio::spawn(run(
        listener,
        BusConfig::new(addr, data_dir.clone()),
        shutdown.clone(),
    ));

    let published = reqwest::Client::new()
        .post(format!("http://{addr}/events"))
        .json(&serde_json::json!({"id": "e1", "type": "PostCreated", "data": {}}))
        .send()
        .await
        .expect("the bus answers");
    assert_eq!(published.status(), reqwest::StatusCode::CREATED);
    assert!(!daemon_threads().is_empty(), "the daemon's threads run");
    shutdown.cancel();
    let ran = tokio::time::timeout(PATIENCE, daemon)
        .await
        .expect("run returns")
        .expect("run does not panic");

    assert!(ran.is_ok(), "{ran:?}");
    open_again(&data_dir);
    assert_eq!(daemon_threads_gone().await, Ok(()));
}

/// Runs a daemon on `data_dir` while `during` talks to it at its address, then stops it;
/// what `during` found.
async fn with_daemon<F, Fut, T>(data_dir: &Path, during: F) -> T
where
    F: FnOnce(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let (listener, addr) = loopback().await;
    let shutdown = CancellationToken::new();
    let config = BusConfig::new(addr, data_dir.to_path_buf());
    let daemon = tokio::spawn(run(listener, config, shutdown.clone()));
    let found = during(addr).await;
    shutdown.cancel();
    let ran = tokio::time::timeout(PATIENCE, daemon)
        .await
        .expect("run returns")
        .expect("run does not panic");
    assert!(ran.is_ok(), "{ran:?}");
    found
}

async fn publish_events(addr: SocketAddr, count: usize) {
    let client = reqwest::Client::new();
    for i in 0..count {
        let published = client
            .post(format!("http://{addr}/events"))
            .json(&serde_json::json!({"id": format!("e{i}"), "type": "PostCreated", "data": {"i": i}}))
            .send()
            .await
            .expect("the bus answers");
        assert_eq!(published.status(), reqwest::StatusCode::CREATED);
    }
}

async fn stored_ids(addr: SocketAddr) -> Vec<String> {
    let events: Vec<serde_json::Value> = reqwest::get(format!("http://{addr}/events?limit=10000"))
        .await
        .expect("the bus answers")
        .json()
        .await
        .expect("a JSON array");
    events
        .iter()
        .map(|event| event["id"].as_str().expect("an id").to_string())
        .collect()
}

/// A store with events, then `planted` (an empty file) in its data dir: the bus starts and
/// every event is there.
async fn starts_despite_an_empty(planted: &str) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let data_dir = dir.path().join("bus");
    with_daemon(&data_dir, |addr| publish_events(addr, 50)).await;
    std::fs::write(data_dir.join(planted), b"").expect("plant the file");

    let ids = with_daemon(&data_dir, stored_ids).await;

    let expected: Vec<String> = (0..50).map(|i| format!("e{i}")).collect();
    assert_eq!(ids, expected);
    assert!(!data_dir.join(planted).exists(), "{planted} is removed");
}

/// sled picks the newest snapshot by name: this one sorts after any it wrote.
#[tokio::test]
async fn an_unfinished_snapshot_never_stops_a_start() {
    starts_despite_an_empty("snap.FFFFFFFFFFFFFFFF.generating").await;
}

#[tokio::test]
async fn an_empty_snapshot_never_stops_a_start() {
    starts_despite_an_empty("snap.FFFFFFFFFFFFFFFF").await;
}
