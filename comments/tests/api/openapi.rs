//! comments' `/openapi.json` says what it serves: the document's operations are the
//! routes, and schemathesis, generating requests from it, finds nothing.

use crate::helpers::{data_dir, publish_post, spawn_comments};
use bus::testkit::{
    assert_documented_routes_are_served, documented_operations, spawn_bus, Schemathesis,
};

#[tokio::test]
async fn the_document_lists_the_routes_deliveries_and_health_and_each_is_served() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let comments = spawn_comments(bus.url(), dir.path()).await;
    let operations = documented_operations(comments.url()).await;
    let expected = [
        ("GET", "/healthz"),
        ("GET", "/openapi.json"),
        ("GET", "/posts/{id}/comments"),
        ("GET", "/readyz"),
        ("POST", "/events"),
        ("POST", "/posts/{id}/comments"),
    ]
    .map(|(m, p)| (m.to_string(), p.to_string()));
    assert_eq!(operations, expected);
    assert_documented_routes_are_served(comments.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_the_document_does_not_say() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let comments = spawn_comments(bus.url(), dir.path()).await;
    publish_post(&bus, "p1").await;
    Schemathesis::default()
        .assert_finds_nothing(comments.url())
        .await;
}
