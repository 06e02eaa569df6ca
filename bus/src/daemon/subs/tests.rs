//! Tests of the registry and its loops together: a real sled log in a temp dir, real HTTP
//! subscribers on loopback, bounded polls.

use super::backend::Backend;
use super::deliverer::{Deliverer, Step};
use super::delivery_thread::DeliveryThread;
use super::store::{StoredCursor, StoredSub, SubStore};
use super::{SubError, Subscription, Subscriptions};
use crate::daemon::metrics::Metrics;
use crate::daemon::store::{encode, EventLog, NewRecord, RecordFields, SledLog};
use crate::wire::SubscriptionSpec;
use axum::http::{HeaderMap, StatusCode};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

mod at_most_once;

/// How long a bounded poll waits.
const PATIENCE: Duration = Duration::from_secs(10);

/// Polls `check` until it holds, for at most [`PATIENCE`].
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A log in a fresh temp dir (kept alive by the returned guard).
fn open_log() -> (tempfile::TempDir, SledLog) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (log, _) = SledLog::open(dir.path(), 16).expect("open the log");
    (dir, log)
}

/// Appends one event of each type in `types`, durably; returns the last seq.
fn append(log: &dyn EventLog, types: &[&str]) -> u64 {
    let first = log.last_seq().expect("head") + 1;
    let records: Vec<NewRecord> = (first..)
        .zip(types)
        .map(|(seq, ty)| {
            let id = format!("id-{seq}");
            let json = format!(r#"{{"id":"{id}","type":"{ty}","seq":{seq},"data":{{}}}}"#);
            let fields = RecordFields {
                time_ms: chrono::Utc::now().timestamp_millis(),
                version: 0,
                ty,
                stream: "",
                id: &id,
                source: "",
            };
            NewRecord {
                seq,
                raw: encode(&fields, json.as_bytes()),
                id,
                stream: None,
            }
        })
        .collect();
    log.append(&records, false).expect("append");
    log.flush().expect("flush");
    log.last_seq().expect("head")
}

/// A subscriber on loopback that answers 204 and forwards each request's last seq.
async fn subscriber() -> (String, mpsc::UnboundedReceiver<u64>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |headers: HeaderMap| {
            let seq = headers
                .get("minibus-seq")
                .and_then(|v| v.to_str().ok()?.parse().ok());
            let _ = tx.send(seq.unwrap_or(0));
            async { StatusCode::NO_CONTENT }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

/// What `rx` holds now.
fn drain(rx: &mut mpsc::UnboundedReceiver<u64>, into: &mut Vec<u64>) -> usize {
    while let Ok(seq) = rx.try_recv() {
        into.push(seq);
    }
    into.len()
}

/// The backend over `log`, its head at `head`.
fn backend(log: Arc<dyn EventLog>, db: &sled::Db, head: u64) -> (Backend, watch::Sender<u64>) {
    let (durable_tx, durable) = watch::channel(head);
    let backend = Backend {
        log_id: log.log_id().to_string(),
        store: SubStore::open(db).expect("subscription trees"),
        log,
        metrics: Metrics::new(),
        durable,
        spin: Duration::ZERO,
        allow_hosts: Vec::new(),
        fatal: tokio_util::sync::CancellationToken::new(),
    };
    (backend, durable_tx)
}

fn spec(url: &str, types: &[&str]) -> SubscriptionSpec {
    SubscriptionSpec {
        types: types.iter().map(|t| t.to_string()).collect(),
        ..SubscriptionSpec::new(url)
    }
}

/// How many of this process's threads are named `name` (`/proc` keeps 15 bytes of a name).
fn threads_named(name: &str) -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_registry_without_stop_ends_the_delivery_thread() {
    let (_dir, log) = open_log();
    let db = log.db().clone();
    let head = append(&log, &["A", "B"]);
    let (backend, _durable) = backend(Arc::new(log), &db, head);
    let delivery = DeliveryThread::start("t-drop-loop", "t-drop-read").expect("thread");
    let subs = Subscriptions::open(backend, delivery).expect("registry");
    let (url, mut received) = subscriber().await;
    subs.put("s", spec(&url, &[])).expect("put");
    let mut seqs = Vec::new();
    eventually("both events arrived", || {
        drain(&mut received, &mut seqs) == 2
    })
    .await;
    assert_eq!(threads_named("t-drop-loop"), 1);
    assert!(threads_named("t-drop-read") >= 1, "reads ran on the pool");

    drop(subs);

    eventually("the loops' thread ended", || {
        threads_named("t-drop-loop") == 0
    })
    .await;
    eventually("the read threads ended", || {
        threads_named("t-drop-read") == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_that_fails_to_load_ends_its_delivery_thread() {
    let (_dir, log) = open_log();
    let db = log.db().clone();
    let (backend, _durable) = backend(Arc::new(log), &db, 0);
    store_subscription(&backend.store, "a", "http://127.0.0.1:9/", &[]);
    // Stored after `a`: loading fails partway, with the thread already running.
    db.open_tree("subscriptions")
        .and_then(|tree| tree.insert("b", "not json"))
        .expect("a damaged setting");
    let delivery = DeliveryThread::start("t-fail-loop", "t-fail-read").expect("thread");
    // The thread names itself once it runs.
    eventually("the loops' thread started", || {
        threads_named("t-fail-loop") == 1
    })
    .await;

    let refused = Subscriptions::open(backend, delivery).err();

    assert!(matches!(refused, Some(SubError::Store(_))), "{refused:?}");
    eventually("the loops' thread ended", || {
        threads_named("t-fail-loop") == 0
    })
    .await;
}

/// Blocks until `gate` opens (bounded, so that a failing test cannot hang a thread forever).
fn wait_for_gate(gate: &(Mutex<bool>, Condvar)) {
    let (open, opened) = gate;
    let guard = open.lock().expect("gate");
    let _ = opened.wait_timeout_while(guard, PATIENCE * 3, |open| !*open);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_stuck_reading_the_store_does_not_stall_the_others() {
    let (_dir, log) = open_log();
    let db = log.db().clone();
    let head = append(&log, &["slow", "fast", "slow", "fast", "other", "fast"]);
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    // The real log, with the scans of the type "slow" stuck until the gate opens.
    let stuck = gate.clone();
    log.before_scan(move |filter| {
        if filter.types.iter().any(|t| t == "slow") {
            wait_for_gate(&stuck);
        }
    });
    let (backend, durable) = backend(Arc::new(log), &db, head);
    let delivery = DeliveryThread::start("t-slow-loop", "t-slow-read").expect("thread");
    let subs = Subscriptions::open(backend, delivery).expect("registry");
    let (slow_url, mut slow_received) = subscriber().await;
    let (fast_url, mut fast_received) = subscriber().await;
    let (all_url, mut all_received) = subscriber().await;
    subs.put("slow", spec(&slow_url, &["slow"])).expect("put");
    subs.put("fast", spec(&fast_url, &["fast"])).expect("put");
    subs.put("all", spec(&all_url, &[])).expect("put");
    let (mut fast, mut all, mut slow) = (Vec::new(), Vec::new(), Vec::new());
    eventually("the others delivered", || {
        drain(&mut fast_received, &mut fast) == 3 && drain(&mut all_received, &mut all) == 6
    })
    .await;
    // And they go on delivering what is published next.
    let head = append(subs.backend.log.as_ref(), &["fast"]);
    durable.send_replace(head);
    eventually("the next event arrived", || {
        drain(&mut fast_received, &mut fast) == 4 && drain(&mut all_received, &mut all) == 7
    })
    .await;
    assert_eq!(fast, [2, 4, 6, 7]);
    assert_eq!(
        drain(&mut slow_received, &mut slow),
        0,
        "the slow one is stuck"
    );
    assert_eq!(subs.status("slow").expect("status").cursor, 0);

    *gate.0.lock().expect("gate") = true;
    gate.1.notify_all();
    eventually("the slow one delivered", || {
        drain(&mut slow_received, &mut slow) == 2
    })
    .await;
    assert_eq!(slow, [1, 3]);
    subs.stop().await;
}

/// Stores a subscription `name` to `types` at `url`, at cursor 0 of generation 1; its
/// settings as stored.
fn store_subscription(store: &SubStore, name: &str, url: &str, types: &[&str]) -> StoredSub {
    let stored = StoredSub {
        spec: spec(url, types),
        paused: None,
        blocked: None,
        blocked_after: None,
    };
    let start = StoredCursor {
        generation: 1,
        after: 0,
        delivered: 0,
    };
    store.save(name, &stored, Some(start)).expect("save");
    stored
}

/// A loop of its own, not started, over a subscription to `types` stored at cursor 0.
fn deliverer(backend: Backend, url: &str, types: &[&str]) -> Deliverer {
    let stored = store_subscription(&backend.store, "s", url, types);
    let subscription = Subscription::new(
        "s".into(),
        stored,
        &backend.metrics,
        tokio_util::sync::CancellationToken::new(),
    );
    Deliverer::new(Arc::new(subscription), Arc::new(backend))
}

#[tokio::test]
async fn a_step_over_events_that_do_not_match_says_it_passed_them() {
    let (_dir, log) = open_log();
    let db = log.db().clone();
    let head = append(&log, &["other", "other", "wanted", "other"]);
    let (backend, _durable) = backend(Arc::new(log), &db, head);
    let (url, mut received) = subscriber().await;
    let mut loop_ = deliverer(backend, &url, &["wanted"]);

    assert_eq!(
        loop_.deliver_once().await.expect("step"),
        Step::Delivered { up_to: 4 },
        "the one match, and the non-matching tail with it"
    );
    assert_eq!(received.recv().await, Some(3));
    assert_eq!(
        loop_.deliver_once().await.expect("step"),
        Step::NothingPending
    );
}

#[tokio::test]
async fn a_step_that_sends_nothing_is_not_a_delivery() {
    let (_dir, log) = open_log();
    let db = log.db().clone();
    let head = append(&log, &["other", "other"]);
    let (backend, _durable) = backend(Arc::new(log), &db, head);
    // Nothing listens there: the step must not try.
    let mut loop_ = deliverer(backend, "http://127.0.0.1:9/", &["wanted"]);

    assert_eq!(
        loop_.deliver_once().await.expect("step"),
        Step::Passed { up_to: 2 }
    );
    assert_eq!(
        loop_.deliver_once().await.expect("step"),
        Step::NothingPending
    );
}
