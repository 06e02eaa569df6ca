//! The writer's tests: group commit over a real sled log, and what a failed flush answers.

use super::*;
use crate::daemon::store::SledLog;

/// A writer over the real sled log, whose syncs fail from the start when `fail` is set
/// (`SledLog::fail_syncs`: a full or failing disk).
fn writer_over_failing_sync(
    fail: bool,
) -> (tempfile::TempDir, Arc<SledLog>, CancellationToken, Writer) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) = SledLog::open(dir.path(), 8).expect("open");
    log.fail_syncs(fail);
    let log = Arc::new(log);
    let fatal = CancellationToken::new();
    let writer = Writer::start(
        log.clone(),
        Durability::Fsync,
        Metrics::new(),
        fatal.clone(),
    )
    .expect("start");
    (dir, log, fatal, writer)
}

/// The answer to a publish whose outcome is unknown: `503 storage_unavailable`.
#[track_caller]
fn assert_unavailable(outcome: &PublishOutcome) {
    assert!(
        matches!(
            outcome,
            PublishOutcome::Rejected(Rejection::StorageUnavailable)
        ),
        "{outcome:?}"
    );
}

fn event(id: &str) -> NewEvent {
    serde_json::from_str(&format!(r#"{{"id":"{id}","type":"T","data":{{}}}}"#)).expect("event")
}

#[tokio::test]
async fn concurrent_publishes_get_distinct_seqs_and_raise_the_durable_head() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) = SledLog::open(dir.path(), 8).expect("open");
    let fatal = CancellationToken::new();
    let writer = Writer::start(
        Arc::new(log),
        Durability::Fsync,
        Metrics::new(),
        fatal.clone(),
    )
    .expect("start");
    let handle = writer.handle();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let handle = handle.clone();
            tokio::spawn(async move { handle.publish(vec![event(&format!("e{i}"))]).await })
        })
        .collect();
    let mut seqs = Vec::new();
    for task in tasks {
        match task.await.expect("task") {
            PublishOutcome::Appended(replies) => seqs.extend(replies.iter().map(|r| r.seq)),
            other => panic!("not appended: {other:?}"),
        }
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=100).collect::<Vec<u64>>());
    assert_eq!(*handle.durable().borrow(), 100);
    assert!(!fatal.is_cancelled());
    writer.stop().await;
}

#[tokio::test]
async fn a_failed_flush_answers_503_keeps_the_durable_head_and_stops_the_writer() {
    let (_dir, log, fatal, writer) = writer_over_failing_sync(false);
    let handle = writer.handle();
    assert!(matches!(
        handle.publish(vec![event("a")]).await,
        PublishOutcome::Appended(_)
    ));
    assert_eq!(*handle.durable().borrow(), 1);

    log.fail_syncs(true);
    let outcome = handle.publish(vec![event("b")]).await;
    assert_unavailable(&outcome);
    assert!(fatal.is_cancelled(), "the daemon is told to stop");
    assert_eq!(
        *handle.durable().borrow(),
        1,
        "nothing unflushed is visible"
    );
    // Nothing is acknowledged after the failure, even once the disk is back, and the
    // writer has stopped: "c" is not even applied ("b" was, as seq 2, never durable).
    log.fail_syncs(false);
    let outcome = handle.publish(vec![event("c")]).await;
    assert_unavailable(&outcome);
    assert_eq!(*handle.durable().borrow(), 1);
    assert_eq!(log.last_seq().expect("head"), 2, "the writer stopped");
    writer.stop().await;
}

#[tokio::test]
async fn refusals_behind_a_failed_flush_are_answered_503_too() {
    let (_dir, _log, fatal, writer) = writer_over_failing_sync(true);
    let handle = writer.handle();
    // "a" and its duplicate under another type go in one group or in two; either way the
    // refusal of the second rests on "a", which never becomes durable.
    let first = handle.publish(vec![event("a")]);
    let conflicting: NewEvent =
        serde_json::from_str(r#"{"id":"a","type":"Other","data":{}}"#).expect("event");
    let second = handle.publish(vec![conflicting]);
    let (first, second) = tokio::join!(first, second);
    for outcome in [first, second] {
        assert_unavailable(&outcome);
    }
    assert!(fatal.is_cancelled());
    writer.stop().await;
}

#[tokio::test]
async fn dropping_the_writer_stops_its_threads_even_while_handles_live_on() {
    let (_dir, log, _fatal, writer) = writer_over_failing_sync(false);
    let handle = writer.handle();
    assert!(matches!(
        handle.publish(vec![event("a")]).await,
        PublishOutcome::Appended(_)
    ));

    drop(writer);

    assert_eq!(
        Arc::strong_count(&log),
        1,
        "both threads ended and let go of the log"
    );
    let outcome = handle.publish(vec![event("b")]).await;
    assert_unavailable(&outcome);
    assert_eq!(log.last_seq().expect("head"), 1, "nothing applied after");
}
