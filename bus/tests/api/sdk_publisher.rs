//! The SDK's `Publisher` against a real bus: it always sets a UUIDv7 id, so a retry after a
//! lost reply never appends twice; arrays are all or none; refusals come back typed.

use crate::helpers::spawn_app;
use bus::sdk::{Error, Publisher};
use bus::NewEvent;
use serde_json::json;

fn event(ty: &str) -> NewEvent {
    NewEvent::new(ty, &json!({"title": "hello"})).unwrap()
}

#[tokio::test]
async fn every_event_gets_a_uuidv7_id_and_a_retry_is_deduplicated() {
    let app = spawn_app().await;
    let publisher = Publisher::new(&app.url, None).with_source("posts");
    let first = publisher.publish(event("PostCreated")).await.unwrap();
    let id = uuid::Uuid::parse_str(&first.id).expect("a UUID");
    assert_eq!(id.get_version_num(), 7, "{id}");
    // The same event again, as a retry after a lost reply sends it: same id, same seq.
    let mut again = event("PostCreated");
    again.id = Some(first.id.clone());
    let retried = publisher.publish(again).await.unwrap();
    assert_eq!(retried.seq, first.seq);
    assert_eq!(app.head().await, 1);
    let stored = app.events().await;
    assert_eq!(stored[0]["source"], "posts");
    assert_eq!(stored[0]["data"], json!({"title": "hello"}));
}

#[tokio::test]
async fn an_array_is_appended_in_order_and_a_refusal_is_typed() {
    let app = spawn_app().await;
    let publisher = Publisher::new(&format!("{}/", app.url), None);
    let replies = publisher
        .publish_all(vec![event("A"), event("B")])
        .await
        .unwrap();
    assert_eq!(replies.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2]);
    assert_ne!(replies[0].id, replies[1].id);
    let mut conflicting = event("A");
    conflicting.stream = Some("post-p1".into());
    conflicting.expected_version = Some(3);
    match publisher.publish(conflicting).await {
        Err(Error::Rejected { status, body }) => {
            assert_eq!(status, 409);
            assert_eq!(body.error, "wrong_expected_version");
        }
        other => panic!("expected a 409, got {other:?}"),
    }
    assert_eq!(app.head().await, 2);
}

#[tokio::test]
async fn a_bus_that_requires_a_token_gets_it() {
    let app =
        crate::helpers::spawn_app_with(|c| c.token = Some("s3cret-token-0123456789".into())).await;
    let without = Publisher::new(&app.url, None).publish(event("A")).await;
    assert!(matches!(without, Err(Error::Rejected { status: 401, .. })));
    let with = Publisher::new(&app.url, Some("s3cret-token-0123456789".into()))
        .publish(event("A"))
        .await
        .unwrap();
    assert_eq!(with.seq, 1);
}
