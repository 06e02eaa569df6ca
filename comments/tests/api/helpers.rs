//! A comments service in this process ([`spawn_comments`]) beside a test bus, and typed
//! reads of the log.

use axum::http::StatusCode;
use bus::testkit::{eventually, BusProxy, TestBus, TestService};
use comments::{CommentsArgs, RunError};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::Path;
use tokio::net::TcpListener;

/// A running comments service (the kit's [`TestService`]) with typed calls to its API,
/// stopped when dropped.
pub(crate) struct TestComments(TestService<RunError>);

impl Deref for TestComments {
    type Target = TestService<RunError>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl TestComments {
    /// Stops it (as on SIGTERM) and waits, bounded, for `run` to end well.
    pub(crate) async fn stop(self) {
        self.0.stop().await;
    }

    /// `POST /posts/{post}/comments` with `body`: the status, `Minibus-Seq`, the JSON.
    pub(crate) async fn comment_raw(
        &self,
        post: &str,
        body: Value,
    ) -> (u16, Option<u64>, Value, Option<String>) {
        let answer = reqwest::Client::new()
            .post(self.at(&format!("/posts/{post}/comments")))
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
        let url = self.at(&format!("/posts/{post}/comments"));
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
    let service = start_comments_on(listener, bus_url, dir, tweak);
    service.until_ready().await;
    service
}

/// comments on 127.0.0.1:0 for the bus at `bus_url`, its data in `dir`, without waiting
/// for it to be ready.
pub(crate) async fn start_comments(bus_url: &str, dir: &Path) -> TestComments {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    start_comments_on(listener, bus_url, dir, |_| {})
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
    let advertise_url = Some(proxy.url().to_string());
    let service = start_comments_on(listener, bus_url, dir, |args| {
        args.service.advertise_url = advertise_url;
    });
    service.until_ready().await;
    (service, proxy)
}

/// comments on `listener`, its data in `dir/comments`.
fn start_comments_on(
    listener: TcpListener,
    bus_url: &str,
    dir: &Path,
    tweak: impl FnOnce(&mut CommentsArgs),
) -> TestComments {
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut args = CommentsArgs::new(listen, dir.join("comments"));
    args.service.bus_url = bus_url.into();
    tweak(&mut args);
    let run = |listener, shutdown| comments::run(listener, args, shutdown);
    TestComments(TestService::spawn_on("comments", listener, run))
}

/// Publishes `event` straight to the bus; its seq.
pub(crate) async fn publish(bus: &TestBus, event: Value) -> u64 {
    bus.publish(&event).await["seq"].as_u64().expect("a seq")
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

/// Waits until the log holds at least `count` events of type `ty`, and returns them all.
pub(crate) async fn until_events(bus: &TestBus, ty: &str, count: usize) -> Vec<Value> {
    eventually(&format!("{count} {ty} in the log"), || async {
        let events = bus.events_of(ty).await;
        (events.len() >= count).then_some(events)
    })
    .await
}
