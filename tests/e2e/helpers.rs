//! Running the built `minibus` binary as a child process, and talking to it over HTTP.

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// The binary under test, as cargo built it for this test run.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_minibus");
/// How long a bus may take to print its "listening on" line.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a process may take to exit once told to (or once it should have refused).
pub(crate) const EXIT_TIMEOUT: Duration = Duration::from_secs(20);
/// The one line `minibus bus` prints on stdout once its port is bound.
const LISTENING: &str = "minibus bus listening on ";

/// `minibus` with no `MINIBUS_…` variable inherited from the test's environment, and quiet
/// logs (`TEST_LOG`, when set, is the bus's log filter).
pub(crate) fn minibus() -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("MINIBUS_") {
            cmd.env_remove(key);
        }
    }
    let filter = std::env::var("TEST_LOG").unwrap_or_else(|_| "warn".into());
    cmd.env("MINIBUS_LOG", filter).stdin(Stdio::null());
    cmd
}

/// `minibus bus --listen 127.0.0.1:0 --data-dir DIR EXTRA…`.
pub(crate) fn bus_command(data_dir: &Path, extra_args: &[&str]) -> Command {
    let mut cmd = minibus();
    cmd.args(["bus", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra_args);
    cmd
}

/// A running `minibus bus` child. Killed (SIGKILL) on drop, so a failing test leaves no
/// process behind; its stderr is kept in a file and printed if the test panics.
pub(crate) struct BusProcess {
    child: Child,
    url: String,
    stderr: tempfile::NamedTempFile,
}

impl BusProcess {
    /// Starts `minibus bus` on a free loopback port over `data_dir`.
    pub(crate) fn start(data_dir: &Path, extra_args: &[&str]) -> Self {
        Self::spawn(bus_command(data_dir, extra_args))
    }

    /// Runs `cmd` (a `minibus bus …`) and waits, bounded, for its "listening on" line.
    pub(crate) fn spawn(mut cmd: Command) -> Self {
        let stderr = tempfile::NamedTempFile::new().expect("a file for the bus's stderr");
        cmd.stdout(Stdio::piped())
            .stderr(stderr.reopen().expect("reopen the stderr file"));
        let mut child = cmd.spawn().expect("spawn the minibus binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut bus = Self {
            child,
            url: String::new(),
            stderr,
        };
        let (lines, rx) = mpsc::channel();
        // Reads stdout to its end, so the bus can never block on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        while bus.url.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix(LISTENING) {
                        bus.url = url.trim().to_string();
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = bus.child.wait().expect("wait for the bus");
                    panic!(
                        "the bus exited ({status}) before listening; stderr:\n{}",
                        bus.stderr()
                    );
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("the bus did not listen within {START_TIMEOUT:?}")
                }
            }
        }
        bus
    }

    /// `http://127.0.0.1:PORT`, as the bus printed it.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// An HTTP client for this bus (no token).
    pub(crate) fn api(&self) -> Api {
        Api::new(&self.url, None)
    }

    /// What the bus wrote on stderr so far.
    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }

    /// SIGKILL, and reaps the process: a crash, nothing gets to run.
    pub(crate) fn kill(mut self) {
        self.child.kill().expect("SIGKILL the bus");
        self.child.wait().expect("reap the bus");
    }

    /// SIGTERM, then waits (bounded) for the process to exit; its exit status.
    pub(crate) fn terminate(mut self) -> ExitStatus {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM the bus");
        wait_for_exit(&mut self.child, EXIT_TIMEOUT)
            .unwrap_or_else(|| panic!("the bus did not exit within {EXIT_TIMEOUT:?} of SIGTERM"))
    }
}

impl Drop for BusProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- the bus at {} wrote on stderr:\n{}",
                self.url,
                self.stderr()
            );
        }
    }
}

/// Polls `child` until it exits or `timeout` passes.
fn wait_for_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What a command that is expected to stop by itself did.
pub(crate) struct Finished {
    /// How it exited (a code, or the signal that killed it).
    pub(crate) status: ExitStatus,
    /// Everything it printed on stdout.
    pub(crate) stdout: String,
    /// Everything it printed on stderr.
    pub(crate) stderr: String,
}

/// Runs `cmd` to its end, bounded by [`EXIT_TIMEOUT`] (killed and a panic past it).
pub(crate) fn run_to_exit(mut cmd: Command) -> Finished {
    let out = tempfile::NamedTempFile::new().expect("stdout file");
    let err = tempfile::NamedTempFile::new().expect("stderr file");
    cmd.stdout(out.reopen().expect("reopen"))
        .stderr(err.reopen().expect("reopen"));
    let mut child = cmd.spawn().expect("spawn the minibus binary");
    let status = wait_for_exit(&mut child, EXIT_TIMEOUT);
    let _ = child.kill();
    let _ = child.wait();
    let stdout = std::fs::read_to_string(out.path()).unwrap_or_default();
    let stderr = std::fs::read_to_string(err.path()).unwrap_or_default();
    let status = status.unwrap_or_else(|| {
        panic!("{cmd:?} still ran after {EXIT_TIMEOUT:?}; stdout:\n{stdout}\nstderr:\n{stderr}")
    });
    Finished {
        status,
        stdout,
        stderr,
    }
}

/// The test kit's bounded poll, shared with every crate's tests.
pub(crate) use bus::testkit::eventually_within;

/// The bus's HTTP API, as a client sees it.
#[derive(Clone)]
pub(crate) struct Api {
    url: String,
    http: reqwest::Client,
    token: Option<String>,
}

impl Api {
    /// A client of the bus at `url`, sending `token` as a bearer token when given.
    pub(crate) fn new(url: &str, token: Option<&str>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        Self {
            url: url.trim_end_matches('/').to_string(),
            http,
            token: token.map(Into::into),
        }
    }

    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// `POST /events` with `body`: the status and the JSON reply.
    pub(crate) async fn publish(&self, body: &Value) -> reqwest::Result<(StatusCode, Value)> {
        let request = self.http.post(format!("{}/events", self.url)).json(body);
        let response = self.authorize(request).send().await?;
        let status = response.status();
        Ok((status, response.json().await?))
    }

    /// `GET path`: the status and the JSON reply.
    pub(crate) async fn get(&self, path: &str) -> reqwest::Result<(StatusCode, Value)> {
        let request = self.http.get(format!("{}{path}", self.url));
        let response = self.authorize(request).send().await?;
        let status = response.status();
        Ok((status, response.json().await?))
    }

    /// `GET path`, which must answer 200: the JSON reply.
    pub(crate) async fn get_ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await.expect("GET");
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// `GET /events`: the whole log.
    pub(crate) async fn events(&self) -> Vec<Value> {
        match self.get_ok("/events").await {
            Value::Array(events) => events,
            other => panic!("GET /events is not an array: {other}"),
        }
    }

    /// `GET /info`.
    pub(crate) async fn info(&self) -> Value {
        self.get_ok("/info").await
    }
}

/// An event every test can publish: a fresh UUIDv4 `id`, and a stream when given.
pub(crate) fn new_event(data: Value, stream: Option<&str>) -> Value {
    let mut event = json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "type": "E2eTested",
        "source": "e2e",
        "data": data,
    });
    if let Some(stream) = stream {
        event["stream"] = json!(stream);
    }
    event
}

/// An event the bus acknowledged (`201`): its seq and the JSON it was published as.
#[derive(Debug, Clone)]
pub(crate) struct Acked {
    /// The seq in the reply.
    pub(crate) seq: u64,
    /// The event as published (to publish it again).
    pub(crate) event: Value,
}

/// Every acknowledged event by id.
pub(crate) type AckedMap = HashMap<String, Acked>;

/// Records a `201` reply to `body` (one event or an array) in `acked`.
pub(crate) fn record_acks(acked: &mut AckedMap, body: &Value, reply: &Value) {
    let (events, replies) = match (body, reply) {
        (Value::Array(events), Value::Array(replies)) => (events.clone(), replies.clone()),
        (Value::Object(_), Value::Object(_)) => (vec![body.clone()], vec![reply.clone()]),
        _ => panic!("reply {reply} does not match the shape of {body}"),
    };
    assert_eq!(events.len(), replies.len(), "one reply per event: {reply}");
    for (event, reply) in events.into_iter().zip(replies) {
        assert_eq!(
            reply["id"], event["id"],
            "the reply names the event: {reply}"
        );
        let seq = reply["seq"].as_u64().expect("a seq in the reply");
        let id = reply["id"].as_str().expect("an id").to_string();
        assert!(
            acked.insert(id, Acked { seq, event }).is_none(),
            "an id acknowledged twice"
        );
    }
}

/// Concurrent publishers, each looping single events and small arrays with fresh ids,
/// recording every acknowledged one, until told to stop or the bus goes away.
pub(crate) struct Load {
    acked: Arc<Mutex<AckedMap>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<Vec<String>>>,
}

impl Load {
    /// Starts `publishers` tasks against `api`.
    pub(crate) fn start(api: &Api, publishers: usize) -> Self {
        let acked = Arc::new(Mutex::new(AckedMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..publishers)
            .map(|p| tokio::spawn(publish_loop(api.clone(), p, acked.clone(), stop.clone())))
            .collect();
        Self { acked, stop, tasks }
    }

    /// How many events have been acknowledged so far.
    pub(crate) fn acked_count(&self) -> usize {
        self.acked.lock().expect("acked").len()
    }

    /// Stops the publishers (a request in flight ends when the bus answers or goes away)
    /// and returns what was acknowledged. Panics if any publish got an answer other than
    /// `201`: under this load there is no reason for one.
    pub(crate) async fn stop(self) -> AckedMap {
        self.stop.store(true, Ordering::SeqCst);
        let mut unexpected = Vec::new();
        for task in self.tasks {
            unexpected.extend(task.await.expect("a publisher panicked"));
        }
        assert!(unexpected.is_empty(), "unexpected replies: {unexpected:#?}");
        std::mem::take(&mut *self.acked.lock().expect("acked"))
    }
}

/// One publisher; returns the unexpected replies it got.
async fn publish_loop(
    api: Api,
    publisher: usize,
    acked: Arc<Mutex<AckedMap>>,
    stop: Arc<AtomicBool>,
) -> Vec<String> {
    let stream = format!("load-{publisher}-{}", uuid::Uuid::new_v4().simple());
    let mut unexpected = Vec::new();
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let size = if fastrand::bool() {
            0
        } else {
            fastrand::usize(1..=5)
        };
        let mut make = || {
            n += 1;
            // Some events on this publisher's own stream, so versions never conflict.
            let stream = (fastrand::u8(..4) == 0).then_some(stream.as_str());
            new_event(json!({ "publisher": publisher, "n": n }), stream)
        };
        let body = match size {
            0 => make(),
            size => Value::Array((0..size).map(|_| make()).collect()),
        };
        match api.publish(&body).await {
            Ok((StatusCode::CREATED, reply)) => {
                record_acks(&mut acked.lock().expect("acked"), &body, &reply)
            }
            Ok((status, reply)) => unexpected.push(format!("{status}: {reply}")),
            // The bus is gone (killed or shutting down): this event may or may not be stored.
            Err(_) => break,
        }
    }
    unexpected
}

/// Checks the invariants of the log a (re)started bus serves, and that every event in
/// `acked` is in it with its seq and id. Returns the head.
pub(crate) async fn verify_log(api: &Api, acked: &AckedMap) -> u64 {
    let events = api.events().await;
    let head = events.len() as u64;
    let mut ids = HashSet::new();
    let mut versions: HashMap<String, u64> = HashMap::new();
    let mut last_time = String::new();
    for (expected, event) in (1..).zip(&events) {
        assert_eq!(event["seq"], json!(expected), "seqs are 1..=head, gapless");
        let id = event["id"].as_str().expect("an id");
        assert!(ids.insert(id.to_string()), "id {id} appears twice");
        let time = event["time"].as_str().expect("a time").to_string();
        assert!(time >= last_time, "time went back at seq {expected}");
        last_time = time;
        if let Some(stream) = event["stream"].as_str() {
            let version = versions.entry(stream.into()).or_default();
            *version += 1;
            assert_eq!(event["version"], json!(*version), "versions of {stream}");
        }
    }
    for (id, ack) in acked {
        let stored = usize::try_from(ack.seq)
            .ok()
            .and_then(|seq| events.get(seq.wrapping_sub(1)));
        let stored = stored.unwrap_or_else(|| {
            panic!(
                "acknowledged event {id} (seq {}) is lost; head {head}",
                ack.seq
            )
        });
        assert_eq!(
            stored["id"],
            json!(id),
            "seq {} holds another event",
            ack.seq
        );
        assert_eq!(stored["data"], ack.event["data"], "data of seq {}", ack.seq);
    }
    let info = api.info().await;
    assert_eq!(info["head_seq"], json!(head), "/info: {info}");
    assert_eq!(info["events"], json!(head), "/info: {info}");
    head
}
