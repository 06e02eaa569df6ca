//! CORS: the course's page calls comments from another origin; any origin by default.

use crate::helpers::{data_dir, spawn_comments};
use bus::testkit::spawn_bus;

#[tokio::test]
async fn a_preflight_from_any_origin_is_allowed_and_minibus_seq_is_exposed() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let comments = spawn_comments(bus.url(), dir.path()).await;
    let url = format!("{}/posts/p1/comments", comments.url());
    let preflight = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "http://posts.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .expect("an answer");
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let header = |answer: &reqwest::Response, name: &str| {
        answer
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header(&preflight, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    let methods = header(&preflight, "access-control-allow-methods").unwrap_or_default();
    assert!(methods.contains("POST"), "{methods}");

    let listed = reqwest::Client::new()
        .get(&url)
        .header("origin", "http://posts.com")
        .send()
        .await
        .expect("an answer");
    assert_eq!(
        header(&listed, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    let exposed = header(&listed, "access-control-expose-headers").unwrap_or_default();
    assert!(exposed.contains("minibus-seq"), "{exposed}");
}
