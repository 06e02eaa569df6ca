//! schemathesis (PyPI) against query's own `/openapi.json`, with every check and in all its
//! phases, as the bus's suite runs it: it must find nothing. The run is bounded and
//! reproducible (fixed examples per operation, a fixed seed, one worker, a deadline).
//! `schemathesis/hooks.py` shortens the wait of generated valid `min_seq` requests (see
//! there why); `POST /events` (the SDK's signed deliveries) is not in the document, and
//! `edges.rs` tests it.

use crate::helpers::*;
use bus::testkit::tools::workspace_root;
use bus::testkit::Schemathesis;

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
    let hooks = workspace_root().join("query/tests/api/schemathesis/hooks.py");
    let run = Schemathesis {
        hooks: Some(hooks),
        ..Schemathesis::default()
    };
    run.assert_finds_nothing(query.url()).await;
}
