//! The SDK's `Handler::handle_batch` against a real bus with `batch: 10`: a handler gets
//! each delivery whole; a batch it refuses is narrowed down by the bus, one event per
//! request, so that only the culprit is parked; what it reports applied before a failure
//! is never handed to it again; a service's own smaller body limit does not refuse full
//! batches.

use crate::helpers::{eventually, publish_n, spawn_app, TestApp};
use axum::extract::DefaultBodyLimit;
use bus::sdk::{BatchError, Handler, HandlerError, Subscriber, SubscriberConfig};
use bus::Envelope;
use serde_json::json;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// How [`Batches`] fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fails {
    /// Never.
    Never,
    /// Refuses (`Reject`) every batch that holds this seq, applying none of it.
    WholeBatchWith(u64),
    /// The first batch that holds this seq: applies the events before it, then `Retry`.
    OnceAt(u64),
}

/// A handler that applies whole batches and records what it was handed.
#[derive(Clone)]
struct Batches {
    /// Every batch handed to `handle_batch`, as seqs.
    handed: Arc<Mutex<Vec<Vec<u64>>>>,
    /// Every seq applied, in order (one applied twice shows twice).
    applied: Arc<Mutex<Vec<u64>>>,
    fails: Arc<Mutex<Fails>>,
}

impl Batches {
    fn new(fails: Fails) -> Self {
        Self {
            handed: Arc::default(),
            applied: Arc::default(),
            fails: Arc::new(Mutex::new(fails)),
        }
    }

    fn handed(&self) -> Vec<Vec<u64>> {
        self.handed.lock().unwrap().clone()
    }

    fn applied(&self) -> Vec<u64> {
        self.applied.lock().unwrap().clone()
    }
}

impl Handler for Batches {
    async fn handle(&self, event: Envelope) -> Result<(), HandlerError> {
        self.handle_batch(vec![event]).await.map_err(|e| e.error)
    }

    async fn handle_batch(&self, events: Vec<Envelope>) -> Result<(), BatchError> {
        let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
        self.handed.lock().unwrap().push(seqs.clone());
        let mut fails = self.fails.lock().unwrap();
        match *fails {
            Fails::WholeBatchWith(seq) if seqs.contains(&seq) => Err(BatchError {
                applied: 0,
                error: HandlerError::Reject("not this batch".into()),
            }),
            Fails::OnceAt(seq) if seqs.contains(&seq) => {
                *fails = Fails::Never;
                let before: Vec<u64> = seqs.into_iter().take_while(|s| *s < seq).collect();
                let applied = before.len();
                self.applied.lock().unwrap().extend(before);
                let error = HandlerError::Retry("failed halfway".into());
                Err(BatchError { applied, error })
            }
            _ => {
                self.applied.lock().unwrap().extend(seqs);
                Ok(())
            }
        }
    }
}

/// A subscriber named `batches` with `batch: 10`, served on a fresh port and registered.
async fn start(app: &TestApp, handler: Batches) -> Subscriber<Batches> {
    start_with_limit(app, handler, None).await
}

/// [`start`], its router inside a service's own body limit of `limit` bytes, if any.
async fn start_with_limit(
    app: &TestApp,
    handler: Batches,
    limit: Option<usize>,
) -> Subscriber<Batches> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = SubscriberConfig {
        bus_url: app.url.clone(),
        token: None,
        name: "batches".into(),
        url: format!("http://{}/events", listener.local_addr().unwrap()),
        types: vec![],
        batch: 10,
        applied: None,
        log_id: None,
    };
    let subscriber = Subscriber::new(config, handler);
    let mut router = subscriber.router();
    if let Some(limit) = limit {
        router = router.layer(DefaultBodyLimit::max(limit));
    }
    tokio::spawn(async move { axum::serve(listener, router).await });
    subscriber.register().await.unwrap();
    subscriber
}

async fn until_applied(handler: &Batches, want: Vec<u64>) {
    eventually(&format!("applied {want:?}"), || {
        let got = handler.applied();
        let want = want.clone();
        async move { (got == want).then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn a_batch_handler_is_handed_each_delivery_whole() {
    let app = spawn_app().await;
    publish_n(&app, "T", 25).await;
    let handler = Batches::new(Fails::Never);
    let subscriber = start(&app, handler.clone()).await;
    until_applied(&handler, (1..=25).collect()).await;
    let handed = handler.handed();
    assert!(handed.iter().all(|b| b.len() <= 10), "{handed:?}");
    assert_eq!(handed[0], (1..=10).collect::<Vec<_>>(), "{handed:?}");
    assert_eq!(subscriber.applied().await, 25);
}

#[tokio::test]
async fn a_refused_batch_is_narrowed_down_and_only_its_culprit_parked() {
    let app = spawn_app().await;
    publish_n(&app, "T", 8).await;
    let handler = Batches::new(Fails::WholeBatchWith(4));
    start(&app, handler.clone()).await;
    until_applied(&handler, vec![1, 2, 3, 5, 6, 7, 8]).await;
    let handed = handler.handed();
    assert_eq!(handed[0], (1..=8).collect::<Vec<_>>(), "{handed:?}");
    // One per request up to the culprit; the bus goes on in batches once it is parked.
    let singles: Vec<Vec<u64>> = (1..=4).map(|seq| vec![seq]).collect();
    assert_eq!(handed[1..5], singles, "{handed:?}");
    let (_, letters) = app.get_json("/subscriptions/batches/dead-letters").await;
    let parked: Vec<u64> = letters
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(parked, [4], "{letters}");
    assert_eq!(letters[0]["last_status"], 422, "{letters}");
}

#[tokio::test]
async fn what_a_failed_batch_applied_is_never_handed_again() {
    let app = spawn_app().await;
    publish_n(&app, "T", 6).await;
    let handler = Batches::new(Fails::OnceAt(4));
    let subscriber = start(&app, handler.clone()).await;
    until_applied(&handler, (1..=6).collect()).await;
    let handed = handler.handed();
    assert_eq!(handed[0], (1..=6).collect::<Vec<_>>(), "{handed:?}");
    let again: Vec<u64> = handed[1..].iter().flatten().copied().collect();
    assert_eq!(again, [4, 5, 6], "only what was not applied: {handed:?}");
    assert_eq!(subscriber.applied().await, 6);
}

#[tokio::test]
async fn a_services_smaller_body_limit_does_not_refuse_a_full_batch() {
    let app = spawn_app().await;
    let data = "x".repeat(500);
    for _ in 0..10 {
        app.publish_ok(json!({"type": "T", "data": data})).await;
    }
    let handler = Batches::new(Fails::Never);
    // Like comments, whose routes take 32 KiB: here 2 KiB, below the batch's ~7 KiB.
    start_with_limit(&app, handler.clone(), Some(2048)).await;
    until_applied(&handler, (1..=10).collect()).await;
    assert_eq!(handler.handed(), [(1..=10).collect::<Vec<_>>()]);
}
