//! `BusProxy`: an HTTP proxy on 127.0.0.1:0 in front of a bus (a service's `--bus-url`) or
//! of a service (its `--advertise-url`), which a test can take down, slow down, or whose
//! answers to publishes it can break, while the service under test runs.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{request, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;

/// What the proxy does with a publish (`POST /events`); everything else is forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publishes {
    /// Forwarded, and the bus's answer returned.
    Forward,
    /// Not forwarded: `503 storage_unavailable`, as a bus that cannot write answers.
    Refuse,
    /// Forwarded (the bus stores the event), but the answer is lost: `503`.
    LoseTheAnswer,
}

/// A proxy on 127.0.0.1:0 forwarding every request to one upstream, until the test says
/// otherwise: down (every request answered `503`, as by a server that cannot be reached
/// or is not ready), a delay before each request, publishes refused or their answers lost.
/// Clones share the settings. It serves until the test's runtime ends.
#[derive(Clone)]
pub struct BusProxy {
    url: String,
    settings: Arc<Settings>,
}

struct Settings {
    upstream: String,
    http: reqwest::Client,
    down: AtomicBool,
    delay: Mutex<Duration>,
    publishes: Mutex<Publishes>,
    /// Publishes received, whatever was done with them.
    received: AtomicUsize,
}

impl BusProxy {
    /// A proxy of `upstream` (`http://HOST:PORT`), forwarding everything.
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let settings = Arc::new(Settings {
            upstream: upstream.into(),
            http: reqwest::Client::new(),
            down: AtomicBool::new(false),
            delay: Mutex::new(Duration::ZERO),
            publishes: Mutex::new(Publishes::Forward),
            received: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(settings.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, settings }
    }

    /// `http://127.0.0.1:PORT`: where the service under test is pointed.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// From now on, every request is answered `503` (`true`) or forwarded (`false`).
    pub fn set_down(&self, down: bool) {
        self.settings.down.store(down, Ordering::SeqCst);
    }

    /// From now on, each request is held `delay` before it is handled.
    pub fn set_delay(&self, delay: Duration) {
        *lock(&self.settings.delay) = delay;
    }

    /// From now on, publishes are handled so.
    pub fn publishes(&self, what: Publishes) {
        *lock(&self.settings.publishes) = what;
    }

    /// How many publishes it received, whatever it did with them.
    pub fn received(&self) -> usize {
        self.settings.received.load(Ordering::SeqCst)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn forward(State(proxy): State<Arc<Settings>>, request: Request) -> Response {
    let delay = *lock(&proxy.delay);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (head, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("a body");
    let mut what = Publishes::Forward;
    if head.method == "POST" && head.uri.path() == "/events" {
        proxy.received.fetch_add(1, Ordering::SeqCst);
        what = *lock(&proxy.publishes);
    }
    if proxy.down.load(Ordering::SeqCst) {
        return unavailable("unavailable", "the proxy is down");
    }
    if what == Publishes::Refuse {
        return unavailable("storage_unavailable", "the proxy refused the publish");
    }
    let answer = send_upstream(&proxy, head, body).await;
    match what {
        Publishes::LoseTheAnswer => unavailable("storage_unavailable", "the proxy lost the answer"),
        _ => answer,
    }
}

async fn send_upstream(proxy: &Settings, head: request::Parts, body: Bytes) -> Response {
    let path = head.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = proxy
        .http
        .request(head.method, format!("{}{path}", proxy.upstream))
        .body(body);
    for (name, value) in &head.headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let answer = request.send().await.expect("the upstream answers");
    let status = StatusCode::from_u16(answer.status().as_u16()).expect("a status");
    (status, answer.bytes().await.expect("its body")).into_response()
}

/// `503` with the JSON error body `code`, `message`.
fn unavailable(code: &str, message: &str) -> Response {
    let body = serde_json::json!({"error": code, "message": message});
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::spawn_bus;
    use serde_json::{json, Value};

    /// `POST /events` through `proxy`: the status and the error code, if any.
    async fn publish(proxy: &BusProxy) -> (u16, Value) {
        let answer = reqwest::Client::new()
            .post(format!("{}/events", proxy.url()))
            .json(&json!({"type": "Proxied"}))
            .send()
            .await
            .expect("an answer");
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.expect("JSON");
        (status, body["error"].clone())
    }

    async fn head(bus: &crate::testkit::TestBus) -> Value {
        let info: Value = reqwest::get(bus.at("/info"))
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON");
        info["head_seq"].clone()
    }

    #[tokio::test]
    async fn publishes_are_forwarded_refused_or_their_answers_lost_as_set() {
        let bus = spawn_bus().await;
        let proxy = BusProxy::start(bus.url()).await;
        assert_eq!(publish(&proxy).await, (201, Value::Null));
        proxy.publishes(Publishes::Refuse);
        assert_eq!(publish(&proxy).await, (503, json!("storage_unavailable")));
        assert_eq!(head(&bus).await, 1, "a refused publish is not forwarded");
        proxy.publishes(Publishes::LoseTheAnswer);
        assert_eq!(publish(&proxy).await, (503, json!("storage_unavailable")));
        assert_eq!(head(&bus).await, 2, "a lost answer's publish is stored");
        assert_eq!(proxy.received(), 3);
    }

    #[tokio::test]
    async fn a_proxy_down_answers_503_to_everything_until_it_is_up_again() {
        let bus = spawn_bus().await;
        let proxy = BusProxy::start(bus.url()).await;
        let healthz = format!("{}/healthz", proxy.url());
        proxy.set_down(true);
        let answer = reqwest::get(&healthz).await.expect("an answer");
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(publish(&proxy).await, (503, json!("unavailable")));
        assert_eq!(head(&bus).await, 0);
        proxy.set_down(false);
        let answer = reqwest::get(&healthz).await.expect("an answer");
        assert_eq!(answer.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_delay_holds_each_request_first() {
        let bus = spawn_bus().await;
        let proxy = BusProxy::start(bus.url()).await;
        let delay = Duration::from_millis(200);
        proxy.set_delay(delay);
        let started = std::time::Instant::now();
        assert_eq!(publish(&proxy).await.0, 201);
        assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
    }
}
