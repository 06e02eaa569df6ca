//! A post's answer, its `Minibus-Seq` and its `PostCreated` in the log; `GET /posts`.

use crate::helpers::{created_ids, data_dir, log, TestPosts};
use bus::testkit::spawn_bus;
use reqwest::StatusCode;
use serde_json::json;

fn is_an_id(id: &str) -> bool {
    id.len() == 16 && id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

#[tokio::test]
async fn a_post_answers_201_trimmed_with_the_seq_of_its_post_created() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let posts = TestPosts::start(dir.path(), bus.url()).await;
    for (path, title, stored) in [
        ("/posts", "  Hello, bus \n", "Hello, bus"),
        (
            "/posts/create",
            "\tThe course's route ",
            "The course's route",
        ),
    ] {
        let created = posts.post_json(path, &json!({ "title": title })).await;
        assert_eq!(
            created.status,
            StatusCode::CREATED,
            "{path}: {}",
            created.body
        );
        let id = created.id().to_string();
        assert!(is_an_id(&id), "{id}");
        assert_eq!(created.body, json!({"id": id, "title": stored}));

        let seq = created.seq.expect("Minibus-Seq: the bus is up");
        let log = log(bus.url()).await;
        let event = &log[usize::try_from(seq).unwrap() - 1];
        assert_eq!(event["seq"], json!(seq));
        assert_eq!(event["type"], "PostCreated");
        assert_eq!(event["stream"], json!(format!("post-{id}")));
        assert_eq!(event["data"], json!({"id": id, "title": stored}));
        assert_eq!(event["source"], "posts");
    }
    let ids = created_ids(&log(bus.url()).await);
    assert_eq!(ids.len(), 2, "one PostCreated per post");
}

#[tokio::test]
async fn get_posts_lists_every_post_by_id_in_creation_order() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let posts = TestPosts::start(dir.path(), bus.url()).await;
    let (text, body) = posts.list().await;
    assert_eq!((text.as_str(), body), ("{}", json!({})));

    let mut ids = Vec::new();
    for n in 0..12 {
        ids.push(posts.create(&format!("post {n}")).await.id().to_string());
    }
    let (text, body) = posts.list().await;
    let map = body.as_object().expect("an object");
    assert_eq!(map.len(), ids.len());
    for (n, id) in ids.iter().enumerate() {
        assert_eq!(body[id], json!({"id": id, "title": format!("post {n}")}));
    }
    // Random ids: sorted by id, twelve posts would almost never be in creation order.
    let positions: Vec<usize> = ids
        .iter()
        .map(|id| text.find(&format!("\"{id}\":")).expect("listed"))
        .collect();
    assert!(positions.is_sorted(), "not in creation order: {text}");
    assert_eq!(
        created_ids(&log(bus.url()).await),
        ids,
        "published in order"
    );
}

#[tokio::test]
async fn posts_sends_its_bus_token_to_a_bus_that_requires_one() {
    const TOKEN: &str = "posts-test-token-0123456789";
    let bus = bus::testkit::spawn_bus_with(|c| c.token = Some(TOKEN.into())).await;
    let dir = data_dir();
    let posts = TestPosts::start_with(dir.path(), bus.url(), |args| {
        args.service.bus_token = Some(TOKEN.into());
    })
    .await;
    let created = posts.create("with a token").await;
    assert!(created.seq.is_some(), "published: the bus took the token");
}
