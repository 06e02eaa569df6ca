//! What reaches `POST /events`: a delivery not signed with the subscription's secret is
//! refused; an event that is no comment is parked, not retried for ever; a restart
//! resumes after the last comment acknowledged.

use crate::helpers::{moderated, publish_comment, spawn_moderation, until_moderated};
use bus::signature::Signer;
use bus::testkit::{eventually, spawn_bus};
use serde_json::json;

#[tokio::test]
async fn a_forged_delivery_is_refused_and_moderates_nothing() {
    let bus = spawn_bus().await;
    let moderation = spawn_moderation(bus.url(), |_| {}).await;
    let body = json!({"seq": 1, "id": "forged", "type": "CommentCreated", "time": "2026-11-30T00:00:00.000Z",
        "data": {"id": "c1", "content": "hello", "postId": "p1", "status": "pending"}})
    .to_string();
    let events = format!("{}/events", moderation.url());
    let client = reqwest::Client::new();
    let unsigned = client
        .post(&events)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let error: serde_json::Value = unsigned.json().await.unwrap();
    assert_eq!(error["error"], "bad_signature");

    // Signed, but with another secret than the one moderation registered.
    let forger = Signer::from_secret(&Signer::random_secret()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let signature = forger.sign("forged", now, body.as_bytes());
    let forged = client
        .post(&events)
        .header("webhook-id", "forged")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    // A real comment after them is moderated, and is the only verdict.
    publish_comment(&bus, "c2", "hello").await;
    let events = until_moderated(&bus, &["c2"]).await;
    assert_eq!(events.len(), 1, "{events:#?}");
}

#[tokio::test]
async fn a_comment_event_that_is_no_comment_is_parked_and_the_next_one_moderated() {
    let bus = spawn_bus().await;
    let _moderation = spawn_moderation(bus.url(), |_| {}).await;
    let broken = json!({"id": "broken", "type": "CommentCreated", "data": {"id": 7}});
    let answer = reqwest::Client::new()
        .post(bus.at("/events"))
        .json(&broken)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    publish_comment(&bus, "c1", "hello").await;
    until_moderated(&bus, &["c1"]).await;
    let status = bus.subscription("moderation").await;
    assert_eq!(status["dead_letters"], 1, "{status}");
    let parked: serde_json::Value = reqwest::get(bus.at("/subscriptions/moderation/dead-letters"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(parked[0]["seq"], 1, "{parked}");
    assert_eq!(parked[0]["last_status"], 422, "{parked}");
}

#[tokio::test]
async fn a_restarted_moderation_resumes_after_what_it_acknowledged() {
    let bus = spawn_bus().await;
    let first = spawn_moderation(bus.url(), |_| {}).await;
    publish_comment(&bus, "c1", "hello").await;
    until_moderated(&bus, &["c1"]).await;
    first.stop().await;

    // Written while moderation was down: moderated once it is back, and c1 is not
    // delivered again (the bus's cursor is where it resumes).
    publish_comment(&bus, "c2", "orange").await;
    let _second = spawn_moderation(bus.url(), |_| {}).await;
    let events = until_moderated(&bus, &["c1", "c2"]).await;
    assert_eq!(events.len(), 2, "{events:#?}");
    let status = eventually("moderation to catch up", || async {
        let status = bus.subscription("moderation").await;
        (status["lag"] == 0 && status["state"] == "active").then_some(status)
    })
    .await;
    assert_eq!(
        status["delivered"], 2,
        "each comment delivered once: {status}"
    );
    assert_eq!(moderated(&bus).await.len(), 2);
}
