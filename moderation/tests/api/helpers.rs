//! A moderation service in this process ([`spawn_moderation`]) beside a test bus, and
//! typed reads of the log.

use bus::testkit::{eventually, TestBus, TestService};
use moderation::{ModerationArgs, RunError};
use serde_json::{json, Value};
use std::net::SocketAddr;

/// A running moderation service: the kit's handle (`stop()` fails the test unless `run`
/// ends well; `ended()` says how it ended), stopped when dropped.
pub(crate) type TestModeration = TestService<RunError>;

/// moderation on 127.0.0.1:0 for the bus at `bus_url`, its settings changed by `tweak`;
/// returns once it is ready (registered).
pub(crate) async fn spawn_moderation(
    bus_url: &str,
    tweak: impl FnOnce(&mut ModerationArgs),
) -> TestModeration {
    let service = start_moderation(bus_url, tweak).await;
    service.until_ready().await;
    service
}

/// moderation started as [`spawn_moderation`] does, without waiting for it.
pub(crate) async fn start_moderation(
    bus_url: &str,
    tweak: impl FnOnce(&mut ModerationArgs),
) -> TestModeration {
    let mut args = ModerationArgs::new(SocketAddr::from(([127, 0, 0, 1], 0)));
    args.service.bus_url = bus_url.into();
    tweak(&mut args);
    let run = |listener, shutdown| moderation::run(listener, args, shutdown);
    TestService::spawn("moderation", run).await
}

/// Publishes `CommentCreated` for comment `id` straight to the bus; its seq.
pub(crate) async fn publish_comment(bus: &TestBus, id: &str, content: &str) -> u64 {
    let event = json!({
        "id": format!("created-{id}"),
        "type": "CommentCreated",
        "source": "comments",
        "data": {"id": id, "content": content, "postId": "p1", "status": "pending"},
    });
    bus.publish(&event).await["seq"].as_u64().expect("a seq")
}

/// Every `CommentModerated` in the log, in seq order.
pub(crate) async fn moderated(bus: &TestBus) -> Vec<Value> {
    bus.events_of("CommentModerated").await
}

/// Waits until the log holds a `CommentModerated` for each of `ids`, and returns them all.
pub(crate) async fn until_moderated(bus: &TestBus, ids: &[&str]) -> Vec<Value> {
    eventually(&format!("verdicts on {ids:?}"), || async {
        let events = moderated(bus).await;
        let on = |id: &str| events.iter().any(|e| e["data"]["id"] == json!(id));
        ids.iter().all(|id| on(id)).then_some(events)
    })
    .await
}

/// The one `CommentModerated` of comment `id` in `events` (panics if not exactly one).
pub(crate) fn the_verdict_on<'a>(events: &'a [Value], id: &str) -> &'a Value {
    let on: Vec<&Value> = events
        .iter()
        .filter(|e| e["data"]["id"] == json!(id))
        .collect();
    assert_eq!(on.len(), 1, "one verdict on {id}: {events:#?}");
    on[0]
}
