//! Starting: with a bus that requires a token, and with a bus that cannot be reached yet.

use crate::helpers::{data_dir, publish_post, spawn_comments_with, start_comments, until_events};
use bus::testkit::{assert_each_cause_said_once, spawn_bus, spawn_bus_with, BusProxy, TestService};
use comments::{CommentsArgs, RunError};
use serde_json::json;

const TOKEN: &str = "comments-test-token-0123456789";

#[tokio::test]
async fn with_a_bus_token_every_call_to_the_bus_carries_it() {
    let bus = spawn_bus_with(|c| c.token = Some(TOKEN.into())).await;
    let dir = data_dir();
    let comments = spawn_comments_with(bus.url(), dir.path(), |args| {
        args.service.bus_token = Some(TOKEN.into());
    })
    .await;
    let post = json!({"type": "PostCreated", "data": {"id": "p1", "title": "t"}});
    let published = reqwest::Client::new()
        .post(bus.at("/events"))
        .bearer_auth(TOKEN)
        .json(&post)
        .send()
        .await
        .expect("publish");
    assert_eq!(published.status(), 201);
    let (seq, _) = comments.comment("p1", "hello").await;
    assert!(seq.is_some(), "the relay published with the token");
    // The catch-up check reads the subscription with the token: a 404, not a 503.
    let (status, _, body, _) = comments.comment_raw("p2", json!({"content": "x"})).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn a_bus_down_at_start_is_waited_for_and_comments_serve_meanwhile() {
    let bus = spawn_bus().await;
    let proxy = BusProxy::start(bus.url()).await;
    proxy.set_down(true);
    let dir = data_dir();
    let comments = start_comments(proxy.url(), dir.path()).await;
    let readyz = format!("{}/readyz", comments.url());
    let (status, _, body, _) = comments.comment_raw("p1", json!({"content": "x"})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("post_unverified"))
    );
    assert_eq!(reqwest::get(&readyz).await.expect("readyz").status(), 503);

    publish_post(&bus, "p1").await;
    proxy.set_down(false);
    comments.until_ready().await;
    comments.comment("p1", "once registered").await;
    until_events(&bus, "CommentCreated", 1).await;
}

#[tokio::test]
async fn a_bus_that_refuses_the_token_stops_it_saying_why_once() {
    let bus = spawn_bus_with(|c| c.token = Some(TOKEN.into())).await;
    let dir = data_dir();
    let mut args = CommentsArgs::new(([127, 0, 0, 1], 0).into(), dir.path().into());
    args.service.bus_url = bus.url().into();
    args.service.bus_token = Some("a-wrong-token-of-thirty-characters".into());
    let run = |listener, shutdown| comments::run(listener, args, shutdown);
    let ended = TestService::spawn("comments", run).await.ended().await;
    let Err(error @ RunError::Registration(_)) = ended else {
        panic!("{ended:?}")
    };
    let printed = assert_each_cause_said_once(&error);
    assert!(printed.contains("401"), "{printed}");
}
