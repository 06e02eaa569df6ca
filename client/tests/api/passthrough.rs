//! Every route against fake upstreams: it reaches the right service at the right path with
//! its query string, body and the headers that go; the answer's status, body and headers
//! come back unchanged, and nothing else; the bus alone gets the token; a body over the
//! limit and an upstream that does not answer in time are refused by the gateway.

use crate::fake_upstream::{FakeUpstream, BODY};
use crate::helpers::TestGateway;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::{Duration, Instant};

const TOKEN: &str = "the-gateway-holds-this-token";

/// The four fake upstreams (posts, comments, query, bus) and a gateway to them, with
/// `--admin-actions`.
async fn gateway_to_fakes() -> ([FakeUpstream; 4], TestGateway) {
    let fakes = [
        FakeUpstream::start().await,
        FakeUpstream::start().await,
        FakeUpstream::start().await,
        FakeUpstream::start().await,
    ];
    let gateway = TestGateway::start_with(|args| {
        args.posts_url.clone_from(&fakes[0].url);
        args.comments_url.clone_from(&fakes[1].url);
        args.query_url = format!("{}/", fakes[2].url);
        args.bus_url.clone_from(&fakes[3].url);
        args.bus_token = Some(TOKEN.into());
        args.admin_actions = true;
    })
    .await;
    (fakes, gateway)
}

/// Every route: method, the gateway's path, the upstream (index into the fakes), the
/// upstream's path.
const ROUTES: [(&str, &str, usize, &str); 15] = [
    ("POST", "/posts", 0, "/posts"),
    ("POST", "/posts/create", 0, "/posts/create"),
    (
        "GET",
        "/posts?min_seq=3&wait_ms=100",
        2,
        "/posts?min_seq=3&wait_ms=100",
    ),
    (
        "GET",
        "/posts/ab%20c?min_seq=1",
        2,
        "/posts/ab%20c?min_seq=1",
    ),
    ("POST", "/posts/abc/comments", 1, "/posts/abc/comments"),
    ("GET", "/posts/abc/comments", 1, "/posts/abc/comments"),
    (
        "GET",
        "/bus/events?after=5&type=PostCreated&type=CommentCreated",
        3,
        "/events?after=5&type=PostCreated&type=CommentCreated",
    ),
    (
        "GET",
        "/bus/events/stream?after=2",
        3,
        "/events/stream?after=2",
    ),
    ("GET", "/bus/subscriptions", 3, "/subscriptions"),
    (
        "GET",
        "/bus/subscriptions/query-1",
        3,
        "/subscriptions/query-1",
    ),
    (
        "GET",
        "/bus/subscriptions/query/dead-letters",
        3,
        "/subscriptions/query/dead-letters",
    ),
    ("GET", "/bus/info", 3, "/info"),
    (
        "POST",
        "/bus/subscriptions/query/pause",
        3,
        "/subscriptions/query/pause",
    ),
    (
        "POST",
        "/bus/subscriptions/query/resume",
        3,
        "/subscriptions/query/resume",
    ),
    (
        "POST",
        "/bus/subscriptions/query/rewind",
        3,
        "/subscriptions/query/rewind",
    ),
];

#[tokio::test]
async fn every_route_reaches_its_upstream_and_its_answer_comes_back_unchanged() {
    let (fakes, gateway) = gateway_to_fakes().await;
    for (method, path, upstream, upstream_path) in ROUTES {
        let method: Method = method.parse().expect("a method");
        let body = format!("{{\"sent\": \"{path}\"}}");
        let answer = gateway
            .http
            .request(method.clone(), gateway.at(path))
            .header("content-type", "application/json")
            .header("authorization", "Bearer from-the-browser")
            .header("last-event-id", "9")
            .header("cookie", "session=1")
            .body(body.clone())
            .send()
            .await
            .expect("an answer");
        assert_eq!(answer.status(), StatusCode::ACCEPTED, "{method} {path}");
        let headers = answer.headers();
        for (name, value) in [
            ("content-type", "application/json"),
            ("location", "/posts/abc"),
            ("retry-after", "7"),
            ("minibus-seq", "42"),
            ("minibus-applied-seq", "41"),
        ] {
            assert_eq!(
                headers.get(name).map(|v| v.to_str().expect("ascii")),
                Some(value),
                "{path} {name}"
            );
        }
        for name in ["set-cookie", "x-upstream-only"] {
            assert!(headers.get(name).is_none(), "{path}: {name} passed");
        }
        assert_eq!(answer.text().await.expect("a body"), BODY, "{path}");

        let seen = fakes[upstream].last();
        assert_eq!(
            (&seen.method, seen.target.as_str()),
            (&method, upstream_path)
        );
        assert_eq!(
            seen.header("content-type"),
            Some("application/json"),
            "{path}"
        );
        assert_eq!(seen.header("last-event-id"), Some("9"), "{path}");
        assert_eq!(seen.header("cookie"), None, "{path}");
        let token = (upstream == 3).then(|| format!("Bearer {TOKEN}"));
        assert_eq!(seen.header("authorization"), token.as_deref(), "{path}");
        if method == Method::POST {
            assert_eq!(seen.body, body.as_bytes(), "{path}");
        }
    }
    let reached: usize = fakes.iter().map(|fake| fake.seen().len()).sum();
    assert_eq!(reached, ROUTES.len(), "one request upstream per call");
    gateway.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_by_the_gateway() {
    let (fakes, gateway) = gateway_to_fakes().await;
    let huge = format!("{{\"title\": \"{}\"}}", "x".repeat(client::MAX_BODY_BYTES));
    let answer = gateway.http.post(gateway.at("/posts")).body(huge);
    let answer = answer
        .header("content-type", "application/json")
        .send()
        .await;
    let answer = answer.expect("an answer");
    assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = answer.json().await.expect("JSON");
    assert_eq!(body["error"], "body_too_large");
    assert!(fakes[0].seen().is_empty(), "nothing reached posts");
    gateway.stop().await;
}

#[tokio::test]
async fn an_upstream_slower_than_the_call_timeout_is_named_in_a_504() {
    let fake = FakeUpstream::start().await;
    let gateway =
        TestGateway::start_with(|args| args.query_url = format!("{}/slow", fake.url)).await;
    let started = Instant::now();
    let answer = gateway
        .http
        .get(gateway.at("/posts"))
        .send()
        .await
        .expect("an answer");
    let took = started.elapsed();
    assert_eq!(answer.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(took >= client::CALL_TIMEOUT, "answered after {took:?}");
    assert!(
        took < client::CALL_TIMEOUT + Duration::from_secs(5),
        "answered after {took:?}"
    );
    let body: Value = answer.json().await.expect("JSON");
    assert_eq!(
        (&body["error"], &body["service"]),
        (&"upstream_timeout".into(), &"query".into())
    );
    assert_eq!(fake.last().target, "/slow/posts");
    gateway.stop().await;
}
