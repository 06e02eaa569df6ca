//! The blog's whole stack in this process behind the gateway: a real bus with a token
//! (bus::testkit), posts, comments, query and moderation, each on 127.0.0.1:0 over its own
//! temp data dir.

use crate::helpers::TestGateway;
use bus::testkit::{eventually, spawn_bus_with, TestBus};
use std::future::Future;
use std::net::SocketAddr;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The bus's token: the services and the gateway hold it, the test's browser does not.
pub(crate) const TOKEN: &str = "gateway-test-token-0123456789";

/// The stack running; dropping it stops the services (without waiting).
pub(crate) struct TestStack {
    pub(crate) bus: TestBus,
    pub(crate) posts: String,
    pub(crate) comments: String,
    pub(crate) query: String,
    shutdown: CancellationToken,
    _dir: TempDir,
}

impl TestStack {
    /// Starts the bus and every service, and waits until each answers `/readyz`.
    pub(crate) async fn start() -> TestStack {
        bus::kit::init_test_tracing();
        let bus = spawn_bus_with(|config| config.token = Some(TOKEN.into())).await;
        let dir = tempfile::tempdir().expect("a temp dir");
        let shutdown = CancellationToken::new();
        let (posts_at, posts) = listener().await;
        let mut args = posts::PostsArgs::new(posts_at, dir.path().join("posts"));
        (args.service.bus_url, args.service.bus_token) = (bus.url().into(), Some(TOKEN.into()));
        spawn("posts", posts::run(posts, args, shutdown.clone()));
        let (comments_at, comments) = listener().await;
        let mut args = comments::CommentsArgs::new(comments_at, dir.path().join("comments"));
        (args.service.bus_url, args.service.bus_token) = (bus.url().into(), Some(TOKEN.into()));
        spawn("comments", comments::run(comments, args, shutdown.clone()));
        let (query_at, query) = listener().await;
        let mut args = query::QueryArgs::new(query_at, dir.path().join("query"));
        (args.service.bus_url, args.service.bus_token) = (bus.url().into(), Some(TOKEN.into()));
        spawn("query", query::run(query, args, shutdown.clone()));
        let (moderation_at, moderation) = listener().await;
        let mut args = moderation::ModerationArgs::new(moderation_at);
        (args.service.bus_url, args.service.bus_token) = (bus.url().into(), Some(TOKEN.into()));
        spawn(
            "moderation",
            moderation::run(moderation, args, shutdown.clone()),
        );
        for addr in [posts_at, comments_at, query_at, moderation_at] {
            ready(&format!("http://{addr}")).await;
        }
        TestStack {
            bus,
            posts: format!("http://{posts_at}"),
            comments: format!("http://{comments_at}"),
            query: format!("http://{query_at}"),
            shutdown,
            _dir: dir,
        }
    }

    /// A gateway to this stack, forwarding the subscription actions if `admin_actions`.
    pub(crate) async fn gateway(&self, admin_actions: bool) -> TestGateway {
        TestGateway::start_with(|args| {
            args.posts_url.clone_from(&self.posts);
            args.comments_url.clone_from(&self.comments);
            args.query_url.clone_from(&self.query);
            args.bus_url = self.bus.url().into();
            args.bus_token = Some(TOKEN.into());
            args.admin_actions = admin_actions;
        })
        .await
    }

    /// A request to the bus itself, with the token.
    pub(crate) fn bus_get(&self, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .get(self.bus.at(path))
            .bearer_auth(TOKEN)
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn listener() -> (SocketAddr, TcpListener) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    (listener.local_addr().expect("an address"), listener)
}

/// Runs a service in a task; one that fails panics there, naming itself.
fn spawn<E: std::fmt::Display>(
    name: &'static str,
    service: impl Future<Output = Result<(), E>> + Send + 'static,
) {
    tokio::spawn(async move {
        if let Err(e) = service.await {
            panic!("{name} failed: {e}");
        }
    });
}

/// Waits until the service at `url` answers `/readyz` with 200.
async fn ready(url: &str) {
    let probe = format!("{url}/readyz");
    eventually(&format!("{url} to be ready"), || async {
        let answer = reqwest::get(&probe).await.ok()?;
        answer.status().is_success().then_some(())
    })
    .await;
}
