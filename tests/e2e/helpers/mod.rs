//! Running the built `minibus` binary as a child process, and talking to it over HTTP;
//! publish load and the log's invariants are in `load`.

mod load;
mod service;

pub(crate) use load::{new_event, record_acks, verify_log, Acked, AckedMap, Load};
pub(crate) use service::{free_loopback_addr, ServiceProcess, ServiceSpec};

use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The binary under test, as cargo built it for this test run.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_minibus");
/// How long a bus may take to print its "listening on" line.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a process may take to exit once told to (or once it should have refused).
pub(crate) const EXIT_TIMEOUT: Duration = Duration::from_secs(20);
/// The one line `minibus bus` prints on stdout once its port is bound.
const LISTENING: &str = "minibus bus listening on ";

/// The lines of a child's `stdout`, read to its end on a thread of their own (so that the
/// child never blocks on a full pipe), as they come.
pub(crate) fn stdout_lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (lines, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    rx
}

/// The last line of `minibus up`'s banner.
const UP_BANNER_END: &str = "Ctrl-C stops everything.";

/// `minibus up --any-ports --data-dir DIR`, its stdout piped for [`read_up_banner`].
pub(crate) fn up_command(data_dir: &Path) -> Command {
    let mut cmd = minibus();
    cmd.args(["up", "--any-ports", "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(match std::env::var_os("TEST_LOG") {
            Some(_) => Stdio::inherit(),
            None => Stdio::null(),
        });
    cmd
}

/// Reads the banner of a `minibus up` started with [`up_command`]: each service's name →
/// `http://127.0.0.1:PORT`. The caller owns `child` (and kills it, should this panic).
pub(crate) fn read_up_banner(child: &mut Child) -> BTreeMap<String, String> {
    let rx = stdout_lines(child.stdout.take().expect("piped stdout"));
    let mut urls = BTreeMap::new();
    loop {
        let line = rx
            .recv_timeout(START_TIMEOUT)
            .unwrap_or_else(|e| panic!("no banner from minibus up: {e}"));
        if line == UP_BANNER_END {
            return urls;
        }
        let mut words = line.split_whitespace();
        if let (Some(name), Some(url)) = (words.next(), words.next()) {
            if url.starts_with("http://") {
                urls.insert(name.to_string(), url.to_string());
            }
        }
    }
}

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
        let rx = stdout_lines(stdout);
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

    /// Waits (at most [`EXIT_TIMEOUT`]) for the bus to exit by itself; its exit status.
    pub(crate) fn exited(mut self) -> ExitStatus {
        wait_for_exit(&mut self.child, EXIT_TIMEOUT)
            .unwrap_or_else(|| panic!("the bus did not exit by itself within {EXIT_TIMEOUT:?}"))
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
pub(crate) fn wait_for_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
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
