//! Running one blog service (`minibus posts|comments|moderation|query`) as a child process,
//! on a port chosen up front so that it can be SIGKILLed and started again at the same URL
//! (what the bus's subscriptions and the test's writers know it by), or on port 0.

use super::{eventually_within, minibus, wait_for_exit, Api, EXIT_TIMEOUT};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
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

    /// `name` on port 0 (a new port at each start) over `data_dir`.
    pub(crate) fn on_port_0(name: &'static str, bus_url: &str, data_dir: &Path) -> Self {
        Self {
            listen: "127.0.0.1:0".into(),
            data_dir: data_dir.to_path_buf(),
            ..Self::new(name, bus_url, data_dir)
        }
    }

    /// With `flag` added to its command line.
    pub(crate) fn with_arg(mut self, flag: &str) -> Self {
        self.extra_args.push(flag.into());
        self
    }

    /// `http://127.0.0.1:PORT` (for a spec on port 0, see [`ServiceProcess::url`]).
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
    /// Where it said it listens.
    url: String,
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
        let rx = super::stdout_lines(stdout);
        let mut service = Self {
            child,
            spec: spec.clone(),
            url: String::new(),
            stderr,
        };
        let listening = format!("minibus {} listening on ", spec.name);
        loop {
            match rx.recv_timeout(SERVICE_START_TIMEOUT) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix(&listening) {
                        service.url = url.trim().to_string();
                        return service;
                    }
                }
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

    /// Where it listens, as it said: `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// An HTTP client of it.
    pub(crate) fn api(&self) -> Api {
        Api::new(&self.url, None)
    }

    /// Waits (bounded) until it answers `200` on `/readyz`.
    pub(crate) async fn until_ready(&self) {
        let api = self.api();
        let what = format!("{} to be ready", self.spec.name);
        eventually_within(&what, SERVICE_START_TIMEOUT, || async {
            let (status, _) = api.get("/readyz").await.ok()?;
            (status == reqwest::StatusCode::OK).then_some(())
        })
        .await;
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

    /// SIGTERM, and waits (bounded) for a clean exit.
    pub(crate) fn terminate(mut self) {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
        let name = self.spec.name;
        let status = wait_for_exit(&mut self.child, EXIT_TIMEOUT)
            .unwrap_or_else(|| panic!("{name} did not exit within {EXIT_TIMEOUT:?} of SIGTERM"));
        assert!(status.success(), "{name} exited with {status}");
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
