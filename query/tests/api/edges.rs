//! Deliveries nobody signed, and CORS for the course's page.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn a_forged_delivery_is_refused_with_401_and_applies_nothing() {
    let bus = spawn_bus().await;
    let dir = tempfile::tempdir().unwrap();
    let query = QueryApp::start(&bus, dir.path(), false).await;
    query.until_ready().await;
    let forged = json!({"seq": 1, "id": "x", "type": "PostCreated", "time": "2026-11-30T00:00:00Z",
        "data": {"id": "forged", "title": "nobody wrote this"}});
    let http = reqwest::Client::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let unsigned = http.post(format!("{}/events", query.url())).json(&forged);
    let badly_signed = http
        .post(format!("{}/events", query.url()))
        .header("webhook-id", "x")
        .header("webhook-timestamp", now)
        .header(
            "webhook-signature",
            "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .json(&forged);
    for request in [unsigned, badly_signed] {
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), 401);
    }
    assert_eq!(query.posts().await, "{}");
}

/// A CORS preflight of `GET /posts` from `origin`: the allowed origin answered, if any.
async fn preflight(query: &QueryApp, origin: &str) -> Option<String> {
    let answer = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{}/posts", query.url()))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    let allowed = answer.headers().get("access-control-allow-origin");
    allowed.map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn any_origin_may_read_unless_cors_origin_restricts_it() {
    let bus = spawn_bus().await;
    let dir = tempfile::tempdir().unwrap();
    let open = QueryApp::start(&bus, dir.path(), false).await;
    assert_eq!(
        preflight(&open, "http://posts.com").await.as_deref(),
        Some("*")
    );
    let get = reqwest::Client::new()
        .get(format!("{}/posts", open.url()))
        .header("origin", "http://posts.com")
        .send()
        .await
        .unwrap();
    let exposed = get.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.contains("minibus-applied-seq"), "{exposed}");

    let other = tempfile::tempdir().unwrap();
    let restricted = QueryApp::start_with(&bus, other.path(), |args| {
        args.cors.origins = vec!["http://posts.com".into()];
    })
    .await;
    assert_eq!(
        preflight(&restricted, "http://posts.com").await.as_deref(),
        Some("http://posts.com")
    );
    assert_eq!(preflight(&restricted, "http://evil.test").await, None);
}

#[tokio::test]
async fn every_answer_carries_the_seq_applied() {
    let bus = spawn_bus().await;
    let dir = tempfile::tempdir().unwrap();
    let query = QueryApp::start(&bus, dir.path(), false).await;
    let seq = publish(&bus, &[post_created("p1", "one")]).await[0];
    query.posts_after(seq).await;
    for path in [
        "/posts",
        "/posts/p1",
        "/posts/nope",
        "/readyz",
        "/healthz",
        "/openapi.json",
        "/nowhere",
    ] {
        assert_eq!(query.get(path).await.applied(), seq, "{path}");
    }
}

#[tokio::test]
async fn each_replica_subscribes_under_its_own_name() {
    let bus = spawn_bus().await;
    let seq = publish(&bus, &[post_created("p1", "one")]).await[0];
    let dir = tempfile::tempdir().unwrap();
    let replica = QueryApp::start_with(&bus, dir.path(), |args| {
        args.subscription_name = "query-1".into();
    })
    .await;
    replica.posts_after(seq).await;
    let status = bus.get_json("/subscriptions/query-1").await;
    assert_eq!(status["url"], format!("{}/events", replica.url()));
    let all = bus.get_json("/subscriptions").await;
    let names: Vec<_> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(names, [json!("query-1")]);
}
