//! Deliveries of several comments: their verdicts go to the bus as one array publish, and
//! an array whose verdicts are partly stored already is published again without them.

use crate::helpers::{
    moderated, publish_comment, spawn_moderation, the_verdict_on, until_moderated,
};
use bus::testkit::{spawn_bus, BusProxy, TestBus};
use serde_json::json;

#[tokio::test]
async fn comments_waiting_for_moderation_get_their_verdicts_in_one_publish() {
    let bus = spawn_bus().await;
    let ids: Vec<String> = (1..=20).map(|n| format!("c{n}")).collect();
    for (n, id) in ids.iter().enumerate() {
        let content = if n % 10 == 0 { "orange" } else { "tea" };
        publish_comment(&bus, id, content).await;
    }
    let proxy = BusProxy::start(bus.url()).await;
    let _moderation = spawn_moderation(proxy.url(), |_| {}).await;
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let events = until_moderated(&bus, &ids).await;
    assert_eq!(events.len(), 20, "{events:#?}");
    assert_eq!(proxy.received(), 1, "one array for the 20 verdicts");
    assert_eq!(the_verdict_on(&events, "c1")["data"]["status"], "rejected");
    assert_eq!(the_verdict_on(&events, "c2")["data"]["status"], "approved");
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (21..=40).collect::<Vec<_>>(),
        "in the comments' order"
    );
}

#[tokio::test]
async fn verdicts_partly_stored_before_are_published_again_without_them() {
    let bus = spawn_bus().await;
    for id in ["c1", "c2", "c3"] {
        publish_comment(&bus, id, "tea").await;
    }
    // c2's verdict is stored already, as a publish cut otherwise before a crash left it.
    store_verdict(&bus, "c2").await;
    let proxy = BusProxy::start(bus.url()).await;
    let _moderation = spawn_moderation(proxy.url(), |_| {}).await;
    let events = until_moderated(&bus, &["c1", "c2", "c3"]).await;
    for id in ["c1", "c2", "c3"] {
        the_verdict_on(&events, id);
    }
    assert_eq!(moderated(&bus).await.len(), 3, "one verdict each");
    assert_eq!(
        the_verdict_on(&events, "c2")["seq"],
        4,
        "the one stored before"
    );
    // The array of three (409), then c1 and c3 as one array: not refused, so the bus did
    // not have to send the comments again one per request.
    assert_eq!(proxy.received(), 2);
}

/// Publishes comment `id`'s verdict to the bus as moderation would.
async fn store_verdict(bus: &TestBus, id: &str) {
    let verdict = json!({
        "id": format!("moderated-{id}"),
        "type": "CommentModerated",
        "source": "moderation",
        "data": {"id": id, "content": "tea", "postId": "p1", "status": "approved"},
    });
    let answer = reqwest::Client::new()
        .post(bus.at("/events"))
        .json(&verdict)
        .send()
        .await
        .expect("publish");
    assert_eq!(answer.status(), 201);
}
