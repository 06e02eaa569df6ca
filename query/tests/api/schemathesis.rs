//! schemathesis (PyPI) against query's own `/openapi.json`, with every check and in all its
//! phases, as the bus's suite runs it: it must find nothing. The run is bounded and
//! reproducible (fixed examples per operation, a fixed seed, one worker, a deadline).
//! `schemathesis/hooks.py` shortens the wait of generated valid `min_seq` requests (see
//! there why); `POST /events` (the SDK's signed deliveries) is not in the document, and
//! `edges.rs` tests it.

use crate::helpers::*;
use bus::testkit::tools::{schemathesis, workspace_root};
use std::process::{Command, Output};

/// Examples per operation and phase.
const MAX_EXAMPLES: &str = "100";
/// Fixed, so that a failure is reproducible with the same command.
const SEED: &str = "20261130";
/// The run is killed after this long (coreutils `timeout`).
const DEADLINE_SECONDS: &str = "240";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_the_document_does_not_say() {
    let bus = spawn_bus().await;
    let dir = tempfile::tempdir().unwrap();
    let query = QueryApp::start(&bus, dir.path(), false).await;
    let last = publish(
        &bus,
        &[
            post_created("1", "a post whose id a generated path may hit"),
            comment_created("c1", "1", "a comment"),
        ],
    )
    .await[1];
    query.posts_after(last).await;
    let output = run_schemathesis(&query.url).await;
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

/// Runs `st run` against the service at `url` to its end, in a scratch directory.
async fn run_schemathesis(url: &str) -> Output {
    let scratch = tempfile::tempdir().expect("a scratch dir");
    let settings = workspace_root().join("query/tests/api/schemathesis");
    let mut command = Command::new("timeout");
    command
        .args(["--kill-after=10", DEADLINE_SECONDS])
        .arg(schemathesis())
        .arg("run")
        .arg(format!("{url}/openapi.json"))
        .args(["--checks", "all"])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", SEED, "--generation-deterministic"])
        .args(["--workers", "1", "--request-timeout", "10"])
        .args(["--suppress-health-check", "too_slow"])
        .args(["--no-color", "--output-truncate", "true"])
        .env("SCHEMATHESIS_HOOKS", settings.join("hooks.py"))
        .current_dir(scratch.path());
    tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the schemathesis thread")
        .expect("schemathesis runs (scripts/install-test-tools.sh installs it)")
}
