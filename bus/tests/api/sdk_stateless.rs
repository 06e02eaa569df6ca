//! The SDK's `Subscriber::stateless` against a real bus: a service without state registers
//! without `reset`, so a new subscription starts from the beginning and a restart resumes
//! after what the service last acknowledged (the bus's cursor), never from the start.

use crate::helpers::{eventually, publish_n, spawn_app, TestApp};
use bus::sdk::{Handler, HandlerError, Subscriber, SubscriberConfig};
use bus::Envelope;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// Records the seqs it is given.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<u64>>>);

impl Seen {
    fn seqs(&self) -> Vec<u64> {
        self.0.lock().unwrap().clone()
    }
}

impl Handler for Seen {
    async fn handle(&self, event: Envelope) -> Result<(), HandlerError> {
        self.0.lock().unwrap().push(event.seq);
        Ok(())
    }
}

/// A stateless subscriber named `stateless`, served on a fresh port and registered.
async fn start(app: &TestApp, seen: Seen) -> (Subscriber<Seen>, bus::sdk::Registration) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = SubscriberConfig {
        bus_url: app.url.clone(),
        token: None,
        name: "stateless".into(),
        url: format!("http://{}/events", listener.local_addr().unwrap()),
        types: vec![],
        batch: 1,
        // Ignored by a stateless subscriber: it would otherwise replay from seq 1.
        applied: Some(0),
        log_id: None,
    };
    let subscriber = Subscriber::stateless(config, seen);
    let router = subscriber.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let registration = subscriber.register().await.unwrap();
    (subscriber, registration)
}

async fn until_seen(seen: &Seen, want: Vec<u64>) {
    eventually(&format!("seen {want:?}"), || {
        let got = seen.seqs();
        let want = want.clone();
        async move { (got == want).then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn a_stateless_subscriber_starts_from_the_beginning_then_resumes_from_the_bus_cursor() {
    let app = spawn_app().await;
    publish_n(&app, "T", 3).await;
    let first = Seen::default();
    let (sub, registration) = start(&app, first.clone()).await;
    assert_eq!(registration.after, 0, "created: from the beginning");
    let generation = registration.generation;
    until_seen(&first, vec![1, 2, 3]).await;

    // A restart (a new process: a new secret, a new port) while events kept coming.
    publish_n(&app, "T", 2).await;
    until_seen(&first, vec![1, 2, 3, 4, 5]).await;
    drop(sub);
    let second = Seen::default();
    let (_sub, registration) = start(&app, second.clone()).await;
    assert_eq!(registration.after, 5, "resumes after what was acknowledged");
    assert!(!registration.started_over);
    assert_eq!(
        registration.generation, generation,
        "no reset: the generation stays"
    );
    publish_n(&app, "T", 1).await;
    until_seen(&second, vec![6]).await;
}
