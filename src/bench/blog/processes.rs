//! `bench blog --spawn`: the stack as five processes of this binary (`minibus bus`, then
//! `posts`, `comments`, `moderation` and `query` against it), each on an OS-chosen port
//! with its data under one temporary directory, so that each service's memory can be read
//! on its own (`VmRSS` in `/proc/PID/status`); `minibus up` runs them all in one process.

use crate::bench::query_rebuild::{listening_url, status_mb, stop};
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The services, in the order they start (the bus first: the others register with it).
const SERVICES: [&str; 5] = ["bus", "posts", "comments", "moderation", "query"];
/// How long each may take to answer `/readyz` 200.
const READY_WITHIN: Duration = Duration::from_secs(30);
/// The `/readyz` polling interval.
const POLL: Duration = Duration::from_millis(5);

/// One running service.
struct Service {
    name: &'static str,
    child: Child,
    url: String,
}

/// The stack's processes; stopped (SIGTERM) by [`Self::stop`], killed if dropped before,
/// and their data removed either way.
pub(super) struct Processes {
    services: Vec<Service>,
    data_dir: PathBuf,
}

impl Processes {
    /// Starts the five services one after the other, each once the one before is ready.
    pub(super) async fn start() -> anyhow::Result<Self> {
        let data_dir =
            std::env::temp_dir().join(format!("minibus-bench-blog-{}", std::process::id()));
        let mut processes = Self {
            services: Vec::new(),
            data_dir,
        };
        for name in SERVICES {
            let bus_url = processes.services.first().map(|bus| bus.url.clone());
            let service = spawn(name, &processes.data_dir.join(name), bus_url.as_deref())?;
            processes.services.push(service);
            let started = processes.services.last().context("just started")?;
            ready(started).await?;
        }
        Ok(processes)
    }

    /// The base URL of the service `name`.
    pub(super) fn url(&self, name: &str) -> Option<&str> {
        let service = self.services.iter().find(|s| s.name == name)?;
        Some(&service.url)
    }

    /// Each service's resident memory now, in MiB, by name.
    pub(super) fn memory_mb(&self) -> anyhow::Result<BTreeMap<String, f64>> {
        let mut memory = BTreeMap::new();
        for service in &self.services {
            let path = format!("/proc/{}/status", service.child.id());
            let status =
                std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
            let rss = status_mb(&status, "VmRSS:").unwrap_or(f64::NAN);
            memory.insert(service.name.to_string(), rss);
        }
        Ok(memory)
    }

    /// Stops the services, the last started first.
    pub(super) async fn stop(mut self) -> anyhow::Result<()> {
        while let Some(mut service) = self.services.pop() {
            stop(&mut service.child).await?;
        }
        Ok(())
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for service in &mut self.services {
            service.child.kill().ok();
            service.child.wait().ok();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// `minibus NAME` on 127.0.0.1:0 with `data_dir`, against `bus_url` (all but the bus), its
/// logs dropped; its URL read from its `listening on` line.
fn spawn(name: &'static str, data_dir: &Path, bus_url: Option<&str>) -> anyhow::Result<Service> {
    let exe = std::env::current_exe().context("finding this binary")?;
    let mut command = Command::new(exe);
    command
        .args([name, "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null());
    if let Some(bus_url) = bus_url {
        command.args(["--bus-url", bus_url]);
    }
    let mut child = command
        .spawn()
        .with_context(|| format!("starting minibus {name}"))?;
    let stdout = child.stdout.take().context("the child's stdout")?;
    let url = listening_url(stdout).with_context(|| format!("minibus {name}"));
    match url {
        Ok(url) => Ok(Service { name, child, url }),
        Err(error) => {
            child.kill().ok();
            child.wait().ok();
            Err(error)
        }
    }
}

/// Waits until `service` answers `/readyz` with 200.
async fn ready(service: &Service) -> anyhow::Result<()> {
    let readyz = format!("{}/readyz", service.url);
    let client = reqwest::Client::new();
    let deadline = Instant::now() + READY_WITHIN;
    while Instant::now() < deadline {
        if let Ok(reply) = client.get(&readyz).send().await {
            if reply.status() == reqwest::StatusCode::OK {
                return Ok(());
            }
        }
        tokio::time::sleep(POLL).await;
    }
    anyhow::bail!("minibus {} not ready within {READY_WITHIN:?}", service.name)
}
