//! comments (`minibus comments`, port 4001): comments on the blog's posts.
//! `POST /posts/{id}/comments` `{"content"}` stores a pending comment (a random 16-hex id,
//! its content trimmed) and publishes `CommentCreated {id, content, postId, status}`;
//! `GET /posts/{id}/comments` lists a post's comments in creation order.
//!
//! It subscribes to `PostCreated`, keeping a replica of post ids (any id a publisher chose)
//! so that a comment on an unknown post is a `404` (after waiting up to 2 s for the
//! replica to catch up with the bus; `503 post_unverified` when the bus cannot be reached),
//! and to `CommentModerated`, whose verdict it applies to the comment before publishing
//! `CommentUpdated {id, content, postId, status, version}` with the id
//! `updated-<commentId>-<version>`.
//!
//! A stateful subscriber: each event's change, the events it causes (the SDK's outbox) and
//! its seq as the checkpoint commit in one sled transaction, and at start the subscription
//! is registered with `reset` from that checkpoint; a replaced log (or a checkpoint beyond
//! the bus's head) drops the replica and replays. A write waits up to 1 s for its event's
//! seq (`Minibus-Seq`); writes on known posts succeed while the bus is down.
//!
//! # Layout
//!
//! ```text
//! config.rs   CommentsArgs: the kit's WebServiceArgs (--cors-origin too), comments' defaults
//! comment.rs  Comment, NewComment: the content's rule (the kit's TextRule)
//! events.rs   the events read (PostCreated, CommentModerated) and written
//! store.rs    CommentStore: comments, the replica of post ids, the checkpoint, the outbox
//! applier.rs  Applier: the sdk::Handler that applies events in one transaction each
//! verify.rs   PostVerifier: a post known, or the replica caught up with the bus without it
//! routes.rs   router(): POST/GET /posts/{id}/comments, POST /events, health, CORS
//! ```

mod applier;
mod comment;
mod config;
mod events;
mod routes;
mod store;
mod verify;

pub use applier::Applier;
pub use comment::{Comment, NewComment, CONTENT};
pub use config::{Comments, CommentsArgs};
pub use events::{COMMENT_CREATED, COMMENT_MODERATED, COMMENT_UPDATED, POST_CREATED};
pub use routes::{cors, router, AppState};
pub use store::{CommentStore, StoreError, StoredComment};
pub use verify::{PostCheck, PostVerifier, CATCH_UP_WAIT};

use bus::kit::{
    register_with_retry, serve_while, ConfigError, Readiness, RelayTask, ServiceDefaults,
};
use bus::sdk::{Subscriber, SubscriberConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The subscription's name at the bus.
pub const SUBSCRIPTION: &str = Comments::NAME;
/// Events per delivery.
const BATCH: u32 = 100;

/// Why comments did not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A refused flag (`--bus-token`, `--advertise-url`, `--cors-origin`).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store did not open.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The bus refused the registration (a wrong token, a URL it does not allow…).
    #[error("the bus refused the subscription")]
    Registration(#[source] bus::sdk::Error),
    /// Serving failed.
    #[error("serving failed")]
    Serve(#[from] std::io::Error),
}

/// Runs comments on `listener` until `shutdown`: opens its store, serves its routes,
/// relays its outbox, and registers its subscription from its checkpoint (retrying while
/// the bus cannot be reached; `/readyz` answers 200 once it is registered).
pub async fn run(
    listener: TcpListener,
    args: CommentsArgs,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let service = &args.service;
    args.check()?;
    let cors = cors(&args.cors)?;
    let store = CommentStore::open(&service.data_dir, service.cache_mb).await?;
    let advertised = service.advertise_url(listener.local_addr()?)?;
    let subscriber = subscriber(&args, &store, format!("{advertised}/events")).await?;
    let relay = RelayTask::start(store.outbox(), service, &shutdown);
    let readiness = Readiness::new();
    let verifier = PostVerifier::new(
        store.clone(),
        &service.bus_url,
        SUBSCRIPTION,
        service.bus_token.clone(),
    );
    let state = AppState {
        verifier,
        store: store.clone(),
    };
    let app = router(state, subscriber.router(), readiness.clone(), cors);
    tracing::info!(bus_url = %service.bus_url, "comments serving");
    let registering = async {
        let registered = register_with_retry(&subscriber, &shutdown).await;
        if let Some(registration) = registered.map_err(RunError::Registration)? {
            store.save_log_id(&registration.log_id).await?;
            readiness.set_ready();
        }
        Ok(())
    };
    let served = serve_while(listener, app, &shutdown, registering).await;
    relay.stop().await;
    served
}

/// The SDK subscriber of `PostCreated` and `CommentModerated`, from the store's checkpoint,
/// reached at `url`.
async fn subscriber(
    args: &CommentsArgs,
    store: &CommentStore,
    url: String,
) -> Result<Subscriber<Applier>, StoreError> {
    let (applied, log_id) = store.checkpoint().await?;
    let config = SubscriberConfig {
        bus_url: args.service.bus_url.clone(),
        token: args.service.bus_token.clone(),
        name: SUBSCRIPTION.into(),
        url,
        types: vec![POST_CREATED.into(), COMMENT_MODERATED.into()],
        batch: BATCH,
        applied,
        log_id,
    };
    Ok(Subscriber::new(config, Applier::new(store.clone())))
}

#[cfg(test)]
mod tests {
    use super::RunError;
    use bus::testkit::assert_each_cause_said_once;

    #[test]
    fn a_serving_failure_says_its_cause_once() {
        let error = RunError::Serve(std::io::Error::other("no file descriptors left"));
        let printed = assert_each_cause_said_once(&error);
        assert_eq!(printed, "serving failed: no file descriptors left");
    }
}
