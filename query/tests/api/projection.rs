//! What `GET /posts` and `GET /posts/{id}` show once the bus has delivered the blog's events.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn posts_and_comments_show_in_the_courses_shape_and_order() {
    let bus = spawn_bus().await;
    let dir = tempfile::tempdir().unwrap();
    let query = QueryApp::start(&bus, dir.path(), false).await;
    // Ids out of alphabetical order: the answer keeps the order of creation.
    let seqs = publish(
        &bus,
        &[
            post_created("zz01", "First"),
            post_created("aa02", "Second"),
            comment_created("c9", "zz01", "later id, first comment"),
            comment_created("c1", "zz01", "second comment"),
            comment_created("c5", "aa02", "on the second post"),
        ],
    )
    .await;
    let body = query.posts_after(seqs[4]).await;
    let expected = concat!(
        r#"{"zz01":{"id":"zz01","title":"First","comments":["#,
        r#"{"id":"c9","content":"later id, first comment","status":"pending"},"#,
        r#"{"id":"c1","content":"second comment","status":"pending"}]},"#,
        r#""aa02":{"id":"aa02","title":"Second","comments":["#,
        r#"{"id":"c5","content":"on the second post","status":"pending"}]}}"#
    );
    assert_eq!(body, expected);

    let one = query.get("/posts/aa02").await;
    assert_eq!(one.status, 200);
    assert_eq!(
        one.json(),
        json!({"id": "aa02", "title": "Second", "comments": [
            {"id": "c5", "content": "on the second post", "status": "pending"}]})
    );
    assert_eq!(one.applied(), seqs[4]);
    let missing = query.get("/posts/nope").await;
    assert_eq!(
        (missing.status, missing.json()["error"].as_str()),
        (404, Some("not_found"))
    );
    assert_eq!(
        missing.applied(),
        seqs[4],
        "a 404 carries the seq applied too"
    );
}

#[tokio::test]
async fn an_update_with_an_older_version_is_ignored() {
    let bus = spawn_bus().await;
    let dir = tempfile::tempdir().unwrap();
    let query = QueryApp::start(&bus, dir.path(), false).await;
    let seqs = publish(
        &bus,
        &[
            post_created("p1", "Post"),
            comment_created("c1", "p1", "text"),
            comment_updated("c1", "p1", "approved", 2),
            comment_updated("c1", "p1", "rejected", 1),
            comment_updated("c1", "p1", "rejected", 2),
        ],
    )
    .await;
    query.posts_after(seqs[4]).await;
    let post = query.get("/posts/p1").await.json();
    assert_eq!(post["comments"][0]["status"], "approved", "{post}");

    let newer = publish(&bus, &[comment_updated("c1", "p1", "rejected", 3)]).await;
    query.posts_after(newer[0]).await;
    let post = query.get("/posts/p1").await.json();
    assert_eq!(post["comments"][0]["status"], "rejected", "{post}");
}

#[tokio::test]
async fn events_it_can_never_apply_are_parked_on_the_bus_and_the_rest_goes_on() {
    let bus = spawn_bus().await;
    let dir = tempfile::tempdir().unwrap();
    let query = QueryApp::start(&bus, dir.path(), false).await;
    let seqs = publish(
        &bus,
        &[
            post_created("p1", "Post"),
            comment_created("c1", "unknown-post", "lost"),
            json!({"type": "PostCreated", "data": {"title": "no id"}}),
            comment_created("c2", "p1", "kept"),
        ],
    )
    .await;
    let body = query.posts_after(seqs[3]).await;
    assert_eq!(
        body,
        r#"{"p1":{"id":"p1","title":"Post","comments":[{"id":"c2","content":"kept","status":"pending"}]}}"#
    );
    let parked = eventually("two dead letters", || async {
        let letters = bus.get_json("/subscriptions/query/dead-letters").await;
        (letters.as_array().unwrap().len() == 2).then_some(letters)
    })
    .await;
    let parked: Vec<_> = parked
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["seq"].as_u64().unwrap(), l["last_status"].as_u64()))
        .collect();
    assert_eq!(parked, [(seqs[1], Some(422)), (seqs[2], Some(422))]);
}
