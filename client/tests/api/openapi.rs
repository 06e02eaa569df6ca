//! The gateway's `/openapi.json` says what it serves: the document's operations are the
//! routes, its request rules are the upstreams' own, and schemathesis, generating requests
//! from it against the real stack behind the gateway, finds nothing.

use crate::stack::{TestStack, TOKEN};
use bus::testkit::tools::workspace_root;
use bus::testkit::{assert_documented_routes_are_served, documented_operations, Schemathesis};
use serde_json::{json, Value};
use std::path::PathBuf;

async fn document(url: &str, token: Option<&str>) -> Value {
    let request = reqwest::Client::new().get(format!("{url}/openapi.json"));
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    request
        .send()
        .await
        .expect("an answer")
        .json()
        .await
        .expect("JSON")
}

/// The parameter `name` of `GET path` in `doc` (`null` if there is none).
fn parameter(doc: &Value, path: &str, name: &str) -> Value {
    let parameters = doc["paths"][path]["get"]["parameters"].as_array();
    let found = parameters.and_then(|all| all.iter().find(|p| p["name"] == name));
    found.cloned().unwrap_or(Value::Null)
}

#[tokio::test]
async fn the_document_lists_every_gateway_route_and_each_is_served() {
    let stack = TestStack::start().await;
    let gateway = stack.gateway(false).await;
    let operations = documented_operations(&gateway.at("")).await;
    let expected = [
        ("GET", "/bus/events"),
        ("GET", "/bus/events/stream"),
        ("GET", "/bus/info"),
        ("GET", "/bus/subscriptions"),
        ("GET", "/bus/subscriptions/{name}"),
        ("GET", "/bus/subscriptions/{name}/dead-letters"),
        ("GET", "/healthz"),
        ("GET", "/openapi.json"),
        ("GET", "/posts"),
        ("GET", "/posts/{id}"),
        ("GET", "/posts/{id}/comments"),
        ("GET", "/readyz"),
        ("POST", "/bus/subscriptions/{name}/pause"),
        ("POST", "/bus/subscriptions/{name}/resume"),
        ("POST", "/bus/subscriptions/{name}/rewind"),
        ("POST", "/posts"),
        ("POST", "/posts/create"),
        ("POST", "/posts/{id}/comments"),
    ]
    .map(|(m, p)| (m.to_string(), p.to_string()));
    assert_eq!(operations, expected);
    assert_documented_routes_are_served(&gateway.at("")).await;
    gateway.stop().await;
}

#[tokio::test]
async fn the_request_rules_are_the_upstreams_own() {
    let stack = TestStack::start().await;
    let gateway = stack.gateway(false).await;
    let ours = document(&gateway.at(""), None).await;
    let posts = document(stack.posts.url(), None).await;
    let comments = document(stack.comments.url(), None).await;
    let query = document(stack.query.url(), None).await;
    let bus = document(stack.bus.url(), Some(TOKEN)).await;
    let schema = |doc: &Value, name: &str| doc["components"]["schemas"][name].clone();
    let title = "/properties/title/pattern";
    assert_eq!(
        schema(&ours, "NewPost").pointer(title),
        schema(&posts, "NewPost").pointer(title)
    );
    let content = "/properties/content/pattern";
    let theirs = schema(&comments, "NewComment");
    assert_eq!(
        schema(&ours, "NewComment").pointer(content),
        theirs.pointer(content)
    );
    let ours_type = parameter(&ours, "/bus/events", "type")["schema"]["items"].clone();
    let bus_type = schema(&bus, "EventType");
    for rule in ["pattern", "minLength", "maxLength"] {
        assert_eq!(ours_type[rule], bus_type[rule], "{rule}");
    }
    let ours_rewind = schema(&ours, "RewindBody");
    let bus_rewind = schema(&bus, "RewindRequest");
    for rule in [
        "/oneOf",
        "/additionalProperties",
        "/properties/after/type",
        "/properties/after/maximum",
    ] {
        let found = ours_rewind.pointer(rule);
        assert_eq!(found, bus_rewind.pointer(rule), "{rule}");
        assert!(found.is_some(), "{rule}");
    }
    let wait = |doc: &Value| parameter(doc, "/posts", "wait_ms")["schema"]["maximum"].clone();
    assert_eq!(wait(&ours), wait(&query));
    assert_eq!(wait(&ours), json!(10000));
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_the_document_does_not_say() {
    let stack = TestStack::start().await;
    let gateway = stack.gateway(true).await;
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/api");
    // query's own hooks: they shorten the wait of generated `min_seq` requests, which the
    // gateway passes on to query unchanged.
    let query_hooks = workspace_root().join("query/tests/api/schemathesis/hooks.py");
    Schemathesis {
        config_file: Some(here.join("schemathesis.toml")),
        hooks: Some(query_hooks),
        // Endless: it is tested in bus_views.rs.
        exclude_paths: vec!["/bus/events/stream".into()],
        ..Schemathesis::default()
    }
    .assert_finds_nothing(&gateway.at(""))
    .await;
    gateway.stop().await;
}
