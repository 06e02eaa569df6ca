//! An upstream that is down: `502 upstream_unavailable` naming it, quickly, on every route.

use crate::helpers::{nothing_listening, TestGateway};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Far less than a hang, and more than the 1 s connect timeout on a loaded machine.
const QUICKLY: Duration = Duration::from_secs(3);

#[tokio::test]
async fn each_upstream_that_is_down_is_named_in_a_quick_502() {
    let down = nothing_listening().await;
    let gateway = TestGateway::start_with(|args| {
        args.posts_url.clone_from(&down);
        args.comments_url.clone_from(&down);
        args.query_url.clone_from(&down);
        args.bus_url.clone_from(&down);
        args.admin_actions = true;
    })
    .await;
    let calls = [
        ("POST", "/posts", "posts"),
        ("POST", "/posts/create", "posts"),
        ("GET", "/posts", "query"),
        ("GET", "/posts/abc", "query"),
        ("POST", "/posts/abc/comments", "comments"),
        ("GET", "/posts/abc/comments", "comments"),
        ("GET", "/bus/events", "bus"),
        ("GET", "/bus/events/stream", "bus"),
        ("GET", "/bus/subscriptions", "bus"),
        ("GET", "/bus/subscriptions/query", "bus"),
        ("GET", "/bus/subscriptions/query/dead-letters", "bus"),
        ("GET", "/bus/info", "bus"),
        ("POST", "/bus/subscriptions/query/pause", "bus"),
        ("POST", "/bus/subscriptions/query/resume", "bus"),
        ("POST", "/bus/subscriptions/query/rewind", "bus"),
    ];
    for (method, path, service) in calls {
        let started = Instant::now();
        let request = match method {
            "POST" => gateway
                .http()
                .post(gateway.at(path))
                .json(&serde_json::json!({"title": "t"})),
            _ => gateway.http().get(gateway.at(path)),
        };
        let answer = request.send().await.expect("an answer");
        assert!(
            started.elapsed() < QUICKLY,
            "{method} {path} took {:?}",
            started.elapsed()
        );
        assert_eq!(answer.status(), 502, "{method} {path}");
        let body: Value = answer.json().await.expect("JSON");
        assert_eq!(body["error"], "upstream_unavailable", "{method} {path}");
        assert_eq!(body["service"], service, "{method} {path}");
    }
    gateway.stop().await;
}
