//! Given comments published to a real bus, moderation publishes exactly one
//! `CommentModerated` each, with the right status, id, data and causation.

use crate::helpers::{publish_comment, spawn_moderation, the_verdict_on, until_moderated};
use bus::testkit::spawn_bus;
use serde_json::json;

#[tokio::test]
async fn each_comment_gets_one_verdict_with_the_default_word() {
    let bus = spawn_bus().await;
    let _moderation = spawn_moderation(bus.url(), |_| {}).await;
    publish_comment(&bus, "c1", "I like apple juice").await;
    publish_comment(&bus, "c2", "I like Orange juice").await;
    let events = until_moderated(&bus, &["c1", "c2"]).await;
    assert_eq!(events.len(), 2, "{events:#?}");

    let approved = the_verdict_on(&events, "c1");
    assert_eq!(approved["id"], "moderated-c1");
    assert_eq!(approved["source"], "moderation");
    assert_eq!(approved["causation_id"], "created-c1");
    assert_eq!(approved["correlation_id"], "created-c1");
    assert_eq!(
        approved["data"],
        json!({"id": "c1", "content": "I like apple juice", "postId": "p1", "status": "approved"})
    );
    let rejected = the_verdict_on(&events, "c2");
    assert_eq!(rejected["data"]["status"], "rejected");
    assert_eq!(rejected["data"]["content"], "I like Orange juice");
}

#[tokio::test]
async fn several_blocked_words_and_case_beyond_ascii() {
    let bus = spawn_bus().await;
    let words = ["orange", "Äpfel", "ΣΟΦΙΑΣ"].map(String::from).to_vec();
    let _moderation = spawn_moderation(bus.url(), |args| args.blocked_words = words).await;
    let comments = [
        ("c1", "grüne ÄPFEL", "rejected"),
        ("c2", "äpfel", "rejected"),
        ("c3", "η σοφιας", "rejected"),
        ("c4", "ORANGES", "rejected"),
        ("c5", "Birnen und Apfelsaft", "approved"),
    ];
    for (id, content, _) in comments {
        publish_comment(&bus, id, content).await;
    }
    let ids = comments.map(|(id, _, _)| id);
    let events = until_moderated(&bus, &ids).await;
    assert_eq!(events.len(), comments.len(), "{events:#?}");
    for (id, content, status) in comments {
        let verdict = the_verdict_on(&events, id);
        assert_eq!(verdict["data"]["status"], status, "{content}");
    }
}

#[tokio::test]
async fn a_delay_holds_the_verdict_back_at_least_that_long() {
    let bus = spawn_bus().await;
    let _moderation = spawn_moderation(bus.url(), |args| args.delay_ms = 300).await;
    let published = std::time::Instant::now();
    publish_comment(&bus, "c1", "hello").await;
    let events = until_moderated(&bus, &["c1"]).await;
    assert!(
        published.elapsed() >= std::time::Duration::from_millis(300),
        "moderated after {:?}",
        published.elapsed()
    );
    assert_eq!(the_verdict_on(&events, "c1")["data"]["status"], "approved");
}
