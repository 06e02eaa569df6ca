//! `minibus posts` as a real process, SIGKILLed right after writes were answered `201`:
//! after a restart over its data dir, every answered post is in `GET /posts`, and its
//! `PostCreated` is in the bus's log exactly once (the outbox published it, before or after
//! the crash; the bus deduplicated a republish). No event names a post that is not stored.

use crate::helpers::{eventually_within, minibus, run_to_exit, BusProcess};
use crate::helpers::{ServiceProcess, ServiceSpec};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The line `minibus posts` prints on stdout once its store is open and its port bound.
const LISTENING: &str = "minibus posts listening on ";
/// Concurrent writers during each round.
const WRITERS: usize = 8;
/// Answered writes in a round before the SIGKILL.
const WRITES_PER_ROUND: usize = 40;

/// SIGKILL rounds: 3 in the normal suite, 30 with `MINIBUS_SOAK=1`.
fn rounds() -> usize {
    if std::env::var("MINIBUS_SOAK").as_deref() == Ok("1") {
        30
    } else {
        3
    }
}

/// Starts `minibus posts` on port 0 over `data_dir`, publishing to `bus_url`.
async fn start_posts(data_dir: &Path, bus_url: &str) -> ServiceProcess {
    ServiceProcess::start_async(&ServiceSpec::on_port_0("posts", bus_url, data_dir)).await
}

/// Every post answered `201`: its id and title.
type Answered = Arc<Mutex<HashMap<String, String>>>;

/// One writer: creates posts until posts goes away, recording each `201`.
async fn write_until_killed(url: String, writer: usize, answered: Answered) {
    let http = reqwest::Client::new();
    for n in 0.. {
        let title = format!("writer {writer} post {n}");
        let sent = http
            .post(format!("{url}/posts"))
            .json(&json!({ "title": title }))
            .send()
            .await;
        let Ok(answer) = sent else { return };
        assert_eq!(answer.status(), StatusCode::CREATED);
        let Ok(post) = answer.json::<Value>().await else {
            return;
        };
        let id = post["id"].as_str().expect("an id").to_string();
        answered.lock().unwrap().insert(id, title);
    }
}

/// GET `url` as JSON.
async fn get(url: &str) -> Value {
    let answer = reqwest::get(url).await.expect("GET");
    assert_eq!(answer.status(), StatusCode::OK, "{url}");
    answer.json().await.expect("JSON")
}

/// How many times each post id has a `PostCreated` in the bus's log.
async fn published(bus_url: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for event in get(&format!("{bus_url}/events"))
        .await
        .as_array()
        .expect("an array")
    {
        if event["type"] == "PostCreated" {
            let id = event["data"]["id"].as_str().expect("data.id").to_string();
            *counts.entry(id).or_default() += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_after_answered_writes_loses_no_post_and_publishes_each_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus_dir = dir.path().join("bus");
    let bus = tokio::task::spawn_blocking(move || BusProcess::start(&bus_dir, &[]))
        .await
        .expect("start the bus");
    let posts_dir = dir.path().join("posts");
    let answered: Answered = Arc::default();
    let mut posts = start_posts(&posts_dir, bus.url()).await;
    for _ in 0..rounds() {
        let before = answered.lock().unwrap().len();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| tokio::spawn(write_until_killed(posts.url().into(), w, answered.clone())))
            .collect();
        eventually_within("writes answered", Duration::from_secs(30), || async {
            (answered.lock().unwrap().len() >= before + WRITES_PER_ROUND).then_some(())
        })
        .await;
        posts.kill();
        for writer in writers {
            writer.await.expect("a writer panicked");
        }
        posts = start_posts(&posts_dir, bus.url()).await;
        check_every_answered_post_is_kept_and_published_once(posts.url(), bus.url(), &answered)
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_written_while_the_bus_is_down_survive_a_sigkill_and_are_published_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus_dir = dir.path().join("bus");
    let start_bus =
        |dir: PathBuf| tokio::task::spawn_blocking(move || BusProcess::start(&dir, &[]));
    let bus = start_bus(bus_dir.clone()).await.expect("start the bus");
    let posts_dir = dir.path().join("posts");
    let posts = start_posts(&posts_dir, bus.url()).await;
    bus.kill();

    // Each write waits a second for the bus, then answers 201 without Minibus-Seq.
    let answered: Answered = Arc::default();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(write_until_killed(posts.url().into(), w, answered.clone())))
        .collect();
    eventually_within("writes answered", Duration::from_secs(30), || async {
        (answered.lock().unwrap().len() >= 2 * WRITERS).then_some(())
    })
    .await;
    posts.kill();
    for writer in writers {
        writer.await.expect("a writer panicked");
    }

    let bus = start_bus(bus_dir).await.expect("start the bus again");
    let posts = start_posts(&posts_dir, bus.url()).await;
    check_every_answered_post_is_kept_and_published_once(posts.url(), bus.url(), &answered).await;
}

/// After a restart: every answered post is in `GET /posts` with its title; every stored
/// post's `PostCreated` reaches the log, exactly once; the log names no post not stored.
async fn check_every_answered_post_is_kept_and_published_once(
    posts_url: &str,
    bus_url: &str,
    answered: &Answered,
) {
    let stored = get(&format!("{posts_url}/posts")).await;
    let stored = stored.as_object().expect("an object").clone();
    for (id, title) in answered.lock().unwrap().iter() {
        let post = stored
            .get(id)
            .unwrap_or_else(|| panic!("answered post {id} is lost"));
        assert_eq!(post, &json!({"id": id, "title": title}));
    }
    let stored_ids: HashSet<&String> = stored.keys().collect();
    let counts = eventually_within("every post published", Duration::from_secs(30), || async {
        let counts = published(bus_url).await;
        stored_ids
            .iter()
            .all(|id| counts.contains_key(*id))
            .then_some(counts)
    })
    .await;
    for (id, count) in &counts {
        assert_eq!(*count, 1, "PostCreated of {id} is in the log {count} times");
        assert!(
            stored_ids.contains(id),
            "{id} was published but is not stored"
        );
    }
}

#[test]
fn a_weak_bus_token_is_refused_before_posts_listens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = minibus();
    cmd.args(["posts", "--listen", "127.0.0.1:0", "--bus-token", "short"])
        .arg("--data-dir")
        .arg(dir.path().join("posts"));
    let finished = run_to_exit(cmd);
    assert!(!finished.status.success());
    assert!(!finished.stdout.contains(LISTENING), "{}", finished.stdout);
    assert!(
        finished.stderr.contains("--bus-token"),
        "{}",
        finished.stderr
    );
}
