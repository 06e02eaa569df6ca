//! comments' `/openapi.json` says what it serves: the document's operations are the
//! routes, and schemathesis, generating requests from it, finds nothing.

use crate::helpers::{data_dir, publish_post, spawn_comments};
use bus::testkit::tools::schemathesis;
use bus::testkit::{assert_documented_routes_are_served, documented_operations, spawn_bus};
use std::process::Command;

#[tokio::test]
async fn the_document_lists_the_routes_deliveries_and_health_and_each_is_served() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let comments = spawn_comments(bus.url(), dir.path()).await;
    let operations = documented_operations(&comments.url).await;
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
    assert_documented_routes_are_served(&comments.url).await;
}

/// Examples per operation and phase.
const MAX_EXAMPLES: &str = "100";
/// Fixed, so that a failure is reproducible with the same command.
const SEED: &str = "20261130";
/// The run is killed after this long (coreutils `timeout`).
const DEADLINE_SECONDS: &str = "300";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_the_document_does_not_say() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let comments = spawn_comments(bus.url(), dir.path()).await;
    publish_post(&bus, "p1").await;
    let scratch = tempfile::tempdir().expect("a scratch dir");
    let mut command = Command::new("timeout");
    command
        .args(["--kill-after=10", DEADLINE_SECONDS])
        .arg(schemathesis())
        .arg("run")
        .arg(format!("{}/openapi.json", comments.url))
        .args(["--checks", "all"])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", SEED, "--generation-deterministic"])
        .args(["--workers", "1", "--request-timeout", "10"])
        .args(["--suppress-health-check", "too_slow"])
        .args(["--no-color", "--output-truncate", "true"])
        .current_dir(scratch.path());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the schemathesis thread")
        .expect("schemathesis runs (scripts/install-test-tools.sh installs it)");
    assert!(
        output.status.success(),
        "schemathesis found something (exit {:?}):\n{}\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
