//! The bus's views and actions through the gateway, which adds the bus's token: the log,
//! its live stream, the subscriptions; pause, resume and rewind only with
//! `--admin-actions`.

use crate::stack::TestStack;
use bus::testkit::eventually;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

async fn json_of(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let answer = request.send().await.expect("an answer");
    (answer.status(), answer.json().await.expect("JSON"))
}

/// query's subscription as the bus itself reports it.
async fn query_subscription(stack: &TestStack) -> Value {
    let (status, body) = json_of(stack.bus_get("/subscriptions/query")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn the_bus_views_answer_what_the_bus_answers() {
    let stack = TestStack::start().await;
    let gateway = stack.gateway(false).await;
    let http = gateway.http();
    let post = http
        .post(gateway.at("/posts"))
        .json(&json!({"title": "Logged"}));
    assert_eq!(
        post.send().await.expect("posts").status(),
        StatusCode::CREATED
    );

    let (status, events) = json_of(http.get(gateway.at("/bus/events?after=0&limit=10"))).await;
    assert_eq!(status, StatusCode::OK, "{events}");
    let (_, direct) = json_of(stack.bus_get("/events?after=0&limit=10")).await;
    assert_eq!(events, direct);
    assert!(events.to_string().contains("PostCreated"), "{events}");

    let (status, info) = json_of(http.get(gateway.at("/bus/info"))).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    let (status, all) = json_of(http.get(gateway.at("/bus/subscriptions"))).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert!(all.to_string().contains("\"query\""), "{all}");
    let (status, query) = json_of(http.get(gateway.at("/bus/subscriptions/query"))).await;
    assert_eq!((status, &query["name"]), (StatusCode::OK, &json!("query")));
    let letters = http.get(gateway.at("/bus/subscriptions/query/dead-letters"));
    assert_eq!(json_of(letters).await.0, StatusCode::OK);
    let (status, missing) = json_of(http.get(gateway.at("/bus/subscriptions/nope"))).await;
    assert_eq!(
        (status, &missing["error"]),
        (StatusCode::NOT_FOUND, &json!("not_found"))
    );
    gateway.stop().await;
}

#[tokio::test]
async fn the_event_stream_passes_through_unbuffered_from_the_last_event_id() {
    let stack = TestStack::start().await;
    let gateway = stack.gateway(false).await;
    let http = gateway.http();
    let first = http
        .post(gateway.at("/posts"))
        .json(&json!({"title": "Before"}));
    let first = first.send().await.expect("posts");
    let before: u64 = first.headers()["minibus-seq"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("a seq");

    let stream = http.get(gateway.at("/bus/events/stream"));
    let stream = stream
        .header("last-event-id", before.to_string())
        .send()
        .await;
    let stream = stream.expect("an answer");
    assert_eq!(stream.status(), StatusCode::OK);
    let kind = stream.headers()["content-type"].to_str().expect("ascii");
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    // Published after the stream opened: it can only arrive if the gateway passes the
    // stream on as it comes.
    let after = http
        .post(gateway.at("/posts"))
        .json(&json!({"title": "After the stream opened"}));
    assert_eq!(
        after.send().await.expect("posts").status(),
        StatusCode::CREATED
    );

    let mut chunks = stream.bytes_stream();
    let mut text = String::new();
    let arrived = tokio::time::timeout(Duration::from_secs(10), async {
        while !text.contains("After the stream opened") {
            let chunk = chunks
                .next()
                .await
                .expect("the stream goes on")
                .expect("a chunk");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    });
    arrived
        .await
        .unwrap_or_else(|_| panic!("the event did not come through: {text:?}"));
    assert!(
        !text.contains("\"Before\""),
        "Last-Event-ID was not forwarded: {text}"
    );
    assert!(text.contains(&format!("id: {}", before + 1)), "{text}");
    gateway.stop().await;
}

#[tokio::test]
async fn subscription_actions_are_refused_without_admin_actions() {
    let stack = TestStack::start().await;
    let gateway = stack.gateway(false).await;
    let before = query_subscription(&stack).await["generation"].clone();
    for action in ["pause", "resume", "rewind"] {
        let path = format!("/bus/subscriptions/query/{action}");
        let request = gateway
            .http()
            .post(gateway.at(&path))
            .json(&json!({"after": 0}));
        let (status, body) = json_of(request).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{action}: {body}");
        assert_eq!(body["error"], "admin_actions_disabled", "{action}");
    }
    let query = query_subscription(&stack).await;
    assert_eq!(
        (&query["state"], &query["generation"]),
        (&json!("active"), &before),
        "nothing reached the bus"
    );
    gateway.stop().await;
}

#[tokio::test]
async fn subscription_actions_reach_the_bus_with_admin_actions() {
    let stack = TestStack::start().await;
    let gateway = stack.gateway(true).await;
    let http = gateway.http();
    let pause = http.post(gateway.at("/bus/subscriptions/query/pause"));
    let (status, paused) = json_of(pause).await;
    assert_eq!(
        (status, &paused["state"]),
        (StatusCode::OK, &json!("paused")),
        "{paused}"
    );
    assert_eq!(query_subscription(&stack).await["state"], "paused");

    let resume = http.post(gateway.at("/bus/subscriptions/query/resume"));
    assert_eq!(json_of(resume).await.0, StatusCode::OK);
    eventually("query's subscription to be active again", || async {
        (query_subscription(&stack).await["state"] == "active").then_some(())
    })
    .await;

    let rewind = http.post(gateway.at("/bus/subscriptions/query/rewind"));
    let (status, rewound) = json_of(rewind.json(&json!({"after": 0}))).await;
    assert_eq!(
        (status, &rewound["after"]),
        (StatusCode::OK, &json!(0)),
        "{rewound}"
    );
    assert_eq!(
        query_subscription(&stack).await["generation"],
        rewound["generation"]
    );
    let refused = http
        .post(gateway.at("/bus/subscriptions/query/rewind"))
        .json(&json!({}));
    assert_eq!(
        json_of(refused).await.0,
        StatusCode::BAD_REQUEST,
        "the body passes through"
    );
    gateway.stop().await;
}

#[tokio::test]
async fn a_stream_passed_on_ends_when_the_gateway_stops() {
    let stack = TestStack::start().await;
    let gateway = stack.gateway(false).await;
    let stream = gateway
        .http()
        .get(gateway.at("/bus/events/stream"))
        .send()
        .await;
    let mut chunks = stream.expect("an answer").bytes_stream();
    // The bus's first line (`retry:`): the stream is open end to end.
    chunks
        .next()
        .await
        .expect("a first chunk")
        .expect("a chunk");
    // Well under the 5 s drain: the gateway ends its streams as it stops, so that an open
    // page does not hold its shutdown up.
    let stopped = tokio::time::timeout(Duration::from_secs(3), async {
        gateway.stop().await;
        while let Some(Ok(_)) = chunks.next().await {}
    });
    stopped
        .await
        .expect("the gateway stopped and ended the stream");
    assert_eq!(
        query_subscription(&stack).await["name"],
        "query",
        "the bus runs on"
    );
}
