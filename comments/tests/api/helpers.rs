//! A comments service in this process ([`spawn_comments`]) beside a test bus, a proxy in
//! front of the bus that a test can take down ([`BusProxy`]), and typed reads of the log.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bus::testkit::{eventually, TestBus};
use comments::CommentsArgs;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running comments service, stopped when dropped.
pub(crate) struct TestComments {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), comments::RunError>>>,
}

impl Drop for TestComments {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestComments {
    /// Stops it (as on SIGTERM) and waits, bounded, for `run` to end.
    pub(crate) async fn stop(mut self) {
        self.shutdown.cancel();
        let task = self.task.take().expect("running");
        tokio::time::timeout(bus::testkit::PATIENCE, task)
            .await
            .expect("comments stops")
            .expect("comments did not panic")
            .expect("comments ended well");
    }

    /// `POST /posts/{post}/comments` with `body`: the status, `Minibus-Seq`, the JSON.
    pub(crate) async fn comment_raw(
        &self,
        post: &str,
        body: Value,
    ) -> (u16, Option<u64>, Value, Option<String>) {
        let answer = reqwest::Client::new()
            .post(format!("{}/posts/{post}/comments", self.url))
            .json(&body)
            .send()
            .await
            .expect("an answer");
        let status = answer.status().as_u16();
        let header = |name: &str| {
            answer
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let seq = header("minibus-seq").and_then(|v| v.parse().ok());
        let retry_after = header("retry-after");
        (status, seq, answer.json().await.expect("JSON"), retry_after)
    }

    /// Comments `content` on `post`, expecting `201`: the seq and the post's comments.
    pub(crate) async fn comment(&self, post: &str, content: &str) -> (Option<u64>, Vec<Value>) {
        let (status, seq, body, _) = self.comment_raw(post, json!({"content": content})).await;
        assert_eq!(status, 201, "{body}");
        (seq, body.as_array().expect("an array").clone())
    }

    /// `GET /posts/{post}/comments`.
    pub(crate) async fn comments_of(&self, post: &str) -> Vec<Value> {
        let url = format!("{}/posts/{post}/comments", self.url);
        let answer = reqwest::get(url).await.expect("an answer");
        assert_eq!(answer.status(), StatusCode::OK);
        answer.json().await.expect("JSON")
    }
}

/// A temp dir for a comments service's data, kept across its restarts.
pub(crate) fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temp dir")
}

/// comments on 127.0.0.1:0 for the bus at `bus_url`, its data in `dir`; returns once it is
/// ready (registered).
pub(crate) async fn spawn_comments(bus_url: &str, dir: &Path) -> TestComments {
    spawn_comments_with(bus_url, dir, |_| {}).await
}

/// [`spawn_comments`], its settings changed by `tweak` first.
pub(crate) async fn spawn_comments_with(
    bus_url: &str,
    dir: &Path,
    tweak: impl FnOnce(&mut CommentsArgs),
) -> TestComments {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let service = start_comments_on(listener, bus_url, dir.join("comments"), tweak);
    until_ready(&service).await;
    service
}

/// comments on 127.0.0.1:0 for the bus at `bus_url`, its data in `dir`, without waiting
/// for it to be ready.
pub(crate) async fn start_comments(bus_url: &str, dir: &Path) -> TestComments {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    start_comments_on(listener, bus_url, dir.join("comments"), |_| {})
}

/// Waits until comments answers `/readyz` with 200 (registered).
pub(crate) async fn until_ready(service: &TestComments) {
    let readyz = format!("{}/readyz", service.url);
    eventually("comments to be ready", || async {
        let answer = reqwest::get(&readyz).await.ok()?;
        (answer.status() == StatusCode::OK).then_some(())
    })
    .await;
}

/// comments as [`spawn_comments`] starts it, but reached by the bus through a proxy (so
/// that a test can slow its deliveries down): the service and the proxy.
pub(crate) async fn spawn_comments_behind_a_proxy(
    bus_url: &str,
    dir: &Path,
) -> (TestComments, BusProxy) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let proxy = BusProxy::start(&url).await;
    let advertise_url = Some(proxy.url.clone());
    let service = start_comments_on(listener, bus_url, dir.join("comments"), |args| {
        args.service.advertise_url = advertise_url;
    });
    until_ready(&service).await;
    (service, proxy)
}

fn start_comments_on(
    listener: TcpListener,
    bus_url: &str,
    data_dir: PathBuf,
    tweak: impl FnOnce(&mut CommentsArgs),
) -> TestComments {
    bus::kit::init_test_tracing();
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let mut args = CommentsArgs::new(SocketAddr::from(([127, 0, 0, 1], 0)), data_dir);
    args.service.bus_url = bus_url.into();
    tweak(&mut args);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(comments::run(listener, args, shutdown.clone()));
    TestComments {
        url,
        shutdown,
        task: Some(task),
    }
}

/// Publishes `event` straight to the bus; its seq.
pub(crate) async fn publish(bus: &TestBus, event: Value) -> u64 {
    let answer = reqwest::Client::new()
        .post(bus.at("/events"))
        .json(&event)
        .send()
        .await
        .expect("publish");
    assert!(answer.status().is_success(), "{}", answer.status());
    let reply: Value = answer.json().await.expect("a reply");
    reply["seq"].as_u64().expect("a seq")
}

/// Publishes `PostCreated` for the post `id` (in the course's shape: no envelope id).
pub(crate) async fn publish_post(bus: &TestBus, id: &str) -> u64 {
    publish(
        bus,
        json!({"type": "PostCreated", "data": {"id": id, "title": "a post"}}),
    )
    .await
}

/// Publishes moderation's verdict `status` on `comment` with the event id `event_id`.
pub(crate) async fn publish_verdict(
    bus: &TestBus,
    event_id: &str,
    comment: &Value,
    status: &str,
) -> u64 {
    let data = json!({"id": comment["id"], "content": comment["content"], "postId": comment["postId"], "status": status});
    publish(
        bus,
        json!({"id": event_id, "type": "CommentModerated", "data": data}),
    )
    .await
}

/// Every event of type `ty` in the log, in seq order.
pub(crate) async fn events_of(bus: &TestBus, ty: &str) -> Vec<Value> {
    let url = bus.at(&format!("/events?type={ty}&limit=10000"));
    let events: Value = reqwest::get(url)
        .await
        .expect("GET /events")
        .json()
        .await
        .expect("JSON");
    events.as_array().expect("an array").clone()
}

/// Waits until the log holds at least `count` events of type `ty`, and returns them all.
pub(crate) async fn until_events(bus: &TestBus, ty: &str, count: usize) -> Vec<Value> {
    eventually(&format!("{count} {ty} in the log"), || async {
        let events = events_of(bus, ty).await;
        (events.len() >= count).then_some(events)
    })
    .await
}

/// `GET /subscriptions/comments` at the bus.
pub(crate) async fn subscription(bus: &TestBus) -> Value {
    reqwest::get(bus.at("/subscriptions/comments"))
        .await
        .expect("GET the subscription")
        .json()
        .await
        .expect("JSON")
}

/// A proxy on 127.0.0.1:0 in front of a bus (comments' `--bus-url` in the outage tests) or
/// of comments (its `--advertise-url`, to slow deliveries down): it answers every request
/// `503` while it is down, as a server that cannot be reached, and holds each request for
/// its delay first.
#[derive(Clone)]
pub(crate) struct BusProxy {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    parts: Arc<ProxyParts>,
}

struct ProxyParts {
    bus_url: String,
    http: reqwest::Client,
    down: AtomicBool,
    delay: Mutex<Duration>,
}

impl BusProxy {
    /// A proxy of the bus at `bus_url`, forwarding everything.
    pub(crate) async fn start(bus_url: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let parts = Arc::new(ProxyParts {
            bus_url: bus_url.into(),
            http: reqwest::Client::new(),
            down: AtomicBool::new(false),
            delay: Mutex::new(Duration::ZERO),
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(parts.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, parts }
    }

    /// From now on, every request is answered `503` (`true`) or forwarded (`false`).
    pub(crate) fn set_down(&self, down: bool) {
        self.parts.down.store(down, Ordering::SeqCst);
    }

    /// From now on, each request is held `delay` before it is forwarded.
    pub(crate) fn set_delay(&self, delay: Duration) {
        *self.parts.delay.lock().unwrap() = delay;
    }
}

async fn forward(State(proxy): State<Arc<ProxyParts>>, request: Request) -> Response {
    let delay = *proxy.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    if proxy.down.load(Ordering::SeqCst) {
        let body = json!({"error": "unavailable", "message": "the proxy is down"});
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    }
    let (head, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("a body");
    let path = head.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut forwarded = proxy
        .http
        .request(head.method, format!("{}{path}", proxy.bus_url))
        .body(body);
    for (name, value) in &head.headers {
        if name != "host" && name != "content-length" {
            forwarded = forwarded.header(name, value);
        }
    }
    let answer = forwarded.send().await.expect("the bus answers");
    let status = StatusCode::from_u16(answer.status().as_u16()).expect("a status");
    (status, answer.bytes().await.expect("its body")).into_response()
}
