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

use crate::helpers::spawn_app_with;
use bus::testkit::tools::workspace_root;
use bus::testkit::Schemathesis;

/// The bus's token: the run sends it on every request, and the `ignored_auth` check tries
/// each operation without it and with a wrong one.
const TOKEN: &str = "schemathesis-token-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_the_document_does_not_say() {
    let app = spawn_app_with(|c| c.token = Some(TOKEN.into())).await;
    let settings = workspace_root().join("bus/tests/api/schemathesis");
    let run = Schemathesis {
        config_file: Some(settings.join("schemathesis.toml")),
        hooks: Some(settings.join("hooks.py")),
        token: Some(TOKEN.into()),
        // An endless Server-Sent Events stream: a request never ends, so every one would
        // be a timeout. `sse.rs` tests it.
        exclude_paths: vec!["/events/stream".into()],
    };
    run.assert_finds_nothing(&app.url).await;
}
