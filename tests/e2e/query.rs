//! `minibus query` as a real process next to a real `minibus bus`: SIGKILLed, it comes back
//! with the same `GET /posts`, rebuilt from the log with no state, or with `--persist`
//! resumed from its checkpoint (not replayed from seq 1).

use crate::helpers::{Api, BusProcess, ServiceProcess, ServiceSpec};
use bus::testkit::eventually;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;

/// `minibus query` on port 0 over `data_dir`, against the bus at `bus_url`.
fn start_query(bus_url: &str, data_dir: &Path, persist: bool) -> ServiceProcess {
    let spec = ServiceSpec::on_port_0("query", bus_url, data_dir);
    ServiceProcess::start(&match persist {
        true => spec.with_arg("--persist"),
        false => spec,
    })
}

/// `GET /posts` once it holds seq `seq` (its `Minibus-Applied-Seq` says so).
async fn posts_after(query: &ServiceProcess, seq: u64) -> Value {
    let url = format!("{}/posts?min_seq={seq}", query.url());
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
    let query = start_query(bus.url(), &dir.path().join("query-1"), false);
    let last = publish_blog(&bus.api(), "a", 20).await;
    let before = posts_after(&query, last).await;
    assert_eq!(before.as_object().map(|p| p.len()), Some(20));
    query.kill();

    let query = start_query(bus.url(), &dir.path().join("query-2"), false);
    query.until_ready().await;
    assert_eq!(query.api().get_ok("/posts").await, before);
}

#[tokio::test]
async fn sigkilled_query_with_persist_resumes_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let bus = BusProcess::start(&dir.path().join("bus"), &[]);
    let api = bus.api();
    let data = dir.path().join("query");
    // A first round, stopped cleanly: its checkpoint is on disk for sure.
    let query = start_query(bus.url(), &data, true);
    let first = publish_blog(&api, "a", 20).await;
    posts_after(&query, first).await;
    query.terminate();

    let query = start_query(bus.url(), &data, true);
    query.until_ready().await;
    let last = publish_blog(&api, "b", 5).await;
    let before = posts_after(&query, last).await;
    assert_eq!(before.as_object().map(|p| p.len()), Some(25));
    let delivered = delivered_at(&api, last).await;
    query.kill();

    let query = start_query(bus.url(), &data, true);
    query.until_ready().await;
    assert_eq!(query.api().get_ok("/posts").await, before);
    // What SIGKILL may have cost: the events since the last checkpoint sled made durable,
    // at most the second round, never a replay from seq 1.
    let replayed = delivered_at(&api, last).await - delivered;
    assert!(
        replayed <= last - first,
        "{replayed} events delivered again after the restart; the second round has {}",
        last - first
    );
}
