//! The query service (`minibus query`, port 4002): the blog's read model. It subscribes to
//! `PostCreated`, `CommentCreated` and `CommentUpdated` (batches of 100) and answers
//! `GET /posts` in the course's shape, `{"<id>": {"id", "title", "comments": [{"id",
//! "content", "status"}]}}`, in creation order, and `GET /posts/{id}`.
//!
//! By default the projection lives in memory and is rebuilt at each start by replaying the
//! log from the beginning; with `--persist` it lives in sled under `--data-dir` with its
//! checkpoint, and a start resumes after the checkpoint (a replaced log, or a checkpoint
//! beyond the bus's head, starts over). `/readyz` answers `200` once the projection has
//! caught up with the head the bus had at registration. `GET /posts?min_seq=N` waits (up to
//! `wait_ms`, 2 s by default) until seq N is applied: a client that has just written reads
//! its write.
//!
//! # Layout
//!
//! ```text
//! config.rs        QueryArgs: the kit's ServiceArgs and CorsArgs, --persist,
//!                  --subscription-name
//! events.rs        the typed payloads read: PostCreated, CommentCreated, CommentUpdated
//! projection.rs    Projection: posts in order with their comments; plan + commit of a Change
//! store.rs         ProjectionStore: the projection and its checkpoint in sled (--persist)
//! persister.rs     Persister: writes changes to the store in groups, each with its checkpoint
//! read_model.rs    ReadModel: the projection shared by the handler and the routes, the seq
//!                  applied (to wait on), the store every change goes through first
//! handler.rs       Projector: the SDK handler (422 for an event that can never apply)
//! subscription.rs  the subscription's settings, registration with retries, readiness
//! routes.rs        router(): GET /posts, GET /posts/{id}, min_seq/wait_ms, POST /events, CORS
//! ```

mod config;
mod events;
mod handler;
mod persister;
mod projection;
mod read_model;
mod routes;
mod store;
mod subscription;

pub use config::{Query, QueryArgs};
pub use events::{BlogEvent, CommentCreated, CommentUpdated, PostCreated, SUBSCRIBED_TYPES};
pub use handler::Projector;
pub use persister::{Persister, GROUP_ENTRIES, WRITE_EVERY};
pub use projection::{Change, Comment, Post, Projection, Unapplicable};
pub use read_model::{ApplyError, ReadModel};
pub use routes::{cors, parse_wait, router, Wait, APPLIED_SEQ, DEFAULT_WAIT, MAX_WAIT_MS};
pub use store::{entry, Entry, ProjectionStore, Saved, StoreError};
pub use subscription::{register, subscriber, Checkpoint, BATCH, SUBSCRIPTION};

use bus::kit::{serve_while, ConfigError, Readiness};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Why query stopped, or could not start.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A refused setting (token, advertise URL, `--cors-origin`).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store could not be opened, read or flushed.
    #[error("the projection's store failed")]
    Store(#[from] StoreError),
    /// The bus refused the registration (a wrong token…).
    #[error("cannot register with the bus")]
    Register(#[from] bus::sdk::Error),
    /// Serving failed.
    #[error("serving failed")]
    Io(#[from] std::io::Error),
}

/// Runs query on `listener` until `shutdown`: opens the store (with `--persist`), serves,
/// registers with the bus (retrying while it cannot be reached), and flushes the store at
/// the end.
pub async fn run(
    listener: TcpListener,
    args: QueryArgs,
    shutdown: CancellationToken,
) -> Result<(), QueryError> {
    args.service.check()?;
    let cors = routes::cors(&args.cors)?;
    let base_url = args.service.advertise_url(listener.local_addr()?)?;
    let (model, from) = open(&args).await?;
    let subscriber = subscriber(&args, &base_url, from, model.clone());
    let readiness = Readiness::new();
    let app = router(model.clone(), subscriber.router(), readiness.clone(), cors);
    let registering = async {
        register(&subscriber, &model, &readiness, &shutdown).await?;
        Ok::<_, QueryError>(())
    };
    serve_while(listener, app, &shutdown, registering).await?;
    model.flush().await?;
    Ok(())
}

/// The read model to start from: what the store holds with `--persist`, else empty.
async fn open(args: &QueryArgs) -> Result<(ReadModel, Checkpoint), QueryError> {
    if !args.persist {
        return Ok((
            ReadModel::new(Saved::default(), None),
            Checkpoint::default(),
        ));
    }
    let (dir, cache_mb) = (args.service.data_dir.clone(), args.service.cache_mb);
    let opened = tokio::task::spawn_blocking(move || {
        let store = ProjectionStore::open(&dir, cache_mb)?;
        let saved = store.load()?;
        Ok::<_, StoreError>((store, saved))
    })
    .await
    .map_err(|e| StoreError::Interrupted(e.to_string()))?;
    let (store, saved) = opened?;
    let from = Checkpoint {
        applied: saved.applied,
        log_id: saved.log_id.clone(),
    };
    tracing::info!(applied = ?from.applied, posts = saved.projection.len(), "projection loaded");
    Ok((ReadModel::new(saved, Some(store)), from))
}

#[cfg(test)]
mod tests {
    use super::{ApplyError, QueryError, StoreError};
    use bus::testkit::assert_each_cause_said_once;

    fn sled_failed() -> StoreError {
        StoreError::Sled(sled::Error::Io(std::io::Error::other("disk full")))
    }

    #[test]
    fn each_error_says_its_cause_once() {
        let serving = QueryError::Io(std::io::Error::other("no file descriptors left"));
        let printed = assert_each_cause_said_once(&serving);
        assert_eq!(printed, "serving failed: no file descriptors left");
        let store = QueryError::Store(sled_failed());
        let printed = assert_each_cause_said_once(&store);
        assert_eq!(
            printed,
            "the projection's store failed: sled failed: IO error: disk full"
        );
        let apply = ApplyError::Store(sled_failed());
        let printed = assert_each_cause_said_once(&apply);
        assert_eq!(
            printed,
            "cannot store the change: sled failed: IO error: disk full"
        );
    }
}
