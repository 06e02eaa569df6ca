//! `minibus query` as a real process next to a real `minibus bus`: SIGKILLed, it comes back
//! with the same `GET /posts`, rebuilt from the log with no state, or with `--persist`
//! resumed from its checkpoint (not replayed from seq 1).

use crate::helpers::{minibus, wait_for_exit, Api, BusProcess, EXIT_TIMEOUT, START_TIMEOUT};
use bus::testkit::eventually;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;

/// The line `minibus query` prints on stdout once its port is bound.
const LISTENING: &str = "minibus query listening on ";

/// A running `minibus query`; SIGKILLed on drop.
struct QueryProcess {
    child: Child,
    url: String,
    api: Api,
}

impl QueryProcess {
    /// `minibus query` on a free port over `data_dir`, against the bus at `bus_url`.
    fn start(bus_url: &str, data_dir: &Path, persist: bool) -> Self {
        let mut cmd = minibus();
        cmd.args(["query", "--listen", "127.0.0.1:0", "--bus-url", bus_url])
            .arg("--data-dir")
            .arg(data_dir)
            .stdout(Stdio::piped())
            .stderr(match std::env::var_os("TEST_LOG") {
                Some(_) => Stdio::inherit(),
                None => Stdio::null(),
            });
        if persist {
            cmd.arg("--persist");
        }
        let mut child = cmd.spawn().expect("spawn minibus query");
        let stdout = child.stdout.take().expect("piped stdout");
        let (lines, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let url = loop {
            let line = rx
                .recv_timeout(START_TIMEOUT)
                .expect("minibus query prints where it listens");
            if let Some(url) = line.strip_prefix(LISTENING) {
                break url.trim().to_string();
            }
        };
        Self {
            child,
            api: Api::new(&url, None),
            url,
        }
    }

    /// Waits until `/readyz` answers `200`.
    async fn until_ready(&self) {
        eventually("query to be ready", || async {
            let (status, _) = self.api.get("/readyz").await.ok()?;
            (status == StatusCode::OK).then_some(())
        })
        .await;
    }

    /// `GET /posts` once it holds seq `seq` (its `Minibus-Applied-Seq` says so).
    async fn posts_after(&self, seq: u64) -> Value {
        let url = format!("{}/posts?min_seq={seq}", self.url);
        eventually(&format!("query to apply seq {seq}"), || async {
            let answer = reqwest::get(&url).await.ok()?;
            let applied = answer.headers().get("minibus-applied-seq")?.to_str().ok()?;
            let applied: u64 = applied.parse().ok()?;
            match applied >= seq {
                true => answer.json().await.ok(),
                false => None,
            }
        })
        .await
    }

    /// `GET /posts`.
    async fn posts(&self) -> Value {
        self.api.get_ok("/posts").await
    }

    /// SIGKILL, and reaps the process.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL query");
        self.child.wait().expect("reap query");
    }

    /// SIGTERM, and waits for a clean exit.
    fn terminate(mut self) {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
        let status = wait_for_exit(&mut self.child, EXIT_TIMEOUT)
            .unwrap_or_else(|| panic!("query did not exit within {EXIT_TIMEOUT:?} of SIGTERM"));
        assert!(status.success(), "query exited with {status}");
    }
}

impl Drop for QueryProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Publishes `posts` posts, each with two comments, one of them moderated twice; the last seq.
async fn publish_blog(bus: &Api, round: &str, posts: usize) -> u64 {
    let mut events = Vec::new();
    for n in 0..posts {
        let post = format!("{round}p{n}");
        let (c1, c2) = (format!("{post}c1"), format!("{post}c2"));
        events.push(
            json!({"type": "PostCreated", "data": {"id": post, "title": format!("title {n}")}}),
        );
        events.push(json!({"type": "CommentCreated", "data": {"id": c1, "content": "hi", "postId": post, "status": "pending"}}));
        events.push(json!({"type": "CommentCreated", "data": {"id": c2, "content": "Orange", "postId": post, "status": "pending"}}));
        events.push(json!({"type": "CommentUpdated", "data": {"id": c1, "content": "hi", "postId": post, "status": "approved", "version": 1}}));
        events.push(json!({"type": "CommentUpdated", "data": {"id": c2, "content": "Orange", "postId": post, "status": "rejected", "version": 1}}));
    }
    let (status, replies) = bus.publish(&Value::Array(events)).await.expect("publish");
    assert_eq!(status, StatusCode::CREATED, "{replies}");
    let last = replies.as_array().and_then(|r| r.last()).expect("replies");
    last["seq"].as_u64().expect("a seq")
}

/// Events query's subscription has had acknowledged so far, once its cursor is at `seq`.
async fn delivered_at(bus: &Api, seq: u64) -> u64 {
    eventually(
        &format!("the bus to record query's ack of {seq}"),
        || async {
            let status = bus.get_ok("/subscriptions/query").await;
            (status["cursor"] == seq).then(|| status["delivered"].as_u64().expect("delivered"))
        },
    )
    .await
}

#[tokio::test]
async fn sigkilled_query_started_with_no_state_serves_the_same_posts() {
    let dir = tempfile::tempdir().unwrap();
    let bus = BusProcess::start(&dir.path().join("bus"), &[]);
    let query = QueryProcess::start(bus.url(), &dir.path().join("query-1"), false);
    let last = publish_blog(&bus.api(), "a", 20).await;
    let before = query.posts_after(last).await;
    assert_eq!(before.as_object().map(|p| p.len()), Some(20));
    query.kill();

    let query = QueryProcess::start(bus.url(), &dir.path().join("query-2"), false);
    query.until_ready().await;
    assert_eq!(query.posts().await, before);
}

#[tokio::test]
async fn sigkilled_query_with_persist_resumes_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let bus = BusProcess::start(&dir.path().join("bus"), &[]);
    let api = bus.api();
    let data = dir.path().join("query");
    // A first round, stopped cleanly: its checkpoint is on disk for sure.
    let query = QueryProcess::start(bus.url(), &data, true);
    let first = publish_blog(&api, "a", 20).await;
    query.posts_after(first).await;
    query.terminate();

    let query = QueryProcess::start(bus.url(), &data, true);
    query.until_ready().await;
    let last = publish_blog(&api, "b", 5).await;
    let before = query.posts_after(last).await;
    assert_eq!(before.as_object().map(|p| p.len()), Some(25));
    let delivered = delivered_at(&api, last).await;
    query.kill();

    let query = QueryProcess::start(bus.url(), &data, true);
    query.until_ready().await;
    assert_eq!(query.posts().await, before);
    // What SIGKILL may have cost: the events since the last checkpoint sled made durable,
    // at most the second round, never a replay from seq 1.
    let replayed = delivered_at(&api, last).await - delivered;
    assert!(
        replayed <= last - first,
        "{replayed} events delivered again after the restart; the second round has {}",
        last - first
    );
}
