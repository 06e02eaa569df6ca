//! `FakeSubscriber`: an axum server on 127.0.0.1:0 that records every request it gets
//! (method, path, headers, raw body, the seqs in it, the connection, the answer given),
//! forwards each into a channel, and answers as the test scripts it, switchable while the
//! test runs.

use super::answer::{respond, Answer, Script};
use super::poll::{eventually, PATIENCE};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::TcpSocket;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;

/// One request the fake subscriber got.
#[derive(Debug, Clone)]
pub struct Received {
    /// `POST`, always, from the bus.
    pub method: Method,
    /// The path (the bus never follows a redirect to another one).
    pub path: String,
    /// Every header.
    pub headers: HeaderMap,
    /// The body, byte for byte as it arrived.
    pub body: Bytes,
    /// The seqs the body carries (envelopes' `seq`, CloudEvents' `sequence`, or the
    /// `ce-sequence` header in binary mode).
    pub seqs: Vec<u64>,
    /// The bus's end of the connection it came on: one value per connection.
    pub peer: SocketAddr,
    /// The status answered (`None`: hung).
    pub answer: Option<u16>,
}

impl Received {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A numeric header; panics when it is missing or not a number.
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

    /// The body as JSON; panics when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// Whether the subscriber acknowledged it (2xx).
    pub fn acked(&self) -> bool {
        self.answer.is_some_and(|s| (200..300).contains(&s))
    }
}

/// What the server task and the test share.
struct Recorder {
    received: Mutex<Vec<Received>>,
    /// Unbounded on purpose: a full channel would hold the answer back and change what
    /// the bus sees; a test's traffic is bounded by the test.
    forward: mpsc::UnboundedSender<Received>,
    script: Mutex<Script>,
    gate: Semaphore,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A fake subscriber; the bus should POST to [`FakeSubscriber::url`]
/// (`http://127.0.0.1:PORT/events`). Stops when dropped.
pub struct FakeSubscriber {
    /// Where the bus should POST.
    pub url: String,
    /// The address it listens (or will listen) on.
    pub addr: SocketAddr,
    recorder: Arc<Recorder>,
    requests: tokio::sync::Mutex<mpsc::UnboundedReceiver<Received>>,
    reserved: Option<TcpSocket>,
    task: Option<JoinHandle<()>>,
}

impl FakeSubscriber {
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
        let (forward, requests) = mpsc::unbounded_channel();
        Self {
            url: format!("http://{addr}/events"),
            addr,
            recorder: Arc::new(Recorder {
                received: Mutex::default(),
                forward,
                script: Mutex::default(),
                gate: Semaphore::new(0),
            }),
            requests: tokio::sync::Mutex::new(requests),
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
            .with_state(self.recorder.clone())
            .into_make_service_with_connect_info::<SocketAddr>();
        self.task = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    }

    /// Answers the next requests with `answers`, in order, before the default.
    pub fn answer_next(&self, answers: impl IntoIterator<Item = Answer>) {
        lock(&self.recorder.script).queue(answers);
    }

    /// Answers `answer` to every request once the scripted ones are used.
    pub fn answer_default(&self, answer: Answer) {
        lock(&self.recorder.script).set_default(answer);
    }

    /// Answers `answer` to every request carrying `seq` (`None`: no longer).
    pub fn answer_for_seq(&self, seq: u64, answer: Option<Answer>) {
        lock(&self.recorder.script).for_seq(seq, answer);
    }

    /// Answers `answer` to the next request carrying `seq`, once.
    pub fn answer_once_for_seq(&self, seq: u64, answer: Answer) {
        lock(&self.recorder.script).once_for_seq(seq, answer);
    }

    /// Lets one held request ([`Answer::Hold`]) answer.
    pub fn release(&self) {
        self.recorder.gate.add_permits(1);
    }

    /// The next request from the channel (each request once, in arrival order), waiting
    /// at most [`PATIENCE`].
    pub async fn next_request(&self) -> Received {
        let mut requests = self.requests.lock().await;
        let next = tokio::time::timeout(PATIENCE, requests.recv()).await;
        next.expect("a request within the patience bound")
            .expect("the subscriber is running")
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.recorder.received).clone()
    }

    /// The seqs of every request so far, in arrival order (repeats included).
    pub fn seqs(&self) -> Vec<u64> {
        let received = lock(&self.recorder.received);
        received.iter().flat_map(|r| r.seqs.clone()).collect()
    }

    /// The seqs of the requests acknowledged (2xx), in arrival order.
    pub fn acked(&self) -> Vec<u64> {
        let received = lock(&self.recorder.received);
        let acked = received.iter().filter(|r| r.acked());
        acked.flat_map(|r| r.seqs.clone()).collect()
    }

    /// Waits (at most [`PATIENCE`]) until `probe` holds over the requests so far; them.
    pub async fn until(&self, what: &str, probe: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        eventually(what, || async {
            let received = self.received();
            probe(&received).then_some(received)
        })
        .await
    }
}

impl Drop for FakeSubscriber {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// The seqs a delivery carries: the envelopes' `seq` (or CloudEvents' `sequence`) in a JSON
/// body, else the `ce-sequence` header (CloudEvents binary mode).
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
    State(recorder): State<Arc<Recorder>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seqs = seqs_of(&body, &headers);
    let answer = lock(&recorder.script).next(&seqs);
    let received = Received {
        method,
        path: uri.path().to_string(),
        headers,
        body,
        seqs,
        peer,
        answer: answer.status(),
    };
    lock(&recorder.received).push(received.clone());
    let _ = recorder.forward.send(received);
    respond(answer, &recorder.gate).await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn post(url: &str, body: &str) -> u16 {
        let request = reqwest::Client::new().post(url).body(body.to_string());
        request.send().await.expect("an answer").status().as_u16()
    }

    #[tokio::test]
    async fn forwards_each_request_and_answers_as_switched() {
        let subscriber = FakeSubscriber::start().await;
        assert_eq!(
            post(&subscriber.url, r#"[{"seq": 1}, {"seq": 2}]"#).await,
            200
        );
        let first = subscriber.next_request().await;
        assert_eq!((first.seqs.clone(), first.answer), (vec![1, 2], Some(200)));
        assert_eq!(first.peer.ip(), std::net::Ipv4Addr::LOCALHOST);

        subscriber.answer_default(Answer::Status(503));
        assert_eq!(post(&subscriber.url, r#"{"seq": 3}"#).await, 503);
        let second = subscriber.next_request().await;
        assert_eq!((second.seqs, second.answer), (vec![3], Some(503)));
        assert_eq!(subscriber.seqs(), [1, 2, 3]);
        assert_eq!(subscriber.acked(), [1, 2]);
    }

    #[tokio::test]
    async fn a_held_answer_waits_for_release() {
        let subscriber = FakeSubscriber::start().await;
        subscriber.answer_next([Answer::Hold(201)]);
        let url = subscriber.url.clone();
        let held = tokio::spawn(async move { post(&url, r#"{"seq": 1}"#).await });
        subscriber.next_request().await;
        assert!(!held.is_finished(), "answered before the release");
        subscriber.release();
        assert_eq!(held.await.expect("joined"), 201);
    }
}
