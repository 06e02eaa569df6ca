//! Crashes and shutdowns of the real binary: an acknowledged publish is never lost, seqs
//! stay gapless, and the log goes on from its head.

use crate::helpers::{
    eventually_within, new_event, record_acks, verify_log, Acked, AckedMap, BusProcess, Load,
};
use reqwest::StatusCode;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Concurrent publishers during each crash round.
const PUBLISHERS: usize = 24;

/// SIGKILL rounds: 5 in the normal suite, 100 with `MINIBUS_SOAK=1`.
fn rounds() -> usize {
    if std::env::var("MINIBUS_SOAK").as_deref() == Ok("1") {
        100
    } else {
        5
    }
}

/// Starts the bus off the async workers (starting waits on the child's stdout).
async fn start(dir: &Path) -> BusProcess {
    let dir = PathBuf::from(dir);
    tokio::task::spawn_blocking(move || BusProcess::start(&dir, &[]))
        .await
        .expect("start the bus")
}

/// Publishes one more event: it must get `head + 1`.
async fn publish_goes_on(bus: &BusProcess, head: u64, acked: &mut AckedMap) {
    let event = new_event(json!({ "after_restart": head }), Some("restarts"));
    let (status, reply) = bus.api().publish(&event).await.expect("publish");
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(
        reply["seq"],
        json!(head + 1),
        "publishing goes on from head+1"
    );
    record_acks(acked, &event, &reply);
}

/// Publishes an acknowledged event again: `200` with its original seq.
async fn republish_is_idempotent(bus: &BusProcess, ack: &Acked) {
    let (status, reply) = bus.api().publish(&ack.event).await.expect("republish");
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["seq"], json!(ack.seq), "the original seq: {reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bus = start(dir.path()).await;
    let log_id = bus.api().info().await["log_id"].clone();
    let mut acked = AckedMap::new();
    for round in 1..=rounds() {
        let load = Load::start(&bus.api(), PUBLISHERS);
        eventually_within(
            "a first acknowledged publish",
            Duration::from_secs(20),
            || {
                let count = load.acked_count();
                async move { (count > 0).then_some(()) }
            },
        )
        .await;
        // The random moment of the crash: the point of the test, not a wait.
        tokio::time::sleep(Duration::from_millis(fastrand::u64(20..=300))).await;
        tokio::task::spawn_blocking(move || bus.kill())
            .await
            .expect("SIGKILL");
        let this_round = load.stop().await;
        let sample = this_round
            .values()
            .nth(fastrand::usize(..this_round.len()))
            .cloned()
            .expect("at least one acknowledged event");
        let count = this_round.len();
        acked.extend(this_round);

        bus = start(dir.path()).await;
        let head = verify_log(&bus.api(), &acked).await;
        eprintln!("round {round}: {count} acknowledged before SIGKILL; head {head}");
        let info = bus.api().info().await;
        assert_eq!(info["log_id"], log_id, "a restart keeps the log_id");
        republish_is_idempotent(&bus, &sample).await;
        publish_goes_on(&bus, head, &mut acked).await;
    }
    let status = tokio::task::spawn_blocking(move || bus.terminate())
        .await
        .expect("SIGTERM");
    assert_eq!(status.code(), Some(0), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_exits_zero_and_keeps_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus = start(dir.path()).await;
    let api = bus.api();
    let log_id = api.info().await["log_id"].clone();
    let mut acked = AckedMap::new();
    for i in 0..10 {
        let body = match i % 2 {
            0 => new_event(json!({ "i": i }), Some("graceful")),
            _ => json!([
                new_event(json!({ "i": i }), None),
                new_event(json!([i]), None)
            ]),
        };
        let (status, reply) = api.publish(&body).await.expect("publish");
        assert_eq!(status, StatusCode::CREATED, "{reply}");
        record_acks(&mut acked, &body, &reply);
    }

    let load = Load::start(&api, 8);
    eventually_within(
        "publishes acknowledged under load",
        Duration::from_secs(20),
        || {
            let count = load.acked_count();
            async move { (count >= 20).then_some(()) }
        },
    )
    .await;
    let status = tokio::task::spawn_blocking(move || bus.terminate())
        .await
        .expect("SIGTERM");
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean stop: {status}");
    acked.extend(load.stop().await);

    let bus = start(dir.path()).await;
    let api = bus.api();
    let head = verify_log(&api, &acked).await;
    assert!(head >= 30, "at least what was acknowledged: {head}");
    assert_eq!(
        api.info().await["log_id"],
        log_id,
        "a restart keeps the log_id"
    );
    publish_goes_on(&bus, head, &mut acked).await;
    let status = tokio::task::spawn_blocking(move || bus.terminate())
        .await
        .expect("SIGTERM");
    assert_eq!(status.code(), Some(0), "{status}");
}
