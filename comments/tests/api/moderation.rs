//! moderation's verdicts: applied to the comment, each published as `CommentUpdated` with
//! the id `updated-<commentId>-<version>`, the version counting the comment's updates.

use crate::helpers::{data_dir, publish_post, publish_verdict, spawn_comments, until_events};
use bus::testkit::{eventually, spawn_bus};
use serde_json::{json, Value};

#[tokio::test]
async fn a_verdict_sets_the_status_and_publishes_comment_updated_versioned() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let comments = spawn_comments(bus.url(), dir.path()).await;
    publish_post(&bus, "p1").await;
    let (_, listed) = comments.comment("p1", "I like Orange juice").await;
    let id = listed[0]["id"].as_str().expect("an id").to_owned();
    let created = until_events(&bus, "CommentCreated", 1).await;
    let comment = &created[0]["data"];

    let verdict_seq = publish_verdict(&bus, &format!("moderated-{id}"), comment, "rejected").await;
    let updated = until_events(&bus, "CommentUpdated", 1).await;
    assert_eq!(updated[0]["id"], format!("updated-{id}-1"));
    assert_eq!(
        updated[0]["data"],
        json!({"id": id, "content": "I like Orange juice", "postId": "p1", "status": "rejected", "version": 1})
    );
    assert_eq!(updated[0]["causation_id"], format!("moderated-{id}"));
    assert!(updated[0]["seq"].as_u64() > Some(verdict_seq));
    until_status(&comments, "p1", "rejected").await;

    publish_verdict(&bus, "a-second-verdict", comment, "approved").await;
    let updated = until_events(&bus, "CommentUpdated", 2).await;
    assert_eq!(updated[1]["id"], format!("updated-{id}-2"));
    assert_eq!(updated[1]["data"]["version"], 2);
    assert_eq!(updated[1]["data"]["status"], "approved");
    until_status(&comments, "p1", "approved").await;
}

#[tokio::test]
async fn a_verdict_on_a_comment_not_written_here_is_passed_over() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let comments = spawn_comments(bus.url(), dir.path()).await;
    let stranger = json!({"id": "0000000000000000", "content": "x", "postId": "p0"});
    publish_verdict(&bus, "moderated-0000000000000000", &stranger, "approved").await;
    publish_post(&bus, "p1").await;
    comments.comment("p1", "after it").await;
    assert!(bus.events_of("CommentUpdated").await.is_empty());
    let status = bus.subscription("comments").await;
    assert_eq!(status["dead_letters"], 0, "{status}");
}

/// Waits until the post's first comment has `status`.
pub(crate) async fn until_status(
    comments: &crate::helpers::TestComments,
    post: &str,
    status: &str,
) {
    eventually(&format!("the comment to be {status}"), || async {
        let listed: Vec<Value> = comments.comments_of(post).await;
        (listed.first()?["status"] == status).then_some(())
    })
    .await;
}
