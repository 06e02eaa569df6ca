//! Starting: `/readyz` once caught up, the projection rebuilt from the log with no state,
//! and with `--persist` resumed from its checkpoint (or started over on another log).

use crate::helpers::*;
use serde_json::json;

/// Posts, comments and updates; the last seq.
async fn blog(bus: &TestBus) -> u64 {
    let seqs = publish(
        bus,
        &[
            post_created("p1", "One"),
            post_created("p2", "Two"),
            comment_created("c1", "p1", "I like apples"),
            comment_created("c2", "p1", "I like Orange juice"),
            comment_created("c3", "p2", "hello"),
            comment_updated("c1", "p1", "approved", 1),
            comment_updated("c2", "p1", "rejected", 1),
        ],
    )
    .await;
    seqs[6]
}

#[tokio::test]
async fn readyz_answers_200_only_once_caught_up_with_the_head_at_start() {
    let bus = spawn_bus().await;
    let last = blog(&bus).await;
    // The subscription exists and is paused: query's registration keeps the pause, so
    // nothing is delivered until the test resumes it.
    let http = reqwest::Client::new();
    let put = http
        .put(bus.at("/subscriptions/query"))
        .json(&json!({"url": "http://127.0.0.1:9/events"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    let pause = http
        .post(bus.at("/subscriptions/query/pause"))
        .send()
        .await
        .unwrap();
    assert!(pause.status().is_success());

    let dir = tempfile::tempdir().unwrap();
    let query = QueryApp::start(&bus, dir.path(), false).await;
    let events_url = format!("{}/events", query.url());
    eventually("query to register", || async {
        (bus.subscription("query").await["url"] == events_url.as_str()).then_some(())
    })
    .await;
    let readyz = query.get("/readyz").await;
    assert_eq!(
        (readyz.status, readyz.json()),
        (503, json!({"status": "not_ready"}))
    );
    assert_eq!(query.get("/posts").await.body, "{}");

    let resume = http
        .post(bus.at("/subscriptions/query/resume"))
        .send()
        .await
        .unwrap();
    assert!(resume.status().is_success());
    query.until_ready().await;
    let posts = query.get("/posts").await;
    assert_eq!(
        posts.applied(),
        last,
        "ready means everything up to the head is applied"
    );
}

#[tokio::test]
async fn a_restart_with_no_state_rebuilds_the_same_posts() {
    let bus = spawn_bus().await;
    let last = blog(&bus).await;
    let dir = tempfile::tempdir().unwrap();
    let query = QueryApp::start(&bus, dir.path(), false).await;
    let before = query.posts_after(last).await;
    assert!(before.contains(r#""status":"rejected""#), "{before}");
    query.stop().await;

    let fresh = tempfile::tempdir().unwrap();
    let query = QueryApp::start(&bus, fresh.path(), false).await;
    query.until_ready().await;
    assert_eq!(query.posts().await, before);
}

#[tokio::test]
async fn with_persist_a_restart_resumes_from_its_checkpoint() {
    let bus = spawn_bus().await;
    let last = blog(&bus).await;
    let dir = tempfile::tempdir().unwrap();
    let query = QueryApp::start(&bus, dir.path(), true).await;
    let before = query.posts_after(last).await;
    query.stop().await;
    let delivered = bus.subscription("query").await["delivered"]
        .as_u64()
        .unwrap();
    assert_eq!(delivered, last);

    let query = QueryApp::start(&bus, dir.path(), true).await;
    query.until_ready().await;
    assert_eq!(query.posts().await, before, "the state came from the store");
    let status = bus.subscription("query").await;
    assert_eq!(
        status["cursor"], last,
        "registered after its checkpoint: {status}"
    );
    let next = publish(&bus, &[comment_created("c4", "p2", "after the restart")]).await[0];
    query.posts_after(next).await;
    let status = eventually("the bus to record the acknowledgement", || async {
        let status = bus.subscription("query").await;
        (status["cursor"] == next).then_some(status)
    })
    .await;
    assert_eq!(
        status["delivered"].as_u64(),
        Some(delivered + 1),
        "only the new event was delivered, nothing replayed: {status}"
    );
    assert_eq!(
        query.get("/posts/p2").await.json()["comments"][1]["id"],
        "c4"
    );
}

#[tokio::test]
async fn with_persist_another_log_starts_the_projection_over() {
    let old_bus = spawn_bus().await;
    let last = blog(&old_bus).await;
    let dir = tempfile::tempdir().unwrap();
    let query = QueryApp::start(&old_bus, dir.path(), true).await;
    query.posts_after(last).await;
    query.stop().await;

    // Another store, so another log_id, and a head above the old checkpoint.
    let new_bus = spawn_bus().await;
    let mut events: Vec<_> = (0..10)
        .map(|n| post_created(&format!("n{n}"), "new"))
        .collect();
    events.push(post_created("only", "on the new log"));
    publish(&new_bus, &events).await;
    let query = QueryApp::start(&new_bus, dir.path(), true).await;
    query.until_ready().await;
    let posts = query.get("/posts").await.json();
    let ids: Vec<_> = posts.as_object().unwrap().keys().cloned().collect();
    assert_eq!(ids.len(), 11, "{posts}");
    assert!(
        !ids.contains(&"p1".to_string()),
        "the old log's posts are gone: {posts}"
    );
    assert_eq!(posts["only"]["title"], "on the new log");
    assert_eq!(query.data_dir(), dir.path());
}

#[tokio::test]
async fn a_bus_that_refuses_the_token_stops_it_saying_why_once() {
    let token = "query-test-token-0123456789";
    let bus = bus::testkit::spawn_bus_with(|c| c.token = Some(token.into())).await;
    let dir = tempfile::tempdir().unwrap();
    let mut args = query::QueryArgs::new(([127, 0, 0, 1], 0).into(), dir.path().into());
    args.service.bus_url = bus.url().into();
    let run = |listener, shutdown| query::run(listener, args, shutdown);
    let ended = bus::testkit::TestService::spawn("query", run)
        .await
        .ended()
        .await;
    let Err(error @ query::QueryError::Register(_)) = ended else {
        panic!("{ended:?}")
    };
    let printed = bus::testkit::assert_each_cause_said_once(&error);
    assert!(printed.contains("401"), "{printed}");
}
