//! Events committed with their state change are published in outbox order, as one array
//! per pass, each with a UUIDv7 id fixed when it was written.

use crate::helpers::{log, noted, notes_in, Service, TxResult};
use bus::sdk::{Pass, PUBLISH_WAIT};
use bus::testkit::{spawn_bus, PATIENCE};
use sled::transaction::abort;

#[tokio::test]
async fn events_written_with_their_state_go_out_in_order_as_one_array() {
    let bus = spawn_bus().await;
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(dir.path());
    for n in 0..10 {
        service.note(n).await;
    }
    // One write with three events: they keep their order.
    let three = service
        .outbox
        .write([&service.notes], |tx| -> TxResult<&str> {
            let [notes] = tx.trees();
            notes.insert("many", "noted")?;
            for n in 10..13 {
                tx.enqueue(&noted(n))?;
            }
            Ok("done")
        })
        .await
        .unwrap();
    assert_eq!(three.value, "done");
    assert_eq!(three.keys, [11, 12, 13]);
    assert_eq!(service.notes.len(), 11, "the state is written");
    assert_eq!(service.outbox.pending_count(), 13);

    let mut relay = service.outbox.relay(bus.url(), None);
    assert_eq!(
        relay.relay_once().await,
        Pass::Published {
            count: 13,
            up_to: 13
        }
    );
    assert_eq!(relay.relay_once().await, Pass::Idle);
    assert_eq!(
        service.outbox.pending_count(),
        0,
        "deleted once acknowledged"
    );

    let log = log(bus.url()).await;
    assert_eq!(notes_in(&log), (0..13).collect::<Vec<_>>());
    for event in &log {
        let id = uuid::Uuid::parse_str(&event.id).expect("a UUID");
        assert_eq!(id.get_version_num(), 7);
        assert_eq!(event.source.as_deref(), Some("notes"));
    }
    // One array, so the bus appended them in one group: ids were fixed at write time, in
    // key order, and the seqs the relay remembered are the log's.
    let seq = service.outbox.wait_for(&three, PUBLISH_WAIT).await;
    assert_eq!(seq, Some(13));
    assert_eq!(
        service.outbox.wait_published(1, PUBLISH_WAIT).await,
        Some(1)
    );
}

#[tokio::test]
async fn a_state_change_its_checkpoint_and_its_events_commit_together_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(dir.path());
    let checkpoint = service.db.open_tree("checkpoint").unwrap();
    let apply = |seq: u64, refuse: bool| {
        service
            .outbox
            .write([&service.notes, &checkpoint], move |tx| {
                let [notes, checkpoint] = tx.trees();
                notes.insert(&seq.to_be_bytes(), "noted")?;
                checkpoint.insert("applied", &seq.to_be_bytes())?;
                tx.enqueue(&noted(seq))?;
                if refuse {
                    return abort("refused");
                }
                Ok(seq)
            })
    };
    let aborted = apply(7, true).await;
    assert!(matches!(
        aborted,
        Err(sled::transaction::TransactionError::Abort("refused"))
    ));
    assert_eq!(service.notes.len(), 0);
    assert_eq!(checkpoint.len(), 0);
    assert_eq!(service.outbox.pending_count(), 0);

    let applied = apply(8, false).await.unwrap();
    assert_eq!(
        (applied.value, applied.keys),
        (8, vec![1]),
        "the key was not used up"
    );
    let stored = checkpoint.get("applied").unwrap().unwrap();
    assert_eq!(stored.as_ref(), 8u64.to_be_bytes());
    assert_eq!(service.notes.len(), 1);
    assert_eq!(service.outbox.pending_count(), 1);
}

#[tokio::test]
async fn a_running_relay_publishes_each_write_at_once_and_gives_its_seq() {
    let bus = spawn_bus().await;
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(dir.path());
    let _relay = service.spawn_relay(bus.url());
    for n in 0..20 {
        let written = service.note(n).await;
        let seq = service.outbox.wait_for(&written, PATIENCE).await;
        assert_eq!(seq, Some(n + 1), "the seq the bus gave note {n}");
    }
    assert_eq!(notes_in(&log(bus.url()).await), (0..20).collect::<Vec<_>>());
}

#[tokio::test]
async fn concurrent_writes_are_all_published_once_in_key_order() {
    let bus = spawn_bus().await;
    let dir = tempfile::tempdir().unwrap();
    let service = std::sync::Arc::new(Service::open(dir.path()));
    let _relay = service.spawn_relay(bus.url());
    let writers = (0..8u64).map(|w| {
        let service = service.clone();
        tokio::spawn(async move {
            for i in 0..25 {
                service.note(w * 100 + i).await;
            }
        })
    });
    for writer in writers.collect::<Vec<_>>() {
        writer.await.unwrap();
    }
    crate::helpers::until_drained(&service.outbox).await;
    let log = log(bus.url()).await;
    crate::helpers::assert_ids_unique(&log);
    let mut notes = notes_in(&log);
    // Each writer's notes in its own order; all 200 once.
    for w in 0..8 {
        let mine: Vec<u64> = notes.iter().copied().filter(|n| n / 100 == w).collect();
        assert_eq!(mine, (0..25).map(|i| w * 100 + i).collect::<Vec<_>>());
    }
    notes.sort_unstable();
    assert_eq!(notes.len(), 200);
}
