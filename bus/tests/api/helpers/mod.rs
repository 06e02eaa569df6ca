//! The harness: a bus daemon in-process on 127.0.0.1:0 with its own temp dir (the test
//! kit's [`TestBus`]) and typed calls to it; the subscription calls and the Server-Sent
//! Events reader are in the modules below.

mod sse;
mod subscriptions;

use bus::daemon::BusConfig;
use bus::testkit::{spawn_bus, spawn_bus_with, StoppedBus, TestBus};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

pub(crate) use bus::testkit::eventually;
pub(crate) use sse::{SseClient, SseMessage};
pub(crate) use subscriptions::spec;

/// A running bus daemon and a client for it.
pub(crate) struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    /// A client with no default headers (the token is added by [`TestApp::request`]).
    pub(crate) client: reqwest::Client,
    bus: TestBus,
}

/// A daemon with the defaults.
pub(crate) async fn spawn_app() -> TestApp {
    TestApp::over(spawn_bus().await)
}

/// A daemon whose configuration `tweak` changes first (token, limits…).
pub(crate) async fn spawn_app_with(tweak: impl FnOnce(&mut BusConfig)) -> TestApp {
    TestApp::over(spawn_bus_with(tweak).await)
}

impl TestApp {
    fn over(bus: TestBus) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("a reqwest client");
        Self {
            url: bus.url().to_string(),
            client,
            bus,
        }
    }

    /// Stops the daemon gracefully (as on SIGTERM); its data dir and configuration.
    pub(crate) async fn stop(self) -> StoppedBus {
        self.bus.stop().await
    }

    /// Stops the daemon gracefully and starts a new one on the same data dir.
    pub(crate) async fn restart(self) -> TestApp {
        TestApp::over(self.bus.restart().await)
    }

    /// Stops the daemon gracefully and starts a new one on the same data dir, with its
    /// configuration changed by `tweak` (e.g. other `--subscribe` entries).
    pub(crate) async fn restart_with(self, tweak: impl FnOnce(&mut BusConfig)) -> TestApp {
        TestApp::over(self.bus.restart_with(tweak).await)
    }

    /// The full URL of `path` (which starts with `/`).
    pub(crate) fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// A request to `path`, with the bearer token when the daemon has one.
    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.client.request(method, self.at(path));
        match &self.bus.config().token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// `method path` with `body` as JSON: the status and the JSON answer (`null` when the
    /// answer is empty, as a `204`'s).
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.request(method.clone(), path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = answer.status();
        let text = answer.text().await.expect("a body");
        if text.is_empty() {
            return (status, Value::Null);
        }
        let body = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!("{method} {path}: a {status} answer that is not JSON ({e}): {text:?}")
        });
        (status, body)
    }

    /// `POST /events` with `body` as JSON.
    pub(crate) async fn publish(&self, body: Value) -> (StatusCode, Value) {
        self.publish_raw(body.to_string(), "application/json").await
    }

    /// `POST /events` with exactly these bytes and this `Content-Type`.
    pub(crate) async fn publish_raw(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: &str,
    ) -> (StatusCode, Value) {
        let answer = self
            .request(Method::POST, "/events")
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST /events");
        json_of(answer).await
    }

    /// Publishes `body` and asserts `201`; the reply.
    pub(crate) async fn publish_ok(&self, body: Value) -> Value {
        let (status, reply) = self.publish(body).await;
        assert_eq!(status, StatusCode::CREATED, "publish refused: {reply}");
        reply
    }

    /// `GET path` as JSON: the status and the body (which must be JSON).
    pub(crate) async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let answer = self
            .request(Method::GET, path)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        json_of(answer).await
    }

    /// `GET path`, asserting `200`; the body as text.
    pub(crate) async fn get_text(&self, path: &str) -> String {
        let answer = self
            .request(Method::GET, path)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(answer.status(), StatusCode::OK, "GET {path}");
        answer.text().await.expect("a body")
    }

    /// `GET path`, asserting `200` and a JSON array; its items.
    pub(crate) async fn get_array(&self, path: &str) -> Vec<Value> {
        let (status, body) = self.get_json(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        match body {
            Value::Array(items) => items,
            other => panic!("GET {path} is not an array: {other}"),
        }
    }

    /// `GET /events`: the whole log.
    pub(crate) async fn events(&self) -> Vec<Value> {
        self.get_array("/events").await
    }

    /// `GET /info`.
    pub(crate) async fn info(&self) -> Value {
        let (status, body) = self.get_json("/info").await;
        assert_eq!(status, StatusCode::OK, "GET /info: {body}");
        body
    }

    /// The durable head, from `/info`.
    pub(crate) async fn head(&self) -> u64 {
        self.info().await["head_seq"]
            .as_u64()
            .expect("head_seq is a number")
    }

    /// Asserts that the log is still at `head` and that the next publish gets exactly
    /// `head + 1`, proving that nothing rejected before used a seq. Returns the new head.
    pub(crate) async fn assert_unchanged(&self, head: u64, after: &str) -> u64 {
        assert_eq!(self.head().await, head, "the head moved after {after}");
        let reply = self
            .publish_ok(serde_json::json!({"type": "Probe", "data": {"after": after}}))
            .await;
        assert_eq!(
            reply["seq"].as_u64(),
            Some(head + 1),
            "a seq was used by {after}"
        );
        head + 1
    }
}

/// Publishes one event of each type, as one array; their seqs.
pub(crate) async fn publish_types(app: &TestApp, types: &[&str]) -> Vec<u64> {
    let events: Vec<Value> = types
        .iter()
        .enumerate()
        .map(|(i, ty)| json!({"type": ty, "data": {"i": i}}))
        .collect();
    let reply = app.publish_ok(json!(events)).await;
    reply
        .as_array()
        .expect("an array reply")
        .iter()
        .map(|r| r["seq"].as_u64().expect("a seq"))
        .collect()
}

/// Publishes `n` events of type `ty` as one array; their seqs.
pub(crate) async fn publish_n(app: &TestApp, ty: &str, n: usize) -> Vec<u64> {
    publish_types(app, &vec![ty; n]).await
}

/// The status and JSON body of `answer` (panics when the body is not JSON).
pub(crate) async fn json_of(answer: reqwest::Response) -> (StatusCode, Value) {
    let status = answer.status();
    let text = answer.text().await.expect("a body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("a {status} answer that is not JSON ({e}): {text:?}"));
    (status, body)
}

/// Asserts a JSON error `{"error": code, "message": "…"}` with this status.
pub(crate) fn assert_error(
    status: StatusCode,
    body: &Value,
    want: StatusCode,
    code: &str,
    case: &str,
) {
    assert_eq!(status, want, "{case}: {body}");
    assert_eq!(body["error"], code, "{case}: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{case}: no message in {body}"
    );
}

/// The seqs of a list of envelopes.
pub(crate) fn seqs(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e["seq"].as_u64().expect("seq is a number"))
        .collect()
}
