//! While the bus cannot be reached: a comment on a post comments knows is stored and
//! answered `201` (its event goes out once the bus is back); on a post it does not know,
//! `503 post_unverified` with `Retry-After: 1`.

use crate::helpers::{data_dir, publish_post, spawn_comments, until_events};
use bus::testkit::{spawn_bus, BusProxy};
use serde_json::json;

#[tokio::test]
async fn comments_on_known_posts_are_taken_while_the_bus_is_down_and_published_later() {
    let bus = spawn_bus().await;
    let proxy = BusProxy::start(bus.url()).await;
    let dir = data_dir();
    let comments = spawn_comments(proxy.url(), dir.path()).await;
    publish_post(&bus, "p1").await;
    let (seq, _) = comments.comment("p1", "before").await;
    assert!(seq.is_some(), "published at once while the bus is up");

    proxy.set_down(true);
    let (seq, listed) = comments.comment("p1", "during").await;
    assert_eq!(seq, None, "no seq while the bus is down");
    assert_eq!(listed.len(), 2);
    let (status, _, body, retry_after) = comments.comment_raw("p2", json!({"content": "x"})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("post_unverified")),
        "{body}"
    );
    assert_eq!(retry_after.as_deref(), Some("1"));

    proxy.set_down(false);
    let created = until_events(&bus, "CommentCreated", 2).await;
    assert_eq!(created.len(), 2, "each once");
    assert_eq!(created[1]["data"]["content"], "during");
}
