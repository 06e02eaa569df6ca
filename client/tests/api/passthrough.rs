//! Every route against fake upstreams: it reaches the right service at the right path with
//! its query string, body and the headers that go; the answer's status, body and headers
//! come back unchanged, and nothing else; the bus alone gets the token; a body over the
//! limit and an upstream that does not answer in time are refused by the gateway; a call's
//! answer is never cut short by the gateway's shutdown; the bus refusing the gateway's
//! token is the gateway's fault, not the browser's.

use crate::fake_upstream::{FakeUpstream, BODY, HALVES};
use crate::helpers::TestGateway;
use bus::testkit::eventually;
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::{Duration, Instant};

const TOKEN: &str = "the-gateway-holds-this-token";

/// The four fake upstreams (posts, comments, query, bus) and a gateway to them, with
/// `--admin-actions`.
pub(crate) async fn gateway_to_fakes() -> ([FakeUpstream; 4], TestGateway) {
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
            .http()
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
    let answer = gateway.http().post(gateway.at("/posts")).body(huge);
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

/// The call timeout of the tests that wait for it.
const SHORT_CALL_TIMEOUT: Duration = Duration::from_millis(200);

#[tokio::test]
async fn an_upstream_slower_than_the_call_timeout_is_named_in_a_504() {
    let fake = FakeUpstream::start().await;
    let gateway = TestGateway::start_with_call_timeout(SHORT_CALL_TIMEOUT, |args| {
        args.query_url = format!("{}/slow", fake.url);
        args.bus_url = format!("{}/slow", fake.url);
    })
    .await;
    for (path, service, upstream_path) in [
        ("/posts", "query", "/slow/posts"),
        ("/bus/events/stream", "bus", "/slow/events/stream"),
    ] {
        let started = Instant::now();
        let answer = gateway.http().get(gateway.at(path)).send().await;
        let answer = answer.expect("an answer");
        let took = started.elapsed();
        assert_eq!(answer.status(), StatusCode::GATEWAY_TIMEOUT, "{path}");
        assert!(took >= SHORT_CALL_TIMEOUT, "{path} answered after {took:?}");
        assert!(
            took < Duration::from_secs(3),
            "{path} answered after {took:?}"
        );
        let body: Value = answer.json().await.expect("JSON");
        assert_eq!(
            (&body["error"], &body["service"]),
            (&"upstream_timeout".into(), &service.into())
        );
        assert_eq!(fake.last().target, upstream_path);
    }
    gateway.stop().await;
}

#[tokio::test]
async fn a_calls_answer_in_flight_at_shutdown_ends_whole() {
    let fake = FakeUpstream::start().await;
    let gateway =
        TestGateway::start_with(|args| args.query_url = format!("{}/halves", fake.url)).await;
    let answer = gateway.http().get(gateway.at("/posts")).send().await;
    let mut chunks = answer.expect("an answer").bytes_stream();
    let first = chunks.next().await.expect("a first chunk").expect("bytes");
    assert!(HALVES.as_bytes().starts_with(&first), "{first:?}");
    gateway.begin_shutdown();
    // Once it no longer accepts, its shutdown is under way (a cut-short answer would have
    // ended by then).
    eventually("the gateway to stop accepting connections", || async {
        let refused = tokio::net::TcpStream::connect(gateway.authority()).await;
        refused.is_err().then_some(())
    })
    .await;
    fake.release();
    let mut text = String::from_utf8_lossy(&first).into_owned();
    while let Some(chunk) = chunks.next().await {
        match chunk {
            Ok(chunk) => text.push_str(&String::from_utf8_lossy(&chunk)),
            Err(e) => panic!("the answer broke off after {text:?}: {e}"),
        }
    }
    assert_eq!(text, HALVES, "the answer ended cut short, as if whole");
    gateway.stop().await;
}

#[tokio::test]
async fn the_bus_refusing_the_gateways_token_is_a_502_not_its_401() {
    let fake = FakeUpstream::start().await;
    let gateway = TestGateway::start_with(|args| {
        args.bus_url = format!("{}/refuse", fake.url);
        args.query_url = format!("{}/refuse", fake.url);
        args.bus_token = Some(TOKEN.into());
    })
    .await;
    for path in ["/bus/info", "/bus/events/stream"] {
        let answer = gateway.http().get(gateway.at(path)).send().await;
        let answer = answer.expect("an answer");
        assert_eq!(answer.status(), StatusCode::BAD_GATEWAY, "{path}");
        let body: Value = answer.json().await.expect("JSON");
        assert_eq!(body["error"], "upstream_refused_token", "{path}: {body}");
        assert_eq!(body["service"], "bus", "{path}: {body}");
    }
    // Another service's 401 is its own answer, passed on.
    let answer = gateway.http().get(gateway.at("/posts")).send().await;
    assert_eq!(
        answer.expect("an answer").status(),
        StatusCode::UNAUTHORIZED
    );
    gateway.stop().await;
}
