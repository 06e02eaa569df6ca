//! Running one blog service (`minibus posts|comments|moderation|query`) as a child process
//! on a port chosen up front, so that it can be SIGKILLed and started again at the same URL
//! (what the bus's subscriptions and the test's writers know it by).

use super::{minibus, Api};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a service may take to print its "listening on" line on a loaded machine.
const SERVICE_START_TIMEOUT: Duration = Duration::from_secs(60);

/// `127.0.0.1:PORT` with a port that was free a moment ago (bound, then released).
pub(crate) fn free_loopback_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let addr = listener.local_addr().expect("its address");
    addr.to_string()
}

/// How to start one service: its name, where it listens, the bus, its data dir, extra flags.
#[derive(Debug, Clone)]
pub(crate) struct ServiceSpec {
    /// `posts`, `comments`, `moderation` or `query`.
    pub(crate) name: &'static str,
    /// `127.0.0.1:PORT`, fixed across restarts.
    pub(crate) listen: String,
    /// The bus's URL (`--bus-url`).
    pub(crate) bus_url: String,
    /// Its `--data-dir`.
    pub(crate) data_dir: PathBuf,
    /// More flags (`--persist`, `--delay-ms 50`…).
    pub(crate) extra_args: Vec<String>,
}

impl ServiceSpec {
    /// `name` on a free loopback port, with its data under `root/name`.
    pub(crate) fn new(name: &'static str, bus_url: &str, root: &Path) -> Self {
        Self {
            name,
            listen: free_loopback_addr(),
            bus_url: bus_url.to_string(),
            data_dir: root.join(name),
            extra_args: Vec::new(),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.listen)
    }

    /// An HTTP client of this service.
    pub(crate) fn api(&self) -> Api {
        Api::new(&self.url(), None)
    }
}

/// A running service, SIGKILLed on drop; its stderr is kept in a file and printed if the
/// test panics.
pub(crate) struct ServiceProcess {
    child: Child,
    spec: ServiceSpec,
    stderr: tempfile::NamedTempFile,
}

impl ServiceProcess {
    /// Starts the service of `spec` and waits (bounded) for its "listening on" line.
    pub(crate) fn start(spec: &ServiceSpec) -> Self {
        let stderr = tempfile::NamedTempFile::new().expect("a file for stderr");
        let mut child = minibus()
            .args([
                spec.name,
                "--listen",
                &spec.listen,
                "--bus-url",
                &spec.bus_url,
            ])
            .arg("--data-dir")
            .arg(&spec.data_dir)
            .args(&spec.extra_args)
            .stdout(Stdio::piped())
            .stderr(stderr.reopen().expect("reopen stderr"))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn minibus {}: {e}", spec.name));
        let stdout = child.stdout.take().expect("piped stdout");
        let (lines, rx) = mpsc::channel();
        // Reads stdout to its end, so the service can never block on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let service = Self {
            child,
            spec: spec.clone(),
            stderr,
        };
        let listening = format!("minibus {} listening on ", spec.name);
        loop {
            match rx.recv_timeout(SERVICE_START_TIMEOUT) {
                Ok(line) if line.starts_with(&listening) => return service,
                Ok(_) => {}
                Err(e) => panic!("{} did not listen ({e}): {}", spec.name, service.stderr()),
            }
        }
    }

    /// Starts it off the async workers (starting waits on the child's stdout).
    pub(crate) async fn start_async(spec: &ServiceSpec) -> Self {
        let spec = spec.clone();
        tokio::task::spawn_blocking(move || Self::start(&spec))
            .await
            .expect("start a service")
    }

    /// What it wrote on stderr so far.
    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }

    /// SIGKILL, and reaps it.
    pub(crate) fn kill(mut self) {
        self.child.kill().expect("SIGKILL a service");
        self.child.wait().expect("reap a service");
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- {} wrote on stderr:\n{}", self.spec.name, self.stderr());
        }
    }
}
