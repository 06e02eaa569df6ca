//! `delivery: "at_most_once"` against real crash images: the subscriber copies the bus's
//! data dir while each request is in flight, as a crash at that moment would leave it (a
//! killed process leaves what it wrote to its files; what sled still held in memory is
//! lost). Each image must hold the cursor past the request and its seq in flight, and a
//! bus started on one parks that seq `outcome_unknown` and never sends it again.

use super::{append, backend, drain, eventually, open_log, subscriber};
use crate::daemon::store::{EventLog, SledLog};
use crate::daemon::subs::deliverer::{Deliverer, Step};
use crate::daemon::subs::delivery_thread::DeliveryThread;
use crate::daemon::subs::store::{StoredCursor, StoredSub, SubStore, OUTCOME_UNKNOWN};
use crate::daemon::subs::{Subscription, Subscriptions};
use crate::wire::{Delivery, SubscriptionSpec};
use axum::http::{HeaderMap, StatusCode};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Copies the directory `from` to `to`, recursively.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// A subscriber that, before answering 204 to a request, copies `data` to
/// `images/<its last seq>`.
async fn imaging_subscriber(data: PathBuf, images: PathBuf) -> String {
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |headers: HeaderMap| {
            let seq = headers
                .get("minibus-seq")
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                .unwrap_or(0);
            let copied = copy_dir(&data, &images.join(seq.to_string()));
            async move {
                copied.expect("a crash image");
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// The settings of a subscription at_most_once to `url`.
fn at_most_once(url: &str) -> StoredSub {
    StoredSub {
        spec: SubscriptionSpec {
            delivery: Delivery::AtMostOnce,
            ..SubscriptionSpec::new(url)
        },
        paused: None,
        blocked: None,
        blocked_after: None,
    }
}

/// Stores `s`, at_most_once to `url`, at cursor 0.
fn store_at_most_once(store: &SubStore, url: &str) -> StoredSub {
    let stored = at_most_once(url);
    let start = StoredCursor {
        generation: 1,
        after: 0,
        delivered: 0,
    };
    store.save("s", &stored, Some(start)).expect("save");
    stored
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_crash_image_taken_during_a_request_holds_it_in_flight() {
    let (dir, log) = open_log();
    let images = tempfile::tempdir().expect("temp dir");
    let db = log.db().clone();
    let head = append(&log, &["A", "A", "A"]);
    let (backend, _durable) = backend(Arc::new(log), &db, head);
    let url = imaging_subscriber(dir.path().into(), images.path().into()).await;
    let stored = store_at_most_once(&backend.store, &url);
    let cancel = tokio_util::sync::CancellationToken::new();
    let subscription = Subscription::new("s".into(), stored, &backend.metrics, cancel);
    let mut loop_ = Deliverer::new(Arc::new(subscription), Arc::new(backend));
    for seq in 1..=3 {
        let step = loop_.deliver_once().await.expect("step");
        assert_eq!(step, Step::Delivered { up_to: seq });
    }
    assert_eq!(
        loop_.deliver_once().await.expect("step"),
        Step::NothingPending
    );

    for seq in 1..=3u64 {
        let (image, _) = SledLog::open(&images.path().join(seq.to_string()), 16).expect("image");
        let store = SubStore::open(image.db()).expect("subscription trees");
        let cursor = store.cursor("s").expect("cursor").expect("stored");
        assert_eq!(
            (cursor.after, cursor.delivered),
            (seq, seq - 1),
            "the crash image during {seq}: the cursor past it, not yet counted"
        );
        assert_eq!(store.in_flight("s").expect("in flight"), [seq]);
    }
    let store = SubStore::open(&db).expect("subscription trees");
    assert_eq!(store.in_flight("s").expect("settled"), Vec::<u64>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bus_started_on_a_crash_image_parks_the_request_in_flight_and_sends_the_rest() {
    let (dir, log) = open_log();
    let images = tempfile::tempdir().expect("temp dir");
    let db = log.db().clone();
    let head = append(&log, &["A", "A", "A"]);
    let (first, _durable) = backend(Arc::new(log), &db, head);
    let url = imaging_subscriber(dir.path().into(), images.path().into()).await;
    store_at_most_once(&first.store, &url);
    let delivery = DeliveryThread::start("t-amo-loop", "t-amo-read").expect("thread");
    let subs = Subscriptions::open(first, delivery).expect("registry");
    eventually("every request settled", || {
        subs.status("s").is_ok_and(|s| s.delivered == 3)
    })
    .await;
    subs.stop().await;

    // The bus "crashed" while 2 was in flight: start one on that image.
    let (image, _) = SledLog::open(&images.path().join("2"), 16).expect("image");
    let image_db = image.db().clone();
    let head = image.last_seq().expect("head");
    let (restarted, _durable) = backend(Arc::new(image), &image_db, head);
    let (url, mut received) = subscriber().await;
    // Pointed at a subscriber that takes no images, before its loop starts.
    let moved = at_most_once(&url);
    assert!(restarted.store.save("s", &moved, None).expect("save"));
    let delivery = DeliveryThread::start("t-amo2-loop", "t-amo2-read").expect("thread");
    let subs = Subscriptions::open(restarted, delivery).expect("registry");
    let mut seqs = Vec::new();
    eventually("3 delivered", || {
        drain(&mut received, &mut seqs);
        seqs.contains(&3)
    })
    .await;
    let letters = subs.dead_letters("s").expect("dead letters");
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(
        (letters[0].seq, letters[0].reason.as_str()),
        (2, OUTCOME_UNKNOWN)
    );
    assert_eq!(letters[0].last_status, None);
    // In seq order: had 2 been sent again, it would have come before 3.
    assert_eq!(seqs, [3], "2 is never sent again, 1 was settled");
    subs.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_sent_when_the_seqs_in_flight_cannot_be_made_durable() {
    let (_dir, log) = open_log();
    let db = log.db().clone();
    let head = append(&log, &["A"]);
    let log = Arc::new(log);
    let (backend, _durable) = backend(log.clone(), &db, head);
    let fatal = backend.fatal.clone();
    let (url, mut received) = subscriber().await;
    let stored = store_at_most_once(&backend.store, &url);
    let cancel = tokio_util::sync::CancellationToken::new();
    let subscription = Subscription::new("s".into(), stored, &backend.metrics, cancel);
    let mut loop_ = Deliverer::new(Arc::new(subscription), Arc::new(backend));

    log.fail_syncs(true);
    let failed = loop_.deliver_once().await;

    assert!(failed.is_err(), "{failed:?}");
    assert!(fatal.is_cancelled(), "a failed sync stops the daemon");
    assert!(received.try_recv().is_err(), "nothing sent");
}
