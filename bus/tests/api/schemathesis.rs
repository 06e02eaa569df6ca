//! schemathesis (PyPI) against the bus's own `/openapi.json`: it generates requests from
//! the document (valid ones, and ones that break it) and checks each answer against it
//! with every check it has (no 5xx, documented statuses, content types, response schemas
//! and headers, valid data accepted and invalid data refused, a missing or wrong token
//! refused, resources gone after a delete, …), in all its phases (examples, coverage of
//! every bound, random fuzzing, stateful sequences following the document's links). It
//! must find nothing: the document says what the bus does.
//!
//! The run is bounded and reproducible: a fixed number of examples per operation,
//! deterministic generation from a fixed seed, one worker, no example database, a
//! deadline. What it is told beyond the document, each for a reason given where it is set:
//! - `GET /events/stream` is left out: an endless stream, which a fuzzer that reads each
//!   answer to its end cannot test (`sse.rs` does);
//! - 413 counts as a refusal of bad data (`schemathesis/schemathesis.toml`);
//! - `schemathesis/hooks.py` mends generated valid bodies to keep the two rules JSON Schema
//!   cannot state (each `id` once in an array, `retry.max_ms` ≥ `retry.initial_ms`), and
//!   points the subscriptions it creates at 127.0.0.1, so that nothing leaves the machine.

use crate::helpers::{spawn_app_with, TestApp};
use bus::testkit::tools::{schemathesis, workspace_root};
use std::process::{Command, Output};

/// The bus's token: the run sends it on every request, and the `ignored_auth` check tries
/// each operation without it and with a wrong one.
const TOKEN: &str = "schemathesis-token-0123456789";
/// Examples per operation and phase: enough to reach every documented limit, few enough
/// for about half a minute on two cores. (Runs of 300 with other seeds find nothing either.)
const MAX_EXAMPLES: &str = "100";
/// Fixed, so that a failure is reproducible with the same command.
const SEED: &str = "20261130";
/// The run is killed after this long (coreutils `timeout`): it takes about half a minute.
const DEADLINE_SECONDS: &str = "240";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_the_document_does_not_say() {
    let app = spawn_app_with(|c| c.token = Some(TOKEN.into())).await;
    let output = run_schemathesis(&app).await;
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

/// Runs `st run` against `app` to its end, in a scratch directory (schemathesis writes
/// nothing into the workspace).
async fn run_schemathesis(app: &TestApp) -> Output {
    let scratch = tempfile::tempdir().expect("a scratch dir");
    let settings = workspace_root().join("bus/tests/api/schemathesis");
    let mut command = Command::new("timeout");
    command
        .args(["--kill-after=10", DEADLINE_SECONDS])
        .arg(schemathesis())
        .arg("--config-file")
        .arg(settings.join("schemathesis.toml"))
        .arg("run")
        .arg(app.at("/openapi.json"))
        .args(["--header", &format!("Authorization: Bearer {TOKEN}")])
        .args(["--checks", "all"])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", SEED, "--generation-deterministic"])
        .args(["--workers", "1", "--request-timeout", "10"])
        // A health check of the generator, not of the bus: it fails a run whose examples
        // take long to generate, as they may on a loaded machine.
        .args(["--suppress-health-check", "too_slow"])
        // An endless Server-Sent Events stream: a request never ends, so every one would
        // be a timeout. `sse.rs` tests it.
        .args(["--exclude-path", "/events/stream"])
        .args(["--no-color", "--output-truncate", "true"])
        .env("SCHEMATHESIS_HOOKS", settings.join("hooks.py"))
        .current_dir(scratch.path());
    tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the schemathesis thread")
        .expect("schemathesis runs (scripts/install-test-tools.sh installs it)")
}
