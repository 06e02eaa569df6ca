//! moderation's `/openapi.json` says what it serves: the document's operations are the
//! routes, and schemathesis, generating requests from it, finds nothing. It warns that
//! `POST /events` answered only 401: it cannot sign a delivery with the secret moderation
//! registered, which is the point (`deliveries.rs` delivers through the bus).

use crate::helpers::spawn_moderation;
use bus::testkit::{
    assert_documented_routes_are_served, documented_operations, spawn_bus, Schemathesis,
};

#[tokio::test]
async fn the_document_lists_deliveries_and_health_and_each_is_served() {
    let bus = spawn_bus().await;
    let moderation = spawn_moderation(bus.url(), |_| {}).await;
    let operations = documented_operations(moderation.url()).await;
    let expected = [
        ("GET", "/healthz"),
        ("GET", "/openapi.json"),
        ("GET", "/readyz"),
        ("POST", "/events"),
    ]
    .map(|(m, p)| (m.to_string(), p.to_string()));
    assert_eq!(operations, expected);
    assert_documented_routes_are_served(moderation.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_the_document_does_not_say() {
    let bus = spawn_bus().await;
    let moderation = spawn_moderation(bus.url(), |_| {}).await;
    Schemathesis::default()
        .assert_finds_nothing(moderation.url())
        .await;
}
