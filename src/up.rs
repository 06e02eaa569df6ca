//! `minibus up`: the whole stack in one command: the bus and the blog services built so far
//! (posts, query, moderation), each on its port with its data in `DIR/<service>`, in this
//! one process, with one Ctrl-C for all. Every port is bound before anything starts, so a
//! taken one stops the start with an error naming the service and the port. Each service's
//! log lines carry its name (a span named after it); the services wait for the bus by
//! themselves (registration and the outbox relay retry).

use anyhow::Context;
use bus::daemon::{BusConfig, Daemon};
use bus::kit::{bind, shutdown_on_signal};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

#[derive(Debug, clap::Args)]
pub(crate) struct UpArgs {
    /// Where every service keeps its data, each in `DIR/<service>`.
    #[arg(long, env = "MINIBUS_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,

    /// Let the OS pick every port instead of the course's (4000–4005), and print them: for
    /// a second stack beside a first one, and for tests.
    #[arg(long, env = "MINIBUS_ANY_PORTS")]
    any_ports: bool,
}

/// The stack's services: name and course port.
const SERVICES: [(&str, u16); 4] = [
    ("bus", 4005),
    ("posts", 4000),
    ("query", 4002),
    ("moderation", 4003),
];

/// Every listener of the stack, bound.
struct Listeners {
    bus: TcpListener,
    posts: TcpListener,
    query: TcpListener,
    moderation: TcpListener,
}

impl Listeners {
    async fn bind(any_ports: bool) -> anyhow::Result<Self> {
        let at = |port: u16| {
            let port = if any_ports { 0 } else { port };
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
        };
        let [bus, posts, query, moderation] = SERVICES;
        Ok(Self {
            bus: bind(bus.0, at(bus.1)).await?,
            posts: bind(posts.0, at(posts.1)).await?,
            query: bind(query.0, at(query.1)).await?,
            moderation: bind(moderation.0, at(moderation.1)).await?,
        })
    }
}

pub(crate) async fn run(args: UpArgs) -> anyhow::Result<()> {
    let listeners = Listeners::bind(args.any_ports).await?;
    let addr = |l: &TcpListener| l.local_addr().context("a bound address");
    let bus_addr = addr(&listeners.bus)?;
    let bus_url = format!("http://{bus_addr}");
    let dir = args.data_dir;
    let daemon = Daemon::open(BusConfig::new(bus_addr, dir.join("bus")), bus_addr).await?;
    let shutdown = shutdown_on_signal();
    let mut stack = Stack::new(shutdown.clone());
    stack.start("bus", daemon.run(listeners.bus, shutdown.clone()));

    let (posts_addr, query_addr, moderation_addr) = (
        addr(&listeners.posts)?,
        addr(&listeners.query)?,
        addr(&listeners.moderation)?,
    );
    let mut posts = posts::PostsArgs::new(posts_addr, dir.join("posts"));
    posts.service.bus_url.clone_from(&bus_url);
    stack.start(
        "posts",
        posts::run(listeners.posts, posts, shutdown.clone()),
    );
    let mut query = query::QueryArgs::new(query_addr, dir.join("query"));
    query.service.bus_url.clone_from(&bus_url);
    stack.start(
        "query",
        query::run(listeners.query, query, shutdown.clone()),
    );
    let mut moderation = moderation::ModerationArgs::new(moderation_addr);
    moderation.service.bus_url.clone_from(&bus_url);
    let moderating = moderation::run(listeners.moderation, moderation, shutdown.clone());
    stack.start("moderation", moderating);

    println!(
        "{}",
        banner(
            &dir,
            &[
                ("bus", bus_addr, "/info"),
                ("posts", posts_addr, "/posts"),
                ("query", query_addr, "/posts"),
                ("moderation", moderation_addr, "/readyz"),
            ]
        )
    );
    stack.wait().await
}

/// What `up` prints once every port is bound.
fn banner(dir: &Path, services: &[(&str, SocketAddr, &str)]) -> String {
    let mut text = format!("\nminibus is up (data in {}):\n", dir.display());
    for (name, addr, try_path) in services {
        text.push_str(&format!(
            "  {name:<11} http://{addr}   (try: curl http://{addr}{try_path})\n"
        ));
    }
    text.push_str("Ctrl-C stops everything.\n");
    text
}

/// The services running, each a task; the first to fail stops the others.
struct Stack {
    tasks: JoinSet<(&'static str, anyhow::Result<()>)>,
    shutdown: CancellationToken,
}

impl Stack {
    fn new(shutdown: CancellationToken) -> Self {
        Self {
            tasks: JoinSet::new(),
            shutdown,
        }
    }

    /// Runs `service` in a task whose log lines carry `name`.
    fn start<E>(
        &mut self,
        name: &'static str,
        service: impl Future<Output = Result<(), E>> + Send + 'static,
    ) where
        E: Into<anyhow::Error>,
    {
        let span = tracing::info_span!("service", name);
        self.tasks
            .spawn(async move { (name, service.await.map_err(Into::into)) }.instrument(span));
    }

    /// Waits for every service; the first error (a service that stopped by itself)
    /// cancels the rest and is returned, naming the service.
    async fn wait(mut self) -> anyhow::Result<()> {
        let mut first_error = None;
        while let Some(joined) = self.tasks.join_next().await {
            let (name, result) = match joined {
                Ok(ended) => ended,
                Err(panic) => (
                    "a service",
                    Err(anyhow::anyhow!("its task failed: {panic}")),
                ),
            };
            if let Err(e) = result {
                tracing::error!(service = name, error = %e, "stopped; stopping the stack");
                self.shutdown.cancel();
                first_error.get_or_insert(e.context(format!("{name} stopped")));
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
