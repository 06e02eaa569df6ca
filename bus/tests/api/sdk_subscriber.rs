//! The SDK's `Subscriber` against a real bus: registration from a checkpoint, signature
//! checks, duplicates skipped, rewinds, a replaced log.

use crate::helpers::{eventually, publish_n, spawn_app, TestApp};
use bus::sdk::{Handler, HandlerError, Subscriber, SubscriberConfig};
use bus::Envelope;
use serde_json::json;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

#[derive(Clone, Default)]
struct Recorder {
    applied: Arc<Mutex<Vec<u64>>>,
    /// Every seq ever applied, in order; a rewind does not clear it, so a re-apply shows
    /// as a seq present twice.
    applies: Arc<Mutex<Vec<u64>>>,
    rewinds: Arc<Mutex<Vec<u64>>>,
    /// A seq to reject (0: none); shared, so a test can fix the handler later.
    reject: Arc<std::sync::atomic::AtomicU64>,
}

impl Recorder {
    fn applied(&self) -> Vec<u64> {
        self.applied.lock().unwrap().clone()
    }
    /// How many times `seq` was applied.
    fn applies_of(&self, seq: u64) -> usize {
        self.applies
            .lock()
            .unwrap()
            .iter()
            .filter(|s| **s == seq)
            .count()
    }
    fn rewinds(&self) -> Vec<u64> {
        self.rewinds.lock().unwrap().clone()
    }
}

impl Handler for Recorder {
    async fn handle(&self, event: Envelope) -> Result<(), HandlerError> {
        if event.seq == self.reject.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(HandlerError::Reject("not here".into()));
        }
        self.applied.lock().unwrap().push(event.seq);
        self.applies.lock().unwrap().push(event.seq);
        Ok(())
    }

    async fn on_rewind(&self, after: u64) {
        self.rewinds.lock().unwrap().push(after);
        self.applied.lock().unwrap().retain(|s| *s <= after);
    }
}

/// Serves a subscriber's router on a fresh port; returns it and its `/events` URL.
async fn serve(
    app: &TestApp,
    name: &str,
    applied: Option<u64>,
    log_id: Option<String>,
    handler: Recorder,
) -> (Subscriber<Recorder>, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let config = SubscriberConfig {
        bus_url: app.url.clone(),
        token: None,
        name: name.into(),
        url: url.clone(),
        types: vec![],
        batch: 10,
        applied,
        log_id,
    };
    let subscriber = Subscriber::new(config, handler);
    let router = subscriber.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (subscriber, url)
}

async fn until_applied(handler: &Recorder, want: Vec<u64>) {
    eventually(&format!("applied {want:?}"), || {
        let got = handler.applied();
        let want = want.clone();
        async move { (got == want).then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn a_subscriber_without_state_gets_the_history_then_live_events_and_reports_catching_up() {
    let app = spawn_app().await;
    publish_n(&app, "T", 5).await;
    let handler = Recorder::default();
    let (sub, _) = serve(&app, "sdk", None, None, handler.clone()).await;
    let registration = sub.register().await.unwrap();
    assert_eq!(registration.head_seq, 5);
    assert!(!registration.started_over);
    let mut caught_up = sub.caught_up();
    tokio::time::timeout(bus::testkit::PATIENCE, caught_up.wait_for(|c| *c))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(handler.applied(), vec![1, 2, 3, 4, 5]);
    publish_n(&app, "T", 3).await;
    until_applied(&handler, (1..=8).collect()).await;
}

#[tokio::test]
async fn a_restarted_subscriber_resumes_from_its_checkpoint() {
    let app = spawn_app().await;
    publish_n(&app, "T", 4).await;
    let first = Recorder::default();
    let (sub, _) = serve(&app, "sdk", None, None, first.clone()).await;
    let log_id = sub.register().await.unwrap().log_id;
    until_applied(&first, vec![1, 2, 3, 4]).await;
    // The service restarts with its own checkpoint (3: it lost the last one).
    let second = Recorder::default();
    let (sub, _) = serve(&app, "sdk", Some(3), Some(log_id), second.clone()).await;
    let registration = sub.register().await.unwrap();
    assert_eq!(registration.after, 3);
    publish_n(&app, "T", 1).await;
    until_applied(&second, vec![4, 5]).await;
}

#[tokio::test]
async fn a_checkpoint_beyond_the_head_or_another_log_starts_over() {
    let app = spawn_app().await;
    publish_n(&app, "T", 3).await;
    let handler = Recorder::default();
    let (sub, _) = serve(&app, "beyond", Some(99), None, handler.clone()).await;
    let registration = sub.register().await.unwrap();
    assert!(registration.started_over);
    assert_eq!(handler.rewinds(), vec![0]);
    until_applied(&handler, vec![1, 2, 3]).await;

    let handler = Recorder::default();
    let (sub, _) = serve(
        &app,
        "other-log",
        Some(2),
        Some("another-log".into()),
        handler.clone(),
    )
    .await;
    assert!(sub.register().await.unwrap().started_over);
    until_applied(&handler, vec![1, 2, 3]).await;
}

#[tokio::test]
async fn an_operators_rewind_calls_on_rewind_and_redelivers() {
    let app = spawn_app().await;
    publish_n(&app, "T", 5).await;
    let handler = Recorder::default();
    let (sub, _) = serve(&app, "sdk", None, None, handler.clone()).await;
    sub.register().await.unwrap();
    until_applied(&handler, vec![1, 2, 3, 4, 5]).await;
    let (status, _) = app
        .request(reqwest::Method::POST, "/subscriptions/sdk/rewind")
        .json(&json!({"after": 2}))
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(status, 200);
    // Only the redelivery after the rewind applies 3, 4 and 5 a second time.
    eventually("3, 4 and 5 applied twice", || {
        let counts: Vec<usize> = (1..=5).map(|seq| handler.applies_of(seq)).collect();
        async move { (counts == [1, 1, 2, 2, 2]).then_some(()) }
    })
    .await;
    until_applied(&handler, vec![1, 2, 3, 4, 5]).await;
    eventually("on_rewind(2)", || {
        let rewinds = handler.rewinds();
        async move { (rewinds == vec![2]).then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn a_rejected_event_is_parked_and_the_rest_applied() {
    let app = spawn_app().await;
    publish_n(&app, "T", 4).await;
    let handler = Recorder::default();
    handler
        .reject
        .store(2, std::sync::atomic::Ordering::Relaxed);
    let (sub, _) = serve(&app, "sdk", None, None, handler.clone()).await;
    sub.register().await.unwrap();
    until_applied(&handler, vec![1, 3, 4]).await;
    let (_, letters) = app.get_json("/subscriptions/sdk/dead-letters").await;
    assert_eq!(letters[0]["seq"], 2);
    // The handler is fixed and an operator retries the dead letter: the SDK applies it
    // (although seq 2 is below its checkpoint), and the bus drops the dead letter.
    handler
        .reject
        .store(0, std::sync::atomic::Ordering::Relaxed);
    let (status, _) = app
        .request(
            reqwest::Method::POST,
            "/subscriptions/sdk/dead-letters/2/retry",
        )
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(status, 202);
    until_applied(&handler, vec![1, 3, 4, 2]).await;
    eventually("the dead letter is gone", || {
        let app = &app;
        async move {
            let (_, letters) = app.get_json("/subscriptions/sdk/dead-letters").await;
            (letters.as_array().is_some_and(|l| l.is_empty())).then_some(())
        }
    })
    .await;
    assert_eq!(
        sub.applied().await,
        4,
        "a retry does not move the checkpoint"
    );
}

#[tokio::test]
async fn forged_or_unsigned_deliveries_are_refused() {
    let app = spawn_app().await;
    let handler = Recorder::default();
    let (sub, url) = serve(&app, "sdk", None, None, handler.clone()).await;
    sub.register().await.unwrap();
    let envelope =
        json!({"seq": 1, "id": "x", "type": "T", "data": null, "time": "2026-01-01T00:00:00.000Z"});
    let client = reqwest::Client::new();
    let unsigned = client.post(&url).json(&envelope).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    let forger =
        bus::signature::Signer::from_secret(&bus::signature::Signer::random_secret()).unwrap();
    let body = serde_json::to_vec(&envelope).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let forged = client
        .post(&url)
        .header("webhook-id", "x")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", forger.sign("x", now, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    assert!(handler.applied().is_empty());
}

#[tokio::test]
async fn caught_up_even_when_the_newest_events_are_not_its_types() {
    let app = spawn_app().await;
    app.publish_ok(json!({"type": "A"})).await;
    app.publish_ok(json!({"type": "B"})).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let handler = Recorder::default();
    let config = SubscriberConfig {
        bus_url: app.url.clone(),
        token: None,
        name: "only-a".into(),
        url,
        types: vec!["A".into()],
        batch: 1,
        applied: None,
        log_id: None,
    };
    let sub = Subscriber::new(config, handler.clone());
    let router = sub.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    assert_eq!(sub.register().await.unwrap().head_seq, 2);
    let mut caught_up = sub.caught_up();
    tokio::time::timeout(bus::testkit::PATIENCE, caught_up.wait_for(|c| *c))
        .await
        .expect("caught up although the last event is not an A")
        .unwrap();
    assert_eq!(handler.applied(), vec![1]);
}
