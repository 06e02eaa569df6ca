//! Two moderation replicas sharing one subscription (DESIGN "Manifests": a Deployment
//! behind one Service): with the same `--subscription-secret`, each verifies what the bus
//! signs, whichever of them registered last.

use crate::helpers::{publish_comment, spawn_moderation, until_moderated};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use bus::signature::Signer;
use bus::testkit::spawn_bus;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

#[tokio::test]
async fn replicas_with_one_secret_both_take_the_buses_deliveries() {
    let bus = spawn_bus().await;
    let service = RoundRobin::start().await;
    let secret = Signer::random_secret();
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let (url, secret) = (service.url.clone(), secret.clone());
        let replica = spawn_moderation(bus.url(), |args| {
            args.service.advertise_url = Some(url);
            args.subscription_secret = Some(secret);
        })
        .await;
        service.add(replica.url());
        replicas.push(replica);
    }
    let ids: Vec<String> = (1..=6).map(|n| format!("c{n}")).collect();
    for id in &ids {
        publish_comment(&bus, id, "tea").await;
        let ids = [id.as_str()];
        until_moderated(&bus, &ids).await;
    }
    let answers = service.answers();
    assert!(
        answers.iter().all(|a| a.contains(&204)),
        "each replica took deliveries: {answers:?}"
    );
    assert!(
        answers.iter().flatten().all(|s| *s == 204),
        "none refused: {answers:?}"
    );
}

/// A Kubernetes Service in front of the replicas: each `POST /events` goes to the next
/// replica in turn, and each replica's answers are recorded.
#[derive(Clone)]
struct RoundRobin {
    url: String,
    parts: Arc<Parts>,
}

#[derive(Default)]
struct Parts {
    replicas: Mutex<Vec<String>>,
    answers: Mutex<Vec<Vec<u16>>>,
    next: AtomicUsize,
    http: reqwest::Client,
}

impl RoundRobin {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let parts = Arc::new(Parts::default());
        let app = axum::Router::new()
            .route("/events", axum::routing::post(forward))
            .with_state(parts.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, parts }
    }

    fn add(&self, replica: &str) {
        self.parts.replicas.lock().unwrap().push(replica.into());
        self.parts.answers.lock().unwrap().push(Vec::new());
    }

    fn answers(&self) -> Vec<Vec<u16>> {
        self.parts.answers.lock().unwrap().clone()
    }
}

async fn forward(
    State(parts): State<Arc<Parts>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Bytes) {
    let (index, replica) = {
        let replicas = parts.replicas.lock().unwrap();
        let index = parts.next.fetch_add(1, Ordering::SeqCst) % replicas.len();
        (index, replicas[index].clone())
    };
    let mut request = parts.http.post(format!("{replica}/events")).body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let answer = request.send().await.expect("the replica answers");
    let status = answer.status().as_u16();
    parts.answers.lock().unwrap()[index].push(status);
    let status = StatusCode::from_u16(status).expect("a status");
    (status, answer.bytes().await.expect("its body"))
}
