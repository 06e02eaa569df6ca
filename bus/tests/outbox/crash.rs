//! A relay that dies after the bus stored its array but before it deleted the entries:
//! the next run publishes them again, and the bus's dedup by id keeps the log free of
//! duplicates.

use crate::helpers::{assert_ids_unique, log, notes_in, Service};
use bus::sdk::{Pass, PENDING_TREE};
use bus::testkit::spawn_bus;

/// What a relay sends before it dies: the pending entries as one array, then nothing.
async fn publish_pending_without_deleting(dir: &std::path::Path, bus_url: &str) {
    let service = Service::open(dir);
    for n in 0..5 {
        service.note(n).await;
    }
    let pending = service.db.open_tree(PENDING_TREE).unwrap();
    let entries: Vec<String> = pending
        .iter()
        .map(|entry| String::from_utf8(entry.unwrap().1.to_vec()).unwrap())
        .collect();
    let answer = reqwest::Client::new()
        .post(format!("{bus_url}/events"))
        .header("content-type", "application/json")
        .body(format!("[{}]", entries.join(",")))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    // The process dies here: the entries stay pending.
}

/// Runs passes until nothing is pending; the passes.
async fn relay_until_idle(service: &Service, bus_url: &str) -> Vec<Pass> {
    let mut relay = service.outbox.relay(bus_url, None);
    let mut passes = Vec::new();
    loop {
        match relay.relay_once().await {
            Pass::Idle => return passes,
            pass => passes.push(pass),
        }
        assert!(passes.len() < 20, "the relay makes progress: {passes:?}");
    }
}

#[tokio::test]
async fn the_same_array_again_is_answered_with_the_original_seqs() {
    let bus = spawn_bus().await;
    let dir = tempfile::tempdir().unwrap();
    publish_pending_without_deleting(dir.path(), bus.url()).await;

    let service = Service::open(dir.path());
    assert_eq!(service.outbox.pending_count(), 5);
    let passes = relay_until_idle(&service, bus.url()).await;
    assert_eq!(passes, [Pass::Published { count: 5, up_to: 5 }]);
    assert_eq!(
        service
            .outbox
            .wait_published(5, bus::sdk::PUBLISH_WAIT)
            .await,
        Some(5)
    );
    let log = log(bus.url()).await;
    assert_eq!(notes_in(&log), [0, 1, 2, 3, 4]);
    assert_ids_unique(&log);
}

#[tokio::test]
async fn new_entries_behind_the_republished_ones_go_out_once_too() {
    let bus = spawn_bus().await;
    let dir = tempfile::tempdir().unwrap();
    publish_pending_without_deleting(dir.path(), bus.url()).await;

    let service = Service::open(dir.path());
    service.note(5).await;
    service.note(6).await;
    // The array [0..7] is partly in the log (409 partial_duplicate): split, then one by one.
    let passes = relay_until_idle(&service, bus.url()).await;
    assert_eq!(passes[0], Pass::Split { until: 7 });
    assert_eq!(passes.len(), 8, "{passes:?}");
    let log = log(bus.url()).await;
    assert_eq!(notes_in(&log), [0, 1, 2, 3, 4, 5, 6]);
    assert_ids_unique(&log);
    assert!(service.outbox.parked().unwrap().is_empty());
}
