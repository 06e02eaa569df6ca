//! `TestBus`: the bus daemon in-process on 127.0.0.1:0 over a fresh temp data dir, stopped
//! gracefully or restarted over the same dir.

use super::poll::{eventually, PATIENCE};
use crate::daemon::{BusConfig, DaemonError};
use std::net::SocketAddr;
use std::path::Path;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A bus running in this process. Dropping it cancels the daemon (without waiting); the
/// temp dir goes with it.
pub struct TestBus {
    url: String,
    config: BusConfig,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), DaemonError>>>,
    dir: Option<TempDir>,
}

/// A bus stopped gracefully: its data dir (kept until this is dropped) and configuration,
/// to start it again.
pub struct StoppedBus {
    /// The temp dir holding the data dir.
    pub dir: TempDir,
    /// The configuration it ran with.
    pub config: BusConfig,
}

/// A bus with the defaults, on a fresh port and data dir; returns once it answers.
pub async fn spawn_bus() -> TestBus {
    spawn_bus_with(|_| {}).await
}

/// A bus whose configuration `tweak` changes first (token, limits, `--subscribe`…).
pub async fn spawn_bus_with(tweak: impl FnOnce(&mut BusConfig)) -> TestBus {
    crate::kit::init_test_tracing();
    let dir = tempfile::tempdir().expect("a temp dir");
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut config = BusConfig::new(listen, dir.path().join("bus"));
    tweak(&mut config);
    StoppedBus { dir, config }.start().await
}

impl StoppedBus {
    /// Where the log is.
    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// Starts the bus again over the same data dir, on a fresh port.
    pub async fn start(self) -> TestBus {
        self.start_with(|_| {}).await
    }

    /// Starts the bus again over the same data dir, with its configuration changed by
    /// `tweak` first.
    pub async fn start_with(mut self, tweak: impl FnOnce(&mut BusConfig)) -> TestBus {
        tweak(&mut self.config);
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        self.start_on(listener).await
    }

    /// Starts the bus again over the same data dir on the port it had, where the services
    /// under test still point (their bus URL does not change).
    pub async fn start_on_same_port(self) -> TestBus {
        let listener = TcpListener::bind(self.config.listen)
            .await
            .expect("the old port is free");
        self.start_on(listener).await
    }

    async fn start_on(mut self, listener: TcpListener) -> TestBus {
        let addr = listener.local_addr().expect("local addr");
        self.config.listen = addr;
        let shutdown = CancellationToken::new();
        let run = crate::daemon::run(listener, self.config.clone(), shutdown.clone());
        let bus = TestBus {
            url: format!("http://{addr}"),
            config: self.config,
            shutdown,
            task: Some(tokio::spawn(run)),
            dir: Some(self.dir),
        };
        bus.until_healthy().await;
        bus
    }
}

impl TestBus {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The full URL of `path` (which starts with `/`).
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &BusConfig {
        &self.config
    }

    /// Where the log is.
    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// Stops the bus gracefully (as on SIGTERM), failing the test if it does not stop
    /// within [`PATIENCE`] or stops with an error.
    pub async fn stop(mut self) -> StoppedBus {
        self.shutdown.cancel();
        let task = self.task.take().expect("running");
        let stopped = tokio::time::timeout(PATIENCE, task)
            .await
            .expect("the bus stops within the patience bound")
            .expect("the bus task did not panic");
        if let Err(e) = stopped {
            panic!("the bus stopped with an error: {e}");
        }
        let dir = self.dir.take().expect("a data dir");
        StoppedBus {
            dir,
            config: self.config.clone(),
        }
    }

    /// Stops the bus gracefully and starts it again over the same data dir.
    pub async fn restart(self) -> TestBus {
        self.stop().await.start().await
    }

    /// Stops the bus gracefully and starts it again over the same data dir, with its
    /// configuration changed by `tweak` (other `--subscribe` entries…).
    pub async fn restart_with(self, tweak: impl FnOnce(&mut BusConfig)) -> TestBus {
        self.stop().await.start_with(tweak).await
    }

    /// Waits until `/healthz` answers `200`; panics if the daemon stops meanwhile.
    async fn until_healthy(&self) {
        let client = reqwest::Client::new();
        let healthz = self.at("/healthz");
        eventually("the bus to answer /healthz", || async {
            if self.task.as_ref().is_some_and(JoinHandle::is_finished) {
                panic!("the bus stopped while starting");
            }
            let answer = client.get(&healthz).send().await.ok()?;
            answer.status().is_success().then_some(())
        })
        .await;
    }
}

impl Drop for TestBus {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn head(bus: &TestBus) -> u64 {
        let info: serde_json::Value = reqwest::get(bus.at("/info"))
            .await
            .expect("GET /info")
            .json()
            .await
            .expect("JSON");
        info["head_seq"].as_u64().expect("a head")
    }

    #[tokio::test]
    async fn a_restarted_bus_keeps_its_log_on_a_new_port() {
        let bus = spawn_bus().await;
        let published = reqwest::Client::new()
            .post(bus.at("/events"))
            .json(&serde_json::json!({"type": "Kept"}))
            .send()
            .await
            .expect("POST /events");
        assert_eq!(published.status(), 201);
        let (dir, old_url) = (bus.data_dir().to_path_buf(), bus.url().to_string());
        assert!(dir.exists(), "the log is in {}", dir.display());
        let bus = bus.restart_with(|config| config.cache_mb = 8).await;
        assert_eq!(bus.data_dir(), dir);
        assert_ne!(bus.url(), old_url, "a fresh port");
        assert_eq!(bus.config().cache_mb, 8);
        assert_eq!(head(&bus).await, 1);
    }
}
