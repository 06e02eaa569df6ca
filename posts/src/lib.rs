//! posts (`minibus posts`, port 4000): the blog's posts. `POST /posts` (or the course's
//! `POST /posts/create`) `{"title"}` stores a post with a random 16-hex id and its title
//! trimmed, and publishes `PostCreated {id, title}` on the stream `post-<id>`; `GET /posts`
//! answers `{"<id>": {"id", "title"}}` in creation order. It subscribes to nothing.
//!
//! A post and its event are committed together in posts' own sled directory
//! (`--data-dir`) through the SDK's outbox, and a relay task publishes the event. A write
//! waits up to one second ([`bus::sdk::PUBLISH_WAIT`]) for the bus to take the event and
//! then answers with its seq in `Minibus-Seq`; past that it answers without it: the post
//! is stored, and its event goes out once the bus is back (writes succeed while the bus
//! is down).
//!
//! At start it asks the bus's `/info` with its `--bus-token` (again while the bus cannot be
//! reached): a bus that refuses the token (`401`) stops posts with that error, as it stops
//! comments, rather than leaving it ready with events that can never be published.
//!
//! ```text
//! minibus posts --listen 127.0.0.1:4000 --data-dir ./data/posts --bus-url http://127.0.0.1:4005
//! curl -si localhost:4000/posts -H 'content-type: application/json' -d '{"title":"Hello"}'
//! ```
//!
//! # Layout
//!
//! ```text
//! config.rs   PostsArgs: the kit's WebServiceArgs (--cors-origin too) with posts' defaults
//! post.rs     Post, NewPost: the title's rule (the kit's TextRule)
//! events.rs   PostCreated: the event a post publishes
//! store.rs    PostStore: posts in creation order, each with its event in one transaction
//! routes.rs   router(): POST /posts, POST /posts/create, GET /posts, health, CORS
//! ```

mod config;
mod events;
mod post;
mod routes;
mod store;

pub use config::{Posts, PostsArgs};
pub use events::{post_created, stream_of, POST_CREATED};
pub use post::{NewPost, Post, TITLE};
pub use routes::{cors, router};
pub use store::{PostStore, StoreError};

use bus::kit::{
    check_bus_token_with_retry, serve_while, ConfigError, CorsLayer, Readiness, RelayTask,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Why posts did not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A refused `--bus-token` or `--cors-origin`.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store did not open.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The bus refused posts' calls at start (a `401`: a wrong or missing `--bus-token`):
    /// no event could ever be published.
    #[error("the bus refused posts' token")]
    BusRefused(#[source] bus::sdk::Error),
    /// Serving failed.
    #[error("serving failed")]
    Serve(#[from] std::io::Error),
}

/// posts with its settings checked and its store open, ready to serve.
#[derive(Debug)]
pub struct PostsService {
    args: PostsArgs,
    store: PostStore,
    cors: CorsLayer,
}

impl PostsService {
    /// Checks `args` and opens the store: a service that cannot start fails here, before
    /// it announces that it listens.
    pub async fn open(args: PostsArgs) -> Result<Self, RunError> {
        args.check()?;
        let cors = cors(&args.cors)?;
        let store = PostStore::open(&args.service.data_dir, args.service.cache_mb).await?;
        Ok(Self { args, store, cors })
    }

    /// Serves on `listener` and relays the outbox to the bus until `shutdown`; returns
    /// once both have stopped (the store is closed then). Ready at once (writes succeed
    /// while the bus is down), but a bus that refuses its token ends it, as comments'
    /// refused registration does: asked at start, again while it cannot be reached.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), RunError> {
        let relay = RelayTask::start(self.store.outbox(), &self.args.service, &shutdown);
        let readiness = Readiness::new();
        readiness.set_ready();
        let app = router(self.store, readiness, self.cors);
        let service = &self.args.service;
        let bus_url = &service.bus_url;
        tracing::info!(%bus_url, "posts serving, relaying its events to the bus");
        let checking = async {
            let token = service.bus_token.as_deref();
            check_bus_token_with_retry(bus_url, token, &shutdown)
                .await
                .map_err(RunError::BusRefused)?;
            Ok(())
        };
        let served = serve_while(listener, app, &shutdown, checking).await;
        relay.stop().await;
        served
    }
}

/// Opens posts with `args` and serves it on `listener` until `shutdown`.
pub async fn run(
    listener: TcpListener,
    args: PostsArgs,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    PostsService::open(args)
        .await?
        .run(listener, shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::RunError;
    use bus::testkit::assert_each_cause_said_once;

    #[test]
    fn a_refused_token_says_its_cause_once() {
        let body = bus::wire::ErrorBody {
            error: "unauthorized".into(),
            message: "wrong bearer token".into(),
            extra: Default::default(),
        };
        let refused = bus::sdk::Error::Rejected { status: 401, body };
        let printed = assert_each_cause_said_once(&RunError::BusRefused(refused));
        assert_eq!(
            printed,
            "the bus refused posts' token: bus answered 401: wrong bearer token (unauthorized)"
        );
    }

    #[test]
    fn a_serving_failure_says_its_cause_once() {
        let error = RunError::Serve(std::io::Error::other("no file descriptors left"));
        let printed = assert_each_cause_said_once(&error);
        assert_eq!(printed, "serving failed: no file descriptors left");
    }
}
