//! The blog's whole stack in this process behind the gateway: a real bus with a token
//! (bus::testkit), posts, comments, query and moderation, each on 127.0.0.1:0 over its own
//! temp data dir.

use crate::helpers::TestGateway;
use bus::testkit::{spawn_bus_with, TestBus, TestService};
use std::net::SocketAddr;
use tempfile::TempDir;
use tokio::net::TcpListener;

/// The bus's token: the services and the gateway hold it, the test's browser does not.
pub(crate) const TOKEN: &str = "gateway-test-token-0123456789";

/// The stack running; dropping it stops the services, then the bus (without waiting).
pub(crate) struct TestStack {
    pub(crate) posts: TestService<posts::RunError>,
    pub(crate) comments: TestService<comments::RunError>,
    pub(crate) query: TestService<query::QueryError>,
    _moderation: TestService<moderation::RunError>,
    pub(crate) bus: TestBus,
    _dir: TempDir,
}

impl TestStack {
    /// Starts the bus and every service, and waits until each answers `/readyz`.
    pub(crate) async fn start() -> TestStack {
        let bus = spawn_bus_with(|config| config.token = Some(TOKEN.into())).await;
        let dir = tempfile::tempdir().expect("a temp dir");
        let bus_at = || (bus.url().to_string(), Some(TOKEN.to_string()));
        let posts = TestService::spawn("posts", |listener, shutdown| {
            let mut args = posts::PostsArgs::new(addr(&listener), dir.path().join("posts"));
            (args.service.bus_url, args.service.bus_token) = bus_at();
            posts::run(listener, args, shutdown)
        })
        .await;
        let comments = TestService::spawn("comments", |listener, shutdown| {
            let mut args =
                comments::CommentsArgs::new(addr(&listener), dir.path().join("comments"));
            (args.service.bus_url, args.service.bus_token) = bus_at();
            comments::run(listener, args, shutdown)
        })
        .await;
        let query = TestService::spawn("query", |listener, shutdown| {
            let mut args = query::QueryArgs::new(addr(&listener), dir.path().join("query"));
            (args.service.bus_url, args.service.bus_token) = bus_at();
            query::run(listener, args, shutdown)
        })
        .await;
        let moderation = TestService::spawn("moderation", |listener, shutdown| {
            let mut args = moderation::ModerationArgs::new(addr(&listener));
            (args.service.bus_url, args.service.bus_token) = bus_at();
            moderation::run(listener, args, shutdown)
        })
        .await;
        posts.until_ready().await;
        comments.until_ready().await;
        query.until_ready().await;
        moderation.until_ready().await;
        TestStack {
            posts,
            comments,
            query,
            _moderation: moderation,
            bus,
            _dir: dir,
        }
    }

    /// A gateway to this stack, forwarding the subscription actions if `admin_actions`.
    pub(crate) async fn gateway(&self, admin_actions: bool) -> TestGateway {
        TestGateway::start_with(|args| {
            args.posts_url = self.posts.url().into();
            args.comments_url = self.comments.url().into();
            args.query_url = self.query.url().into();
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

/// Where `listener` listens: the address a service's flags name.
fn addr(listener: &TcpListener) -> SocketAddr {
    listener.local_addr().expect("an address")
}
