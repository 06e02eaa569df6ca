//! The write path: a comment on a post the bus knows is stored, answered with the post's
//! comments and published; a comment on an unknown post is a 404 (after the wait), never
//! for a post published just before; bad content is a 400.

use crate::helpers::{
    data_dir, publish_post, spawn_comments, spawn_comments_behind_a_proxy, until_events,
};
use bus::testkit::spawn_bus;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_comment_is_stored_answered_with_the_posts_comments_and_published() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let comments = spawn_comments(bus.url(), dir.path()).await;
    publish_post(&bus, "1a2b3c4d").await;

    let (seq, first) = comments.comment("1a2b3c4d", "  first  ").await;
    assert_eq!(first.len(), 1);
    let id = first[0]["id"].as_str().expect("an id").to_owned();
    assert_eq!(
        first[0],
        json!({"id": id, "content": "first", "status": "pending"})
    );
    assert!(
        id.len() == 16
            && id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let (_, both) = comments.comment("1a2b3c4d", "second").await;
    assert_eq!(both.len(), 2);
    assert_eq!(both[0], first[0], "in creation order");
    assert_eq!(comments.comments_of("1a2b3c4d").await, both);
    assert_eq!(
        comments.comments_of("unknown").await,
        Vec::<serde_json::Value>::new()
    );

    let created = until_events(&bus, "CommentCreated", 2).await;
    let event = &created[0];
    assert_eq!(
        Some(event["seq"].as_u64().expect("a seq")),
        seq,
        "Minibus-Seq is its seq"
    );
    assert_eq!(
        event["data"],
        json!({"id": id, "content": "first", "postId": "1a2b3c4d", "status": "pending"})
    );
    assert_eq!(event["stream"], format!("comment-{id}"));
    assert_eq!(event["source"], "comments");
}

#[tokio::test]
async fn a_comment_on_an_unknown_post_is_a_404_after_the_wait() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let comments = spawn_comments(bus.url(), dir.path()).await;
    publish_post(&bus, "known").await;
    let started = Instant::now();
    let (status, _, body, _) = comments
        .comment_raw("unknown", json!({"content": "hi"}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(bus.events_of("CommentCreated").await.is_empty());
}

#[tokio::test]
async fn a_comment_right_after_its_post_is_never_a_404() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let (comments, deliveries) = spawn_comments_behind_a_proxy(bus.url(), dir.path()).await;
    // Each delivery of a post to comments takes a while: the comment comes before it.
    deliveries.set_delay(Duration::from_millis(300));
    for round in 0..5 {
        let post = format!("post-{round}");
        publish_post(&bus, &post).await;
        let (_, listed) = comments.comment(&post, "right away").await;
        assert_eq!(listed.len(), 1, "{post}");
    }
}

#[tokio::test]
async fn content_that_is_empty_or_over_2000_characters_or_not_a_comment_is_a_400() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let comments = spawn_comments(bus.url(), dir.path()).await;
    publish_post(&bus, "p1").await;
    let longest = "é".repeat(2_000);
    for (body, code) in [
        (json!({"content": ""}), "invalid_content"),
        (json!({"content": " \n\t "}), "invalid_content"),
        (json!({"content": format!("{longest}x")}), "invalid_content"),
        (json!({"text": "hi"}), "invalid_json"),
        (json!({"content": 7}), "invalid_json"),
    ] {
        let (status, _, answer, _) = comments.comment_raw("p1", body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some(code)),
            "{answer}"
        );
    }
    let (_, listed) = comments.comment("p1", &format!("  {longest}  ")).await;
    assert_eq!(listed[0]["content"], longest.as_str());
}
