//! The harness: a bus daemon in-process on 127.0.0.1:0 with its own temp dir (the test
//! kit's [`TestBus`]), typed calls to it, and a Server-Sent Events reader.

use bus::daemon::BusConfig;
use bus::testkit::{spawn_bus, spawn_bus_with, StoppedBus, TestBus};
use futures_util::stream::{BoxStream, StreamExt};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;
use std::time::Duration;

pub use bus::testkit::{eventually, PATIENCE};

/// A running bus daemon and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// A client with no default headers (the token is added by [`TestApp::request`]).
    pub client: reqwest::Client,
    bus: TestBus,
}

/// A daemon with the defaults.
pub async fn spawn_app() -> TestApp {
    TestApp::over(spawn_bus().await)
}

/// A daemon whose configuration `tweak` changes first (token, limits…).
pub async fn spawn_app_with(tweak: impl FnOnce(&mut BusConfig)) -> TestApp {
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
    pub async fn stop(self) -> StoppedBus {
        self.bus.stop().await
    }

    /// Stops the daemon gracefully and starts a new one on the same data dir.
    pub async fn restart(self) -> TestApp {
        TestApp::over(self.bus.restart().await)
    }

    /// Stops the daemon gracefully and starts a new one on the same data dir, with its
    /// configuration changed by `tweak` (e.g. other `--subscribe` entries).
    pub async fn restart_with(self, tweak: impl FnOnce(&mut BusConfig)) -> TestApp {
        TestApp::over(self.bus.restart_with(tweak).await)
    }

    /// The full URL of `path` (which starts with `/`).
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// A request to `path`, with the bearer token when the daemon has one.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.client.request(method, self.at(path));
        match &self.bus.config().token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// `method path` with `body` as JSON: the status and the JSON answer (`null` when the
    /// answer is empty, as a `204`'s).
    pub async fn call(
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
    pub async fn publish(&self, body: Value) -> (StatusCode, Value) {
        self.publish_raw(body.to_string(), "application/json").await
    }

    /// `POST /events` with exactly these bytes and this `Content-Type`.
    pub async fn publish_raw(
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
    pub async fn publish_ok(&self, body: Value) -> Value {
        let (status, reply) = self.publish(body).await;
        assert_eq!(status, StatusCode::CREATED, "publish refused: {reply}");
        reply
    }

    /// `GET path` as JSON: the status and the body (which must be JSON).
    pub async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let answer = self
            .request(Method::GET, path)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        json_of(answer).await
    }

    /// `GET path`, asserting `200`; the body as text.
    pub async fn get_text(&self, path: &str) -> String {
        let answer = self
            .request(Method::GET, path)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(answer.status(), StatusCode::OK, "GET {path}");
        answer.text().await.expect("a body")
    }

    /// `GET path`, asserting `200` and a JSON array; its items.
    pub async fn get_array(&self, path: &str) -> Vec<Value> {
        let (status, body) = self.get_json(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        match body {
            Value::Array(items) => items,
            other => panic!("GET {path} is not an array: {other}"),
        }
    }

    /// `GET /events`: the whole log.
    pub async fn events(&self) -> Vec<Value> {
        self.get_array("/events").await
    }

    /// `GET /info`.
    pub async fn info(&self) -> Value {
        let (status, body) = self.get_json("/info").await;
        assert_eq!(status, StatusCode::OK, "GET /info: {body}");
        body
    }

    /// The durable head, from `/info`.
    pub async fn head(&self) -> u64 {
        self.info().await["head_seq"]
            .as_u64()
            .expect("head_seq is a number")
    }

    /// Asserts that the log is still at `head` and that the next publish gets exactly
    /// `head + 1`, proving that nothing rejected before used a seq. Returns the new head.
    pub async fn assert_unchanged(&self, head: u64, after: &str) -> u64 {
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

/// The status and JSON body of `answer` (panics when the body is not JSON).
pub async fn json_of(answer: reqwest::Response) -> (StatusCode, Value) {
    let status = answer.status();
    let text = answer.text().await.expect("a body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("a {status} answer that is not JSON ({e}): {text:?}"));
    (status, body)
}

/// Asserts a JSON error `{"error": code, "message": "…"}` with this status.
pub fn assert_error(status: StatusCode, body: &Value, want: StatusCode, code: &str, case: &str) {
    assert_eq!(status, want, "{case}: {body}");
    assert_eq!(body["error"], code, "{case}: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{case}: no message in {body}"
    );
}

/// The seqs of a list of envelopes.
pub fn seqs(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e["seq"].as_u64().expect("seq is a number"))
        .collect()
}

/// One Server-Sent Events message.
#[derive(Debug)]
pub struct SseMessage {
    /// The `id:` field.
    pub id: Option<String>,
    /// The `event:` field (the bus never sets one).
    pub event: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

impl SseMessage {
    /// The seq in `id:`, checked against the envelope's.
    pub fn seq(&self) -> u64 {
        let id: u64 = self
            .id
            .as_deref()
            .expect("an id: line")
            .parse()
            .expect("a numeric id");
        assert_eq!(self.envelope()["seq"].as_u64(), Some(id), "id: is the seq");
        id
    }

    /// `data:` parsed.
    pub fn envelope(&self) -> Value {
        serde_json::from_str(&self.data).expect("data: is the JSON envelope")
    }
}

/// A reader of `GET /events/stream`, parsing the event stream as a browser would.
pub struct SseClient {
    body: BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buffer: Vec<u8>,
}

impl SseClient {
    /// Connects to `/events/stream?query`, with `Last-Event-ID` when given.
    pub async fn connect(app: &TestApp, query: &str, last_event_id: Option<&str>) -> Self {
        let mut request = app
            .request(Method::GET, &format!("/events/stream?{query}"))
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let answer = tokio::time::timeout(PATIENCE, request.send())
            .await
            .expect("the stream answers")
            .expect("GET /events/stream");
        assert_eq!(answer.status(), StatusCode::OK);
        let content_type = answer
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            content_type.starts_with("text/event-stream"),
            "content-type {content_type}"
        );
        Self {
            body: answer
                .bytes_stream()
                .map(|chunk| chunk.map(|b| b.to_vec()))
                .boxed(),
            buffer: Vec::new(),
        }
    }

    /// The next message (comments such as `: keepalive` are skipped).
    pub async fn next(&mut self) -> SseMessage {
        tokio::time::timeout(PATIENCE, self.next_message())
            .await
            .expect("an SSE message within the patience bound")
    }

    /// The next `n` messages.
    pub async fn take(&mut self, n: usize) -> Vec<SseMessage> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.next().await);
        }
        out
    }

    async fn next_message(&mut self) -> SseMessage {
        let mut id = None;
        let mut event = None;
        let mut data: Option<String> = None;
        loop {
            let line = self.next_line().await;
            if line.is_empty() {
                if let Some(data) = data.take() {
                    return SseMessage { id, event, data };
                }
                (id, event) = (None, None);
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((&line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value).to_string();
            match field {
                "id" => id = Some(value),
                "event" => event = Some(value),
                "data" => match &mut data {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(&value);
                    }
                    None => data = Some(value),
                },
                _ => {}
            }
        }
    }

    /// One line, ended by `\r\n`, `\n` or `\r` (the terminator is not returned).
    async fn next_line(&mut self) -> String {
        loop {
            if let Some(at) = self.buffer.iter().position(|b| matches!(b, b'\n' | b'\r')) {
                let crlf_may_follow = self.buffer[at] == b'\r' && at + 1 == self.buffer.len();
                if !crlf_may_follow {
                    let line = String::from_utf8(self.buffer[..at].to_vec()).expect("UTF-8");
                    let end = if self.buffer[at] == b'\r' && self.buffer.get(at + 1) == Some(&b'\n')
                    {
                        at + 2
                    } else {
                        at + 1
                    };
                    self.buffer.drain(..end);
                    return line;
                }
            }
            let chunk = self
                .body
                .next()
                .await
                .expect("the event stream ended")
                .expect("reading the event stream");
            self.buffer.extend_from_slice(&chunk);
        }
    }
}
