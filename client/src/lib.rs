//! client (`minibus client`, port 3000): the blog's page, and the gateway that routes its
//! calls like the course's ingress, so that the page talks to one origin and never holds
//! the bus's token.
//!
//! - `POST /posts`, `POST /posts/create` → posts; `GET /posts`, `GET /posts/{id}` → query
//!   (`min_seq`, `wait_ms` pass through); `POST|GET /posts/{id}/comments` → comments.
//! - `GET /bus/events`, `/bus/events/stream` (Server-Sent Events, passed on unbuffered),
//!   `/bus/subscriptions`, `/bus/subscriptions/{name}`, `/bus/subscriptions/{name}/dead-letters`,
//!   `/bus/info` → the bus (with `Authorization: Bearer` from `--bus-token`).
//! - With `--admin-actions` only: `POST /bus/subscriptions/{name}/pause|resume|rewind`;
//!   without it `403 admin_actions_disabled`.
//!
//! An upstream's status, body and headers (`Content-Type`, `Minibus-Seq`,
//! `Minibus-Applied-Seq`, `Retry-After`, `Location`) pass through unchanged. One that is
//! down answers `502 {"error": "upstream_unavailable", "service": "…"}` within
//! [`CONNECT_TIMEOUT`]; one slower than [`CALL_TIMEOUT`] answers `504 upstream_timeout`; a
//! bus that refuses `--bus-token` answers `502 upstream_refused_token` (not its `401`: the
//! browser holds no token). A path with a `.` or `..` segment (`%2e%2e` too) is `404`.
//!
//! ```text
//! minibus client --listen 127.0.0.1:3000 --query-url http://127.0.0.1:4002 --admin-actions
//! curl -si localhost:3000/posts
//! ```
//!
//! # Layout
//!
//! ```text
//! config.rs     ClientArgs: the flags, each with its MINIBUS_… variable
//! upstream.rs   Upstreams: the services' URLs, the HTTP client, the headers that pass, 502/504
//! gateway.rs    Gateway (the routes' state), Incoming (a request to forward), call(), stream()
//! blog.rs       the blog's routes: posts, query, comments
//! bus_views.rs  the bus's read-only views under /bus
//! admin.rs      pause, resume, rewind: only with --admin-actions
//! cross_site.rs which requests may take them: none that another site's page sent
//! schemas.rs    the request bodies and parameters, as the upstreams state them
//! page.rs       GET /: the page, from assets/ embedded in the binary
//! routes.rs     router(): all of them, health, /openapi.json, the body limit
//! ```

mod admin;
mod blog;
mod bus_views;
mod config;
mod cross_site;
mod gateway;
mod page;
mod routes;
mod schemas;
mod upstream;

pub use config::{ClientArgs, DEFAULT_LISTEN};
pub use routes::MAX_BODY_BYTES;
pub use upstream::{UpstreamError, CALL_TIMEOUT, CONNECT_TIMEOUT};

use bus::kit::{check_token, serve, Readiness, TokenError};
use gateway::Gateway;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use upstream::Upstreams;

/// Why the gateway did not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A refused upstream URL, or an HTTP client that did not start.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// A refused `--bus-token`. The rule is part of this message, not a cause after it.
    #[error("--bus-token (MINIBUS_TOKEN) {0}")]
    Token(TokenError),
    /// Serving failed.
    #[error("serving failed")]
    Serve(#[from] std::io::Error),
}

/// The gateway with its settings checked, ready to serve.
#[derive(Debug)]
pub struct ClientService {
    upstreams: Upstreams,
    admin_actions: bool,
}

impl ClientService {
    /// Checks `args`: a gateway that cannot start fails here, before it announces that it
    /// listens.
    pub fn open(args: &ClientArgs) -> Result<Self, RunError> {
        if let Some(token) = &args.bus_token {
            check_token(token).map_err(RunError::Token)?;
        }
        let bases = [
            ("posts-url", args.posts_url.as_str()),
            ("comments-url", args.comments_url.as_str()),
            ("query-url", args.query_url.as_str()),
            ("bus-url", args.bus_url.as_str()),
        ];
        let upstreams = Upstreams::new(bases, args.bus_token.as_deref())?;
        Ok(Self {
            upstreams,
            admin_actions: args.admin_actions,
        })
    }

    /// This gateway with `timeout` as the time a call to an upstream may take (a stream:
    /// its answer's head) instead of [`CALL_TIMEOUT`]; tests shorten it.
    pub fn with_call_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.upstreams = self.upstreams.with_call_timeout(timeout);
        self
    }

    /// Serves on `listener` until `shutdown`; the streams passed on end then too.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), RunError> {
        let gateway = Gateway {
            upstreams: self.upstreams,
            admin_actions: self.admin_actions,
            shutdown: shutdown.clone(),
        };
        let readiness = Readiness::new();
        readiness.set_ready();
        tracing::info!(
            admin_actions = self.admin_actions,
            "client serving the page and the gateway"
        );
        serve(listener, routes::router(gateway, readiness), shutdown).await?;
        Ok(())
    }
}

/// Checks `args` and serves the page and the gateway on `listener` until `shutdown`.
pub async fn run(
    listener: TcpListener,
    args: ClientArgs,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    ClientService::open(&args)?.run(listener, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::{ClientArgs, ClientService, RunError};
    use bus::testkit::assert_each_cause_said_once;

    #[test]
    fn each_refusal_says_its_cause_once() {
        let mut args = ClientArgs::new(([127, 0, 0, 1], 0).into());
        args.bus_token = Some("short".into());
        let error = ClientService::open(&args).expect_err("a weak token");
        assert!(matches!(error, RunError::Token(_)), "{error:?}");
        let printed = assert_each_cause_said_once(&error);
        assert!(
            printed.starts_with("--bus-token (MINIBUS_TOKEN) must"),
            "{printed}"
        );
        let serving = RunError::Serve(std::io::Error::other("no file descriptors left"));
        let printed = assert_each_cause_said_once(&serving);
        assert_eq!(printed, "serving failed: no file descriptors left");
        args.bus_token = None;
        args.query_url = "https://query".into();
        let error = ClientService::open(&args).expect_err("https");
        let printed = assert_each_cause_said_once(&error);
        assert_eq!(
            printed,
            r#"--query-url "https://query" is not an http:// URL"#
        );
    }
}
