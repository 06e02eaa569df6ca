//! posts' `/openapi.json`: it lists exactly what posts serves, and schemathesis (PyPI),
//! generating requests from it (valid ones and ones that break it) with every check it
//! has, finds nothing it does not say. The run is bounded and reproducible: a fixed number
//! of examples per operation, a fixed seed, one worker, a deadline.

use crate::helpers::{data_dir, TestPosts};
use bus::testkit::tools::{schemathesis, workspace_root};
use bus::testkit::{assert_documented_routes_are_served, documented_operations, spawn_bus};
use std::process::{Command, Output};

/// Examples per operation and phase: enough to reach the title's bounds.
const MAX_EXAMPLES: &str = "100";
/// Fixed, so that a failure is reproducible with the same command.
const SEED: &str = "20261130";
/// The run is killed after this long (coreutils `timeout`).
const DEADLINE_SECONDS: &str = "240";

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
    let output = run_schemathesis(&posts.at("/openapi.json")).await;
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis found something (exit {:?}):\n{report}",
        output.status.code()
    );
}

/// Runs `st run` against the document at `url` to its end, in a scratch directory.
async fn run_schemathesis(url: &str) -> Output {
    let scratch = tempfile::tempdir().expect("a scratch dir");
    let settings = workspace_root().join("posts/tests/api/schemathesis.toml");
    let mut command = Command::new("timeout");
    command
        .args(["--kill-after=10", DEADLINE_SECONDS])
        .arg(schemathesis())
        .arg("--config-file")
        .arg(settings)
        .arg("run")
        .arg(url)
        .args(["--checks", "all"])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", SEED, "--generation-deterministic"])
        .args(["--workers", "1", "--request-timeout", "10"])
        // A health check of the generator, not of posts: it fails a run whose examples
        // take long to generate, as they may on a loaded machine.
        .args(["--suppress-health-check", "too_slow"])
        .args(["--no-color", "--output-truncate", "true"])
        .current_dir(scratch.path());
    tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the schemathesis thread")
        .expect("schemathesis runs (scripts/install-test-tools.sh installs it)")
}
