//! A verdict is acknowledged only once the bus has stored it: when the publish fails, the
//! delivery is answered `503` and the bus retries; whatever is retried, the log holds one
//! `CommentModerated` per comment.

use crate::helpers::{
    moderated, publish_comment, spawn_moderation, the_verdict_on, until_moderated,
};
use bus::testkit::{eventually, spawn_bus, BusProxy, Publishes};
use serde_json::Value;

#[tokio::test]
async fn a_lost_answer_to_the_publish_is_retried_and_the_verdict_stays_one() {
    let bus = spawn_bus().await;
    let proxy = BusProxy::start(bus.url()).await;
    let _moderation = spawn_moderation(proxy.url(), |_| {}).await;
    // The bus stores the verdict, but moderation never hears so: it must answer 503.
    proxy.publishes(Publishes::LoseTheAnswer);
    publish_comment(&bus, "c1", "I like Orange juice").await;
    let status = until_retried(&bus).await;
    assert_eq!(moderated(&bus).await.len(), 1, "stored once");
    assert!(
        status["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("503")),
        "{status}"
    );

    proxy.publishes(Publishes::Forward);
    until_acknowledged(&bus).await;
    assert!(
        proxy.received() >= 2,
        "published again after the lost answer"
    );
    let events = until_moderated(&bus, &["c1"]).await;
    assert_eq!(events.len(), 1, "one verdict: {events:#?}");
    assert_eq!(the_verdict_on(&events, "c1")["data"]["status"], "rejected");
}

#[tokio::test]
async fn a_bus_that_cannot_store_the_verdict_gets_the_comment_again_until_it_can() {
    let bus = spawn_bus().await;
    let proxy = BusProxy::start(bus.url()).await;
    let _moderation = spawn_moderation(proxy.url(), |_| {}).await;
    proxy.publishes(Publishes::Refuse);
    publish_comment(&bus, "c1", "hello").await;
    until_retried(&bus).await;
    assert!(moderated(&bus).await.is_empty(), "nothing stored yet");

    proxy.publishes(Publishes::Forward);
    until_acknowledged(&bus).await;
    let events = moderated(&bus).await;
    assert_eq!(events.len(), 1, "one verdict: {events:#?}");
    assert_eq!(the_verdict_on(&events, "c1")["data"]["status"], "approved");
}

/// Waits until the bus has had at least two failed attempts at delivering to moderation;
/// the subscription's status then.
async fn until_retried(bus: &bus::testkit::TestBus) -> Value {
    eventually("the bus to retry the delivery", || async {
        let status = bus.subscription("moderation").await;
        let attempts = status["attempts"].as_u64().unwrap_or(0);
        (status["state"] == "retrying" && attempts >= 2).then_some(status)
    })
    .await
}

/// Waits until moderation has acknowledged everything the bus holds for it.
async fn until_acknowledged(bus: &bus::testkit::TestBus) {
    eventually("moderation to acknowledge the comment", || async {
        let status = bus.subscription("moderation").await;
        (status["lag"] == 0 && status["state"] == "active" && status["delivered"] == 1)
            .then_some(())
    })
    .await;
}
