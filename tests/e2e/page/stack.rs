//! The stacks the page's tests run against: `minibus up --any-ports` as one process, its
//! URLs read from the banner, used once every service answers `/readyz`; or each service
//! as a process of its own (so that one can be stopped), with `minibus client` in front.

use crate::helpers::{
    free_loopback_addr, minibus, BusProcess, ServiceProcess, ServiceSpec, START_TIMEOUT,
};
use bus::testkit::eventually;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;

/// The blog's services, in the order they are started.
const SERVICES: [&str; 4] = ["moderation", "query", "comments", "posts"];

/// A running `minibus up`; SIGKILLed on drop.
pub(crate) struct Up {
    child: Child,
    /// Service name → `http://127.0.0.1:PORT`, from the banner.
    urls: BTreeMap<String, String>,
}

impl Up {
    /// Starts `minibus up --any-ports --data-dir DIR` and waits until every service it
    /// names is ready.
    pub(crate) async fn start(data_dir: &Path) -> Self {
        let data_dir = data_dir.to_path_buf();
        let up = tokio::task::spawn_blocking(move || Self::spawn(&data_dir))
            .await
            .expect("start minibus up");
        for (name, url) in &up.urls {
            until_ready(name, url).await;
        }
        up
    }

    fn spawn(data_dir: &Path) -> Self {
        let mut up = Self {
            child: crate::helpers::up_command(data_dir)
                .spawn()
                .expect("spawn minibus up"),
            urls: BTreeMap::new(),
        };
        up.urls = crate::helpers::read_up_banner(&mut up.child);
        up
    }

    /// The URL of `service` (`client`, `bus`, `posts`…), as the banner printed it.
    pub(crate) fn url(&self, service: &str) -> &str {
        self.urls
            .get(service)
            .unwrap_or_else(|| panic!("no {service} in the banner: {:?}", self.urls))
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits (bounded) until `url` answers `/readyz` with 200.
async fn until_ready(name: &str, url: &str) {
    let probe = format!("{url}/readyz");
    eventually(&format!("{name} is ready"), || async {
        let answer = reqwest::get(&probe).await.ok()?;
        answer.status().is_success().then_some(())
    })
    .await;
}

/// The bus, the four services and `minibus client` (with `--admin-actions` unless asked
/// otherwise), each its own process
/// over `root/<service>`; all SIGKILLed on drop. The bus can be stopped and started again
/// on the same address and data.
pub(crate) struct Processes {
    /// The running services, in [`SERVICES`] order (`None` once stopped).
    services: Vec<Option<ServiceProcess>>,
    client: ClientProcess,
    bus_dir: PathBuf,
    bus_listen: String,
    // Last: the bus outlives the services' drops (`None` while stopped).
    bus: Option<BusProcess>,
}

impl Processes {
    pub(crate) async fn start(root: &Path) -> Self {
        Self::start_with(root, true).await
    }

    /// As [`Processes::start`], with `minibus client` run without `--admin-actions` (as in
    /// the manifests): it refuses pause, resume and rewind.
    pub(crate) async fn start_without_admin_actions(root: &Path) -> Self {
        Self::start_with(root, false).await
    }

    async fn start_with(root: &Path, admin_actions: bool) -> Self {
        let bus_dir = root.join("bus");
        let bus_listen = free_loopback_addr();
        let bus = start_bus(&bus_dir, &bus_listen).await;
        let specs: Vec<_> = SERVICES
            .iter()
            .map(|name| ServiceSpec::new(name, bus.url(), root))
            .collect();
        let mut services = Vec::new();
        for spec in &specs {
            services.push(Some(ServiceProcess::start_async(spec).await));
        }
        for spec in &specs {
            until_ready(spec.name, &spec.url()).await;
        }
        let mut upstreams = vec![("--bus-url", bus.url().to_string())];
        for spec in &specs {
            if spec.name != "moderation" {
                upstreams.push((upstream_flag(spec.name), spec.url()));
            }
        }
        let client =
            tokio::task::spawn_blocking(move || ClientProcess::start(&upstreams, admin_actions))
                .await
                .expect("start the client");
        until_ready("client", &client.url).await;
        Self {
            services,
            client,
            bus_dir,
            bus_listen,
            bus: Some(bus),
        }
    }

    /// SIGKILLs the bus (a crash: the page's stream breaks, the gateway answers 502).
    pub(crate) fn stop_bus(&mut self) {
        if let Some(bus) = self.bus.take() {
            bus.kill();
        }
    }

    /// Starts the bus again, on its address and data, and waits until it is ready.
    pub(crate) async fn start_bus(&mut self) {
        let bus = start_bus(&self.bus_dir, &self.bus_listen).await;
        until_ready("bus", bus.url()).await;
        self.bus = Some(bus);
    }

    /// The page's URL.
    pub(crate) fn client_url(&self) -> &str {
        &self.client.url
    }

    /// SIGKILLs the service `name`.
    pub(crate) fn stop(&mut self, name: &str) {
        let index = SERVICES.iter().position(|s| *s == name).expect("a service");
        if let Some(service) = self.services[index].take() {
            service.kill();
        }
    }
}

/// `minibus bus --listen LISTEN --data-dir DIR`, once it says it listens.
async fn start_bus(dir: &Path, listen: &str) -> BusProcess {
    let mut cmd = minibus();
    cmd.args(["bus", "--listen", listen, "--data-dir"]).arg(dir);
    tokio::task::spawn_blocking(move || BusProcess::spawn(cmd))
        .await
        .expect("start the bus")
}

fn upstream_flag(service: &str) -> &'static str {
    match service {
        "posts" => "--posts-url",
        "comments" => "--comments-url",
        _ => "--query-url",
    }
}

/// A running `minibus client`; SIGKILLed on drop.
struct ClientProcess {
    child: Child,
    url: String,
}

impl ClientProcess {
    /// `minibus client [--admin-actions]` on a free port, in front of `upstreams` (flag,
    /// URL), once it says it listens.
    fn start(upstreams: &[(&str, String)], admin_actions: bool) -> Self {
        let mut cmd = minibus();
        cmd.args(["client", "--listen", &free_loopback_addr()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if admin_actions {
            cmd.arg("--admin-actions");
        }
        for (flag, url) in upstreams {
            cmd.args([flag, url.as_str()]);
        }
        let mut client = Self {
            child: cmd.spawn().expect("spawn minibus client"),
            url: String::new(),
        };
        let stdout = client.child.stdout.take().expect("piped stdout");
        let (lines, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        while client.url.is_empty() {
            let line = rx
                .recv_timeout(START_TIMEOUT)
                .unwrap_or_else(|e| panic!("minibus client did not listen: {e}"));
            if let Some(url) = line.strip_prefix("minibus client listening on ") {
                client.url = url.trim().to_string();
            }
        }
        client
    }
}

impl Drop for ClientProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
