//! A fake subscriber: an axum server on 127.0.0.1:0 that records every request it gets
//! (method, path, headers, raw body, the seqs in it, the answer given) and answers as the
//! test scripts it, switchable while the test runs. Also the subscription calls of the bus
//! API used by the subscription tests.

use crate::helpers::{eventually, TestApp};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use reqwest::Method as ClientMethod;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::TcpSocket;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// How the fake subscriber answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// This status, no particular header.
    Status(u16),
    /// This status with these headers (`Retry-After`, `Location`…).
    WithHeaders(u16, Vec<(&'static str, String)>),
    /// This status with this body.
    WithBody(u16, String),
    /// Never answers (the bus's `timeout_ms` ends it).
    Hang,
    /// Waits for [`Subscriber::release`], then answers this status.
    Hold(u16),
}

impl Reply {
    fn status(&self) -> Option<u16> {
        match self {
            Reply::Status(s)
            | Reply::WithHeaders(s, _)
            | Reply::WithBody(s, _)
            | Reply::Hold(s) => Some(*s),
            Reply::Hang => None,
        }
    }
}

/// One request the fake subscriber got.
#[derive(Debug, Clone)]
pub struct Received {
    /// `POST`, always, from the bus.
    pub method: Method,
    /// The path (the bus never follows a redirect to another one).
    pub path: String,
    /// Every header.
    pub headers: HeaderMap,
    /// The raw body.
    pub body: Bytes,
    /// The seqs the body carries (envelopes' `seq`, CloudEvents' `sequence`, or the
    /// `ce-sequence` header in binary mode).
    pub seqs: Vec<u64>,
    /// The status answered (`None`: hung).
    pub answer: Option<u16>,
}

impl Received {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A numeric header.
    pub fn number(&self, name: &str) -> u64 {
        self.header(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .parse()
            .unwrap_or_else(|e| panic!("{name} is not a number: {e}"))
    }

    /// `Minibus-Generation`.
    pub fn generation(&self) -> u64 {
        self.number("minibus-generation")
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// Whether the subscriber acknowledged it.
    pub fn acked(&self) -> bool {
        self.answer.is_some_and(|s| (200..300).contains(&s))
    }
}

#[derive(Debug)]
struct Script {
    /// Answers for the next requests, in order.
    queue: VecDeque<Reply>,
    /// Answers for the next requests carrying a seq, used up one each.
    once_for_seq: HashMap<u64, VecDeque<Reply>>,
    /// The answer to every request carrying a seq.
    for_seq: HashMap<u64, Reply>,
    /// Otherwise.
    default: Reply,
}

impl Script {
    fn next(&mut self, seqs: &[u64]) -> Reply {
        for seq in seqs {
            if let Some(reply) = self.once_for_seq.get_mut(seq).and_then(VecDeque::pop_front) {
                return reply;
            }
        }
        if let Some(reply) = seqs.iter().find_map(|s| self.for_seq.get(s)) {
            return reply.clone();
        }
        self.queue
            .pop_front()
            .unwrap_or_else(|| self.default.clone())
    }
}

struct Inner {
    received: Mutex<Vec<Received>>,
    script: Mutex<Script>,
    gate: Semaphore,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A fake subscriber; its URL is `http://127.0.0.1:PORT/events`.
pub struct Subscriber {
    /// Where the bus should POST.
    pub url: String,
    /// The address it listens (or will listen) on.
    pub addr: SocketAddr,
    inner: Arc<Inner>,
    reserved: Option<TcpSocket>,
    task: Option<JoinHandle<()>>,
}

impl Subscriber {
    /// A subscriber that answers `200` to everything.
    pub async fn start() -> Self {
        let mut subscriber = Self::down();
        subscriber.come_up();
        subscriber
    }

    /// A subscriber that is not listening yet: its port is bound (so nobody else takes
    /// it) but not listening, so the bus gets "connection refused" until [`Self::come_up`].
    pub fn down() -> Self {
        let socket = TcpSocket::new_v4().expect("a socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind 127.0.0.1:0");
        let addr = socket.local_addr().expect("local addr");
        Self {
            url: format!("http://{addr}/events"),
            addr,
            inner: Arc::new(Inner {
                received: Mutex::default(),
                script: Mutex::new(Script {
                    queue: VecDeque::new(),
                    once_for_seq: HashMap::new(),
                    for_seq: HashMap::new(),
                    default: Reply::Status(200),
                }),
                gate: Semaphore::new(0),
            }),
            reserved: Some(socket),
            task: None,
        }
    }

    /// Starts listening on the reserved port.
    pub fn come_up(&mut self) {
        let socket = self.reserved.take().expect("not listening yet");
        let listener = socket.listen(1024).expect("listen");
        let app = axum::Router::new()
            .fallback(record)
            .with_state(self.inner.clone());
        self.task = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    }

    /// Answers the next requests with `replies`, in order, before the default.
    pub fn answer_next(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.inner.script).queue.extend(replies);
    }

    /// Answers `reply` to every request once the scripted ones are used.
    pub fn answer_default(&self, reply: Reply) {
        lock(&self.inner.script).default = reply;
    }

    /// Answers `reply` to every request carrying `seq` (`None`: no longer).
    pub fn answer_for_seq(&self, seq: u64, reply: Option<Reply>) {
        let mut script = lock(&self.inner.script);
        match reply {
            Some(reply) => script.for_seq.insert(seq, reply),
            None => script.for_seq.remove(&seq),
        };
    }

    /// Answers `reply` to the next request carrying `seq`, once.
    pub fn answer_once_for_seq(&self, seq: u64, reply: Reply) {
        lock(&self.inner.script)
            .once_for_seq
            .entry(seq)
            .or_default()
            .push_back(reply);
    }

    /// Lets one held request ([`Reply::Hold`]) answer.
    pub fn release(&self) {
        self.inner.gate.add_permits(1);
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.inner.received).clone()
    }

    /// The seqs of every request so far, in arrival order (repeats included).
    pub fn seqs(&self) -> Vec<u64> {
        self.received()
            .iter()
            .flat_map(|r| r.seqs.clone())
            .collect()
    }

    /// The seqs of the requests acknowledged (2xx), in arrival order.
    pub fn acked(&self) -> Vec<u64> {
        self.received()
            .iter()
            .filter(|r| r.acked())
            .flat_map(|r| r.seqs.clone())
            .collect()
    }

    /// Waits until `probe` holds over the requests so far; returns them.
    pub async fn until(&self, what: &str, probe: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        eventually(what, || async {
            let received = self.received();
            probe(&received).then_some(received)
        })
        .await
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

fn seqs_of(body: &[u8], headers: &HeaderMap) -> Vec<u64> {
    fn seq(item: &Value) -> Option<u64> {
        item["seq"]
            .as_u64()
            .or_else(|| item["sequence"].as_str()?.parse().ok())
    }
    let parsed: Option<Vec<u64>> = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items.iter().map(seq).collect(),
        Ok(item) => seq(&item).map(|s| vec![s]),
        Err(_) => None,
    };
    parsed
        .or_else(|| {
            let header = headers.get("ce-sequence")?.to_str().ok()?;
            Some(vec![header.parse().ok()?])
        })
        .unwrap_or_default()
}

async fn record(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seqs = seqs_of(&body, &headers);
    let reply = lock(&inner.script).next(&seqs);
    lock(&inner.received).push(Received {
        method,
        path: uri.path().to_string(),
        headers,
        body,
        seqs,
        answer: reply.status(),
    });
    let mut body = None;
    let (status, extra) = match reply {
        Reply::Status(status) => (status, Vec::new()),
        Reply::WithHeaders(status, headers) => (status, headers),
        Reply::WithBody(status, text) => {
            body = Some(text);
            (status, Vec::new())
        }
        Reply::Hang => std::future::pending().await,
        Reply::Hold(status) => {
            inner
                .gate
                .acquire()
                .await
                .expect("the gate stays open")
                .forget();
            (status, Vec::new())
        }
    };
    let mut response = (
        StatusCode::from_u16(status).expect("a status"),
        body.unwrap_or_else(|| format!("scripted {status}")),
    )
        .into_response();
    for (name, value) in extra {
        response
            .headers_mut()
            .insert(name, value.parse().expect("a header value"));
    }
    response
}

/// A subscription spec for `url` with fast retries and a short timeout, plus `extra`'s
/// fields (which win).
pub fn spec(url: &str, extra: Value) -> Value {
    let mut spec = json!({
        "url": url,
        "timeout_ms": 5_000,
        "retry": {"initial_ms": 10, "max_ms": 50},
    });
    let (Some(base), Value::Object(extra)) = (spec.as_object_mut(), extra) else {
        panic!("`extra` is an object");
    };
    base.extend(extra);
    spec
}

/// Publishes one event of each type, as one array; their seqs.
pub async fn publish_types(app: &TestApp, types: &[&str]) -> Vec<u64> {
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
pub async fn publish_n(app: &TestApp, ty: &str, n: usize) -> Vec<u64> {
    publish_types(app, &vec![ty; n]).await
}

impl TestApp {
    /// `PUT /subscriptions/NAME`.
    pub async fn put_sub(&self, name: &str, spec: Value) -> (StatusCode, Value) {
        self.call(
            ClientMethod::PUT,
            &format!("/subscriptions/{name}"),
            Some(spec),
        )
        .await
    }

    /// Creates a subscription, asserting `201`; its status.
    pub async fn create_sub(&self, name: &str, spec: Value) -> Value {
        let (status, body) = self.put_sub(name, spec).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "PUT /subscriptions/{name}: {body}"
        );
        body
    }

    /// `GET /subscriptions/NAME`, asserting `200`.
    pub async fn sub(&self, name: &str) -> Value {
        let (status, body) = self.get_json(&format!("/subscriptions/{name}")).await;
        assert_eq!(status, StatusCode::OK, "GET /subscriptions/{name}: {body}");
        body
    }

    /// `POST /subscriptions/NAME/ACTION` with `body`.
    pub async fn sub_action(
        &self,
        name: &str,
        action: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call(
            ClientMethod::POST,
            &format!("/subscriptions/{name}/{action}"),
            body,
        )
        .await
    }

    /// `GET …/dead-letters`, asserting `200`.
    pub async fn dead_letters(&self, name: &str) -> Vec<Value> {
        self.get_array(&format!("/subscriptions/{name}/dead-letters"))
            .await
    }

    /// Waits until the subscription's status satisfies `probe`; that status.
    pub async fn until_sub(&self, name: &str, what: &str, probe: impl Fn(&Value) -> bool) -> Value {
        eventually(&format!("{name}: {what}"), || async {
            let status = self.sub(name).await;
            probe(&status).then_some(status)
        })
        .await
    }

    /// Waits until the subscription's cursor is `cursor`; its status.
    pub async fn until_cursor(&self, name: &str, cursor: u64) -> Value {
        self.until_sub(name, &format!("cursor {cursor}"), |s| s["cursor"] == cursor)
            .await
    }
}
