//! posts started again over its data dir keeps its posts, in order, and goes on after them.

use crate::helpers::{created_ids, data_dir, log, TestPosts};
use bus::testkit::spawn_bus;

#[tokio::test]
async fn a_restart_over_the_data_dir_keeps_every_post_in_order() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let posts = TestPosts::start(dir.path(), bus.url()).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(posts.create(&format!("kept {n}")).await.id().to_string());
    }
    let (before, _) = posts.list().await;

    let posts = posts.restart(bus.url()).await;
    let (after, _) = posts.list().await;
    assert_eq!(after, before, "the same posts, in the same order");

    ids.push(posts.create("after the restart").await.id().to_string());
    let (text, body) = posts.list().await;
    assert_eq!(body.as_object().unwrap().len(), 6);
    let last = ids.last().unwrap();
    assert!(
        text.ends_with(&format!("\"{last}\":{}}}", body[last])),
        "a new post goes after the old ones: {text}"
    );
    assert_eq!(
        created_ids(&log(bus.url()).await),
        ids,
        "each published once"
    );
}
