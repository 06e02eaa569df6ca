//! query's `/openapi.json` says what it serves: the document's operations are exactly its
//! routes, the SDK's `POST /events` (which answers an unsigned delivery `401`) among them.

use crate::helpers::QueryApp;
use bus::testkit::{assert_documented_routes_are_served, documented_operations, spawn_bus};

#[tokio::test]
async fn the_document_lists_the_routes_deliveries_and_health_and_each_is_served() {
    let bus = spawn_bus().await;
    let dir = tempfile::tempdir().unwrap();
    let query = QueryApp::start(&bus, dir.path(), false).await;
    let operations = documented_operations(query.url()).await;
    let expected = [
        ("GET", "/healthz"),
        ("GET", "/openapi.json"),
        ("GET", "/posts"),
        ("GET", "/posts/{id}"),
        ("GET", "/readyz"),
        ("POST", "/events"),
    ]
    .map(|(m, p)| (m.to_string(), p.to_string()));
    assert_eq!(operations, expected);
    assert_documented_routes_are_served(query.url()).await;
    let unsigned = reqwest::Client::new()
        .post(format!("{}/events", query.url()))
        .json(&serde_json::json!([]))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401, "served, and refused unsigned");
}
