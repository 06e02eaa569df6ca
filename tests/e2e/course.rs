//! The course profile (`profiles/course.json`) with a subscriber in the style of the
//! course's query service, as a real Node.js process (`course/replaying_query.mjs`, written
//! for this test): it rebuilds its state from one `GET /events` at start and applies every
//! push without deduplicating. Under the profile's `delivery: "at_most_once"` it applies no
//! event twice across its own restart and a bus SIGKILL mid-flight, an event it answers 500
//! to is parked while later ones flow, and every event it did not apply is in its dead
//! letters: nothing is lost silently.

use crate::helpers::{eventually_within, BusProcess};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long the Node subscriber may take to listen and replay.
const NODE_START: Duration = Duration::from_secs(20);
/// How long delivery may take to reach the head.
const CATCH_UP: Duration = Duration::from_secs(60);

/// The course-style query service: a `node` child, killed on drop.
struct NodeQuery {
    child: Child,
    port: u16,
    http: reqwest::Client,
}

impl NodeQuery {
    /// Starts it on `port` (it replays from `bus_url`) and waits until its replay is applied.
    fn start(port: u16, bus_url: &str) -> Self {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/course/replaying_query.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .arg(port.to_string())
            .arg(bus_url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn node (Node.js is on every machine of our kind)");
        let stdout = child.stdout.take().expect("piped stdout");
        let rx = crate::helpers::stdout_lines(stdout);
        let mut query = Self {
            child,
            port,
            http: reqwest::Client::new(),
        };
        loop {
            let line = rx
                .recv_timeout(NODE_START)
                .unwrap_or_else(|e| panic!("the node subscriber did not replay: {e}"));
            if let Some(bound) = line.strip_prefix("listening ") {
                query.port = bound.parse().expect("a port");
            }
            if line.starts_with("replayed ") {
                return query;
            }
        }
    }

    /// The seqs it applied, in the order it applied them.
    async fn applied(&self) -> Vec<u64> {
        let url = format!("http://127.0.0.1:{}/applied", self.port);
        let reply = self.http.get(url).send().await.expect("GET /applied");
        reply.json().await.expect("a JSON array of seqs")
    }

    /// SIGKILL: its state is gone, as a restarted course service's is.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NodeQuery {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port the OS says is free now, for a subscriber that must come back on the same one.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("its address").port()
}

/// The profile's `query` entry, pointed at `port`, as a subscriptions file in `dir`.
fn course_profile_for_query(dir: &Path, port: u16) -> PathBuf {
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/course.json");
    let profile: Value = serde_json::from_str(&std::fs::read_to_string(profile).unwrap()).unwrap();
    let mut query = profile["query"].clone();
    assert_eq!(
        query["delivery"], "at_most_once",
        "the profile's query: {query}"
    );
    query["url"] = json!(format!("http://127.0.0.1:{port}/events"));
    let file = dir.join("subscriptions.json");
    std::fs::write(&file, json!({ "query": query }).to_string()).unwrap();
    file
}

async fn start_bus(data: &Path, subscriptions: &Path) -> BusProcess {
    let (data, subscriptions) = (data.to_path_buf(), subscriptions.to_path_buf());
    tokio::task::spawn_blocking(move || {
        let file = subscriptions.to_str().unwrap();
        BusProcess::start(&data, &["--subscriptions", file])
    })
    .await
    .unwrap()
}

/// An event as the course's services publish them; `n` picks the type.
fn course_event(n: u64) -> Value {
    let id = format!("{n:016x}");
    match n % 3 {
        0 => json!({"type": "PostCreated", "data": {"id": id, "title": format!("post {n}")}}),
        1 => json!({"type": "CommentCreated",
                    "data": {"id": id, "content": "hi", "postId": "p", "status": "pending"}}),
        _ => json!({"type": "CommentUpdated",
                    "data": {"id": id, "content": "hi", "postId": "p", "status": "approved"}}),
    }
}

async fn publish(bus: &BusProcess, event: &Value) -> u64 {
    let (status, body) = bus.api().publish(event).await.unwrap();
    assert_eq!(status, 201, "{body}");
    body["seq"].as_u64().unwrap()
}

async fn publish_many(bus: &BusProcess, from: u64, count: u64) {
    for n in from..from + count {
        publish(bus, &course_event(n)).await;
    }
}

/// Publishers of course events until `stop` is set; an error (the bus died) ends them.
fn publish_load(url: &str, stop: &Arc<AtomicBool>) -> Vec<tokio::task::JoinHandle<()>> {
    (0..4)
        .map(|i| {
            let (url, stop) = (format!("{url}/events"), stop.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut n = 1_000 * (i + 1);
                while !stop.load(Ordering::Relaxed) {
                    if http.post(&url).json(&course_event(n)).send().await.is_err() {
                        break;
                    }
                    n += 1;
                }
            })
        })
        .collect()
}

/// Waits until the query subscription's cursor reaches the head.
async fn caught_up(bus: &BusProcess) -> Value {
    let api = bus.api();
    eventually_within("query catches up", CATCH_UP, || {
        let api = api.clone();
        async move {
            let status = api.get_ok("/subscriptions/query").await;
            (status["cursor"] == status["head_seq"]).then_some(status)
        }
    })
    .await
}

/// Waits until the subscriber applied every seq of `wanted`; what it applied.
async fn until_applied(query: &NodeQuery, wanted: &BTreeSet<u64>) -> Vec<u64> {
    eventually_within("the subscriber applies them", CATCH_UP, || async {
        let applied = query.applied().await;
        let have: BTreeSet<u64> = applied.iter().copied().collect();
        wanted.is_subset(&have).then_some(applied)
    })
    .await
}

fn assert_no_repeat(applied: &[u64], when: &str) {
    let mut seen = HashSet::new();
    let repeats: Vec<u64> = applied
        .iter()
        .copied()
        .filter(|s| !seen.insert(*s))
        .collect();
    assert!(repeats.is_empty(), "{when}: applied twice: {repeats:?}");
}

async fn dead_letters(bus: &BusProcess) -> Vec<Value> {
    match bus.api().get_ok("/subscriptions/query/dead-letters").await {
        Value::Array(letters) => letters,
        other => panic!("dead letters: {other}"),
    }
}

async fn all_seqs(bus: &BusProcess) -> BTreeSet<u64> {
    let events = bus.api().events().await;
    events.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaying_subscriber_applies_nothing_twice_across_its_restart_and_a_bus_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bus");
    let port = free_port();
    let subscriptions = course_profile_for_query(dir.path(), port);
    let mut bus = start_bus(&data, &subscriptions).await;
    let query = NodeQuery::start(port, bus.url());

    // Pushes flow; one the subscriber fails on is parked and the later ones still come.
    publish_many(&bus, 0, 20).await;
    let poison = publish(
        &bus,
        &json!({"type": "CommentCreated", "data": {"poison": true}}),
    )
    .await;
    publish_many(&bus, 20, 5).await;
    let mut wanted = all_seqs(&bus).await;
    wanted.remove(&poison);
    assert_no_repeat(&until_applied(&query, &wanted).await, "first run");
    caught_up(&bus).await;
    let letters = eventually_within("the poison parked", CATCH_UP, || async {
        let letters = dead_letters(&bus).await;
        (!letters.is_empty()).then_some(letters)
    })
    .await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(
        (
            letters[0]["seq"].as_u64(),
            letters[0]["last_status"].as_u64()
        ),
        (Some(poison), Some(500))
    );

    // Its own restart: what it missed while down, it gets from its replay, once.
    query.kill();
    publish_many(&bus, 25, 10).await;
    caught_up(&bus).await;
    let query = NodeQuery::start(port, bus.url());
    publish_many(&bus, 35, 5).await;
    let applied = until_applied(&query, &all_seqs(&bus).await).await;
    assert_no_repeat(&applied, "after its restart");

    // A bus SIGKILL while events are in flight to it, and a restart.
    let stop = Arc::new(AtomicBool::new(false));
    let load = publish_load(bus.url(), &stop);
    tokio::time::sleep(Duration::from_millis(fastrand::u64(100..400))).await;
    bus.kill();
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    bus = start_bus(&data, &subscriptions).await;
    publish_many(&bus, 40, 5).await;
    caught_up(&bus).await;

    // Nothing lost silently: each event ends applied, or parked where an operator sees it.
    let every = all_seqs(&bus).await;
    let applied = eventually_within("every event applied or parked", CATCH_UP, || async {
        let applied = query.applied().await;
        let parked = dead_letters(&bus).await;
        let parked: BTreeSet<u64> = parked.iter().map(|l| l["seq"].as_u64().unwrap()).collect();
        let done: BTreeSet<u64> = applied.iter().copied().chain(parked).collect();
        every.is_subset(&done).then_some(applied)
    })
    .await;
    assert_no_repeat(&applied, "across the bus's SIGKILL");
    let events = all_seqs(&bus).await.len();
    assert!(
        events > 50,
        "the load published during the crash: {events} events"
    );
}
