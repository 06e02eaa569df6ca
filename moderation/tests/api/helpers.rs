//! A moderation service in this process ([`spawn_moderation`]) beside a test bus, a proxy
//! in front of the bus whose answers to publishes a test can break ([`BusProxy`]), and
//! typed reads of the log.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bus::testkit::{eventually, TestBus};
use moderation::ModerationArgs;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running moderation service, stopped when dropped.
pub(crate) struct TestModeration {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), moderation::RunError>>>,
}

impl Drop for TestModeration {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestModeration {
    /// Stops it (as on SIGTERM) if it still runs, and returns how `run` ended.
    pub(crate) async fn stop(self) -> Result<(), moderation::RunError> {
        self.shutdown.cancel();
        self.ended().await
    }

    /// Waits (bounded) for `run` to end by itself, and returns how it ended.
    pub(crate) async fn ended(mut self) -> Result<(), moderation::RunError> {
        let task = self.task.take().expect("running");
        tokio::time::timeout(bus::testkit::PATIENCE, task)
            .await
            .expect("moderation stops")
            .expect("moderation did not panic")
    }
}

/// moderation on 127.0.0.1:0 for the bus at `bus_url`, its settings changed by `tweak`;
/// returns once it is ready (registered).
pub(crate) async fn spawn_moderation(
    bus_url: &str,
    tweak: impl FnOnce(&mut ModerationArgs),
) -> TestModeration {
    let service = start_moderation(bus_url, tweak).await;
    let readyz = format!("{}/readyz", service.url);
    eventually("moderation to be ready", || async {
        let answer = reqwest::get(&readyz).await.ok()?;
        (answer.status() == StatusCode::OK).then_some(())
    })
    .await;
    service
}

/// moderation started as [`spawn_moderation`] does, without waiting for it.
pub(crate) async fn start_moderation(
    bus_url: &str,
    tweak: impl FnOnce(&mut ModerationArgs),
) -> TestModeration {
    bus::kit::init_test_tracing();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let mut args = ModerationArgs::new(SocketAddr::from(([127, 0, 0, 1], 0)));
    args.service.bus_url = bus_url.into();
    tweak(&mut args);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(moderation::run(listener, args, shutdown.clone()));
    TestModeration {
        url,
        shutdown,
        task: Some(task),
    }
}

/// Publishes `CommentCreated` for comment `id` straight to the bus; its seq.
pub(crate) async fn publish_comment(bus: &TestBus, id: &str, content: &str) -> u64 {
    let event = json!({
        "id": format!("created-{id}"),
        "type": "CommentCreated",
        "source": "comments",
        "data": {"id": id, "content": content, "postId": "p1", "status": "pending"},
    });
    let answer = reqwest::Client::new()
        .post(bus.at("/events"))
        .json(&event)
        .send()
        .await
        .expect("publish");
    assert_eq!(answer.status(), StatusCode::CREATED);
    let reply: Value = answer.json().await.expect("a reply");
    reply["seq"].as_u64().expect("a seq")
}

/// Every `CommentModerated` in the log, in seq order.
pub(crate) async fn moderated(bus: &TestBus) -> Vec<Value> {
    let url = bus.at("/events?type=CommentModerated&limit=10000");
    let events: Value = reqwest::get(url)
        .await
        .expect("GET /events")
        .json()
        .await
        .expect("JSON");
    events.as_array().expect("an array").clone()
}

/// Waits until the log holds a `CommentModerated` for each of `ids`, and returns them all.
pub(crate) async fn until_moderated(bus: &TestBus, ids: &[&str]) -> Vec<Value> {
    eventually(&format!("verdicts on {ids:?}"), || async {
        let events = moderated(bus).await;
        let on = |id: &str| events.iter().any(|e| e["data"]["id"] == json!(id));
        ids.iter().all(|id| on(id)).then_some(events)
    })
    .await
}

/// The one `CommentModerated` of comment `id` in `events` (panics if not exactly one).
pub(crate) fn the_verdict_on<'a>(events: &'a [Value], id: &str) -> &'a Value {
    let on: Vec<&Value> = events
        .iter()
        .filter(|e| e["data"]["id"] == json!(id))
        .collect();
    assert_eq!(on.len(), 1, "one verdict on {id}: {events:#?}");
    on[0]
}

/// `GET /subscriptions/moderation` at the bus.
pub(crate) async fn subscription(bus: &TestBus) -> Value {
    reqwest::get(bus.at("/subscriptions/moderation"))
        .await
        .expect("GET the subscription")
        .json()
        .await
        .expect("JSON")
}

/// What the proxy does with a publish (`POST /events`); everything else is forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Publishes {
    /// Forwarded, and the bus's answer returned.
    Forward,
    /// Not forwarded: `503 storage_unavailable`, as a bus that cannot write answers.
    Refuse,
    /// Forwarded (the bus stores the event), but the answer is lost: `503`.
    LoseTheAnswer,
}

/// A proxy in front of a bus, on 127.0.0.1:0: moderation's `--bus-url` in tests where the
/// bus's answers to its publishes fail.
#[derive(Clone)]
pub(crate) struct BusProxy {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    parts: Arc<ProxyParts>,
}

struct ProxyParts {
    bus_url: String,
    http: reqwest::Client,
    publishes: Mutex<Publishes>,
    /// Publishes received, whatever was done with them.
    received: AtomicUsize,
    /// Every request is answered `503`, as by a bus that is not ready.
    down: AtomicBool,
}

impl BusProxy {
    /// A proxy of the bus at `bus_url`, forwarding everything.
    pub(crate) async fn start(bus_url: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let parts = Arc::new(ProxyParts {
            bus_url: bus_url.into(),
            http: reqwest::Client::new(),
            publishes: Mutex::new(Publishes::Forward),
            received: AtomicUsize::new(0),
            down: AtomicBool::new(false),
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(parts.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, parts }
    }

    /// From now on, publishes are handled so.
    pub(crate) fn publishes(&self, what: Publishes) {
        *self.parts.publishes.lock().unwrap() = what;
    }

    /// From now on, every request is answered `503` (`true`) or forwarded (`false`).
    pub(crate) fn set_down(&self, down: bool) {
        self.parts.down.store(down, Ordering::SeqCst);
    }

    /// How many publishes it received.
    pub(crate) fn received(&self) -> usize {
        self.parts.received.load(Ordering::SeqCst)
    }
}

async fn forward(State(proxy): State<Arc<ProxyParts>>, request: Request) -> Response {
    let (head, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("a body");
    let is_publish = head.method == "POST" && head.uri.path() == "/events";
    let mut what = Publishes::Forward;
    if is_publish {
        proxy.received.fetch_add(1, Ordering::SeqCst);
        what = *proxy.publishes.lock().unwrap();
    }
    if what == Publishes::Refuse || proxy.down.load(Ordering::SeqCst) {
        return unavailable();
    }
    let (status, answer) = send_to_bus(&proxy, head, body).await;
    match what {
        Publishes::LoseTheAnswer => unavailable(),
        _ => (status, answer).into_response(),
    }
}

async fn send_to_bus(
    proxy: &ProxyParts,
    head: axum::http::request::Parts,
    body: Bytes,
) -> (StatusCode, Bytes) {
    let path = head.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = proxy
        .http
        .request(head.method, format!("{}{path}", proxy.bus_url))
        .body(body);
    for (name, value) in &head.headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let answer = request.send().await.expect("the bus answers");
    let status = StatusCode::from_u16(answer.status().as_u16()).expect("a status");
    (status, answer.bytes().await.expect("its body"))
}

fn unavailable() -> Response {
    let body = json!({"error": "storage_unavailable", "message": "the proxy says so"});
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
}
