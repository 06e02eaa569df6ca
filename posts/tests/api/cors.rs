//! CORS: preflights answered; any origin by default, only `--cors-origin`'s when given.

use crate::helpers::{data_dir, TestPosts};
use bus::testkit::spawn_bus;
use reqwest::{Method, StatusCode};

/// A browser's preflight of `POST /posts` from `origin`: the status and
/// `Access-Control-Allow-Origin`.
async fn preflight(posts: &TestPosts, origin: &str) -> (StatusCode, Option<String>) {
    let answer = reqwest::Client::new()
        .request(Method::OPTIONS, posts.at("/posts"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    let allowed = answer.headers().get("access-control-allow-origin");
    let allowed = allowed.map(|v| v.to_str().unwrap().to_string());
    (answer.status(), allowed)
}

#[tokio::test]
async fn preflights_are_answered_for_any_origin_by_default() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let posts = TestPosts::start(dir.path(), bus.url()).await;
    let (status, allowed) = preflight(&posts, "http://posts.com").await;
    assert!(status.is_success(), "{status}");
    assert_eq!(allowed.as_deref(), Some("*"));

    let answer = reqwest::Client::new()
        .post(posts.at("/posts"))
        .header("origin", "http://posts.com")
        .json(&serde_json::json!({"title": "from a page"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED);
    let headers = answer.headers();
    assert_eq!(headers["access-control-allow-origin"], "*");
    let exposed = headers["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("minibus-seq"), "{exposed}");
}

#[tokio::test]
async fn cors_origin_restricts_the_origins_allowed() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let posts = TestPosts::start_with(dir.path(), bus.url(), |args| {
        args.cors.origins = vec!["http://posts.com".into()];
    })
    .await;
    let (status, allowed) = preflight(&posts, "http://posts.com").await;
    assert!(status.is_success(), "{status}");
    assert_eq!(allowed.as_deref(), Some("http://posts.com"));
    let (_, allowed) = preflight(&posts, "http://elsewhere.test").await;
    assert_eq!(allowed, None, "another origin is not allowed");
}
