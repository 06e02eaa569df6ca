//! A restart over the data dir resumes from the checkpoint stored with the state: events
//! published meanwhile are applied once; a bus whose log was replaced makes comments drop
//! its replica and replay.

use crate::helpers::{data_dir, publish_post, publish_verdict, spawn_comments, until_events};
use crate::moderation::until_status;
use bus::testkit::spawn_bus;
use comments::CommentStore;
use serde_json::json;

#[tokio::test]
async fn a_restart_resumes_from_the_checkpoint_stored_with_the_state() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let comments = spawn_comments(bus.url(), dir.path()).await;
    publish_post(&bus, "p1").await;
    comments.comment("p1", "hello").await;
    let created = until_events(&bus, "CommentCreated", 1).await;
    let comment = created[0]["data"].clone();
    let verdict = publish_verdict(&bus, "verdict-1", &comment, "approved").await;
    until_status(&comments, "p1", "approved").await;
    comments.stop().await;

    let store = CommentStore::open(&dir.path().join("comments"), 8)
        .await
        .expect("the store opens");
    let (applied, log_id) = store.checkpoint().await.expect("a checkpoint");
    assert_eq!(applied, Some(verdict), "the last event applied");
    let info: serde_json::Value = reqwest::get(bus.at("/info"))
        .await
        .expect("info")
        .json()
        .await
        .expect("JSON");
    assert_eq!(log_id.as_deref(), info["log_id"].as_str());
    drop(store);

    publish_post(&bus, "p2").await;
    publish_verdict(&bus, "verdict-2", &comment, "rejected").await;
    let comments = spawn_comments(bus.url(), dir.path()).await;
    until_status(&comments, "p1", "rejected").await;
    let updated = until_events(&bus, "CommentUpdated", 2).await;
    let versions: Vec<_> = updated
        .iter()
        .map(|e| e["data"]["version"].clone())
        .collect();
    assert_eq!(versions, [json!(1), json!(2)], "each verdict applied once");
    comments
        .comment("p2", "on the post published meanwhile")
        .await;
}

#[tokio::test]
async fn a_replaced_log_drops_the_replica() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let comments = spawn_comments(bus.url(), dir.path()).await;
    publish_post(&bus, "p1").await;
    comments.comment("p1", "hello").await;
    comments.stop().await;

    let replaced = spawn_bus().await;
    publish_post(&replaced, "p9").await;
    let comments = spawn_comments(replaced.url(), dir.path()).await;
    let (status, _, body, _) = comments.comment_raw("p1", json!({"content": "x"})).await;
    assert_eq!(status, 404, "p1 is not in the new log: {body}");
    comments.comment("p9", "on the new log's post").await;
    assert_eq!(
        comments.comments_of("p1").await.len(),
        1,
        "its own comments stay"
    );
}
