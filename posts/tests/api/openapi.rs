//! posts' `/openapi.json`: it lists exactly what posts serves, and schemathesis (PyPI),
//! generating requests from it (valid ones and ones that break it) with every check it
//! has, finds nothing it does not say. The run is bounded and reproducible: a fixed number
//! of examples per operation, a fixed seed, one worker, a deadline.

use crate::helpers::{data_dir, TestPosts};
use bus::testkit::tools::workspace_root;
use bus::testkit::{
    assert_documented_routes_are_served, documented_operations, spawn_bus, Schemathesis,
};

#[tokio::test]
async fn the_document_lists_exactly_what_posts_serves() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let posts = TestPosts::start(dir.path(), bus.url()).await;
    let expected = [
        ("GET", "/healthz"),
        ("GET", "/openapi.json"),
        ("GET", "/posts"),
        ("GET", "/readyz"),
        ("POST", "/posts"),
        ("POST", "/posts/create"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented_operations(posts.url()).await, expected);
    assert_documented_routes_are_served(posts.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_the_document_does_not_say() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let posts = TestPosts::start(dir.path(), bus.url()).await;
    let run = Schemathesis {
        config_file: Some(workspace_root().join("posts/tests/api/schemathesis.toml")),
        ..Schemathesis::default()
    };
    run.assert_finds_nothing(posts.url()).await;
}
