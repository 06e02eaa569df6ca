//! `minibus up`: the whole stack in one command: the bus, the blog services (posts,
//! comments, query, moderation) and the client (the page and its gateway, with
//! `--admin-actions`), each on its port with its data in `DIR/<service>`, in this one
//! process, with one Ctrl-C for all. Every port is bound before anything starts, so a
//! taken one stops the start with an error naming the service and the port. Each service's
//! log lines carry its name (a span named after it); the services wait for the bus by
//! themselves (registration and the outbox relay retry).

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

    /// Let the OS pick every port instead of the course's (3000, 4000–4005), and print them: for
    /// a second stack beside a first one, and for tests.
    #[arg(long, env = "MINIBUS_ANY_PORTS", value_parser = bus::kit::BoolFlag)]
    any_ports: bool,
}

/// The stack's services: name and course port.
const SERVICES: [(&str, u16); 6] = [
    ("bus", 4005),
    ("posts", 4000),
    ("comments", 4001),
    ("query", 4002),
    ("moderation", 4003),
    ("client", 3000),
];

/// Every listener of the stack, bound.
struct Listeners {
    bus: TcpListener,
    posts: TcpListener,
    comments: TcpListener,
    query: TcpListener,
    moderation: TcpListener,
    client: TcpListener,
}

impl Listeners {
    async fn bind(any_ports: bool) -> anyhow::Result<Self> {
        let at = |port: u16| {
            let port = if any_ports { 0 } else { port };
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
        };
        let [bus, posts, comments, query, moderation, client] = SERVICES;
        Ok(Self {
            bus: bind(bus.0, at(bus.1)).await?,
            posts: bind(posts.0, at(posts.1)).await?,
            comments: bind(comments.0, at(comments.1)).await?,
            query: bind(query.0, at(query.1)).await?,
            moderation: bind(moderation.0, at(moderation.1)).await?,
            client: bind(client.0, at(client.1)).await?,
        })
    }
}

pub(crate) async fn run(args: UpArgs) -> anyhow::Result<()> {
    let listeners = Listeners::bind(args.any_ports).await?;
    let bus_addr = listeners.bus.local_addr()?;
    let daemon = Daemon::open(
        BusConfig::new(bus_addr, args.data_dir.join("bus")),
        bus_addr,
    )
    .await?;
    let shutdown = shutdown_on_signal();
    let mut stack = Stack::new(shutdown.clone());
    let urls = start(&mut stack, daemon, listeners, &args.data_dir, &shutdown)?;
    println!("{}", banner(&args.data_dir, &urls));
    stack.wait().await
}

/// Starts the bus and every service on their listeners; what the banner shows of each
/// (name, address, a path to try).
fn start(
    stack: &mut Stack,
    daemon: Daemon,
    listeners: Listeners,
    dir: &Path,
    shutdown: &CancellationToken,
) -> anyhow::Result<Vec<(&'static str, SocketAddr, &'static str)>> {
    let Listeners {
        bus,
        posts,
        comments,
        query,
        moderation,
        client,
    } = listeners;
    let at = [
        ("bus", bus.local_addr()?, "/info"),
        ("posts", posts.local_addr()?, "/posts"),
        ("comments", comments.local_addr()?, "/healthz"),
        ("query", query.local_addr()?, "/posts"),
        ("moderation", moderation.local_addr()?, "/readyz"),
        ("client", client.local_addr()?, "/"),
    ];
    let bus_url = format!("http://{}", at[0].1);
    let stop = || shutdown.clone();
    stack.start("bus", daemon.run(bus, stop()));

    let mut args = posts::PostsArgs::new(at[1].1, dir.join("posts"));
    args.service.bus_url.clone_from(&bus_url);
    stack.start("posts", posts::run(posts, args, stop()));
    let mut args = comments::CommentsArgs::new(at[2].1, dir.join("comments"));
    args.service.bus_url.clone_from(&bus_url);
    stack.start("comments", comments::run(comments, args, stop()));
    let mut args = query::QueryArgs::new(at[3].1, dir.join("query"));
    args.service.bus_url.clone_from(&bus_url);
    stack.start("query", query::run(query, args, stop()));
    let mut args = moderation::ModerationArgs::new(at[4].1);
    args.service.bus_url.clone_from(&bus_url);
    stack.start("moderation", moderation::run(moderation, args, stop()));
    let args = client_args(at[5].1, [at[1].1, at[2].1, at[3].1, at[0].1]);
    stack.start("client", ::client::run(client, args, stop()));
    Ok(at.to_vec())
}

/// The client's flags in the stack: listening on `listen`, its upstreams at the addresses
/// the stack bound (ports the OS chose included), and the subscription actions on, for the
/// page's panel.
fn client_args(
    listen: SocketAddr,
    [posts, comments, query, bus]: [SocketAddr; 4],
) -> ::client::ClientArgs {
    let mut args = ::client::ClientArgs::new(listen);
    args.posts_url = format!("http://{posts}");
    args.comments_url = format!("http://{comments}");
    args.query_url = format!("http://{query}");
    args.bus_url = format!("http://{bus}");
    args.admin_actions = true;
    args
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
                tracing::error!(service = name, error = %format_args!("{e:#}"), "stopped; stopping the stack");
                self.shutdown.cancel();
                first_error.get_or_insert(e.context(format!("{name} stopped")));
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
