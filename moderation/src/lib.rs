//! moderation (`minibus moderation`, port 4003): approves or rejects each new comment. For
//! every `CommentCreated` the bus delivers, it publishes `CommentModerated {id, content,
//! postId, status}` with the status `rejected` when the content contains a blocked word
//! (`--blocked-words`, case-insensitive, as a substring), else `approved`.
//!
//! It keeps no data. Exactly one verdict per comment comes from the event id
//! `moderated-<commentId>`: the delivery is acknowledged only once the bus has stored the
//! verdict (else `503`, and the bus retries), and a verdict published again after a lost
//! answer or a crash is deduplicated by the bus.
//!
//! The bus delivers up to [`BATCH`] comments at once, and their verdicts are published as
//! one array: one group commit for the whole delivery instead of one per comment, which
//! is what lets the blog's chain take 1,000 comments/s (docs/BENCHMARKS.md). A delivery
//! that fails is sent again by the bus one comment per request, so each verdict then
//! stands alone; an array some of whose ids the bus holds already (`409
//! partial_duplicate`) is published again without them.
//!
//! Its subscription (`moderation`, `CommentCreated` only) is registered at start without
//! `reset` ([`bus::sdk::Subscriber::stateless`]): created, it starts from the beginning, so
//! comments written before moderation first ran are moderated; restarted, it resumes after
//! the last comment it acknowledged, the bus's cursor, instead of judging the whole log
//! again. Judging again would be harmless (the ids dedupe) but costs one publish per
//! comment ever written at every restart. Replicas that share the subscription (a
//! Deployment) register one `--subscription-secret`, so that each verifies what the bus
//! signs whichever registered last.
//!
//! # Layout
//!
//! ```text
//! config.rs     ModerationArgs: the kit's ServiceArgs, --blocked-words, --delay-ms,
//!               --subscription-secret (checked)
//! verdict.rs    Verdict, BlockedWords: the rule
//! events.rs     CommentCreated (read), CommentModerated (written, with its event id)
//! moderator.rs  Moderator: the sdk::Handler that judges a delivery and publishes its
//!               verdicts as one array before acknowledging
//! routes.rs     router(): POST /events (the SDK's), /healthz, /readyz, /openapi.json
//! ```

mod config;
mod events;
mod moderator;
mod routes;
mod verdict;

pub use config::{
    delivery_timeout, max_delay, Moderation, ModerationArgs, SettingsError, PUBLISH_ALLOWANCE,
};
pub use events::{CommentCreated, CommentModerated, COMMENT_CREATED, COMMENT_MODERATED};
pub use moderator::Moderator;
pub use routes::router;
pub use verdict::{BlockedWords, Verdict};

use bus::kit::{register_with_retry, serve_while, ConfigError, Readiness, ServiceDefaults};
use bus::sdk::{Publisher, Subscriber, SubscriberConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The subscription's name at the bus.
pub const SUBSCRIPTION: &str = Moderation::NAME;
/// Comments per delivery, at most; their verdicts are published as one array.
pub const BATCH: u32 = 100;

/// Why moderation stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A setting it refuses.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// No URL at which the bus can reach it.
    #[error(transparent)]
    AdvertiseUrl(#[from] ConfigError),
    /// The bus refused the registration (a wrong token, a URL it does not allow…).
    #[error("the bus refused the subscription")]
    Registration(#[source] bus::sdk::Error),
    /// Serving failed.
    #[error("serving failed")]
    Serve(#[from] std::io::Error),
}

/// Runs moderation on `listener` until `shutdown`: serves its routes, registers its
/// subscription (retrying while the bus cannot be reached; `/readyz` answers 200 once it
/// is registered), and moderates what the bus delivers.
pub async fn run(
    listener: TcpListener,
    args: ModerationArgs,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    args.check()?;
    let advertised = args.service.advertise_url(listener.local_addr()?)?;
    let subscriber = subscriber(&args, format!("{advertised}/events"))?;
    let readiness = Readiness::new();
    let app = router(subscriber.router(), readiness.clone());
    let registering = async {
        let registered = register_with_retry(&subscriber, &shutdown).await;
        if registered.map_err(RunError::Registration)?.is_some() {
            readiness.set_ready();
        }
        Ok(())
    };
    serve_while(listener, app, &shutdown, registering).await
}

/// The SDK subscriber of `CommentCreated`, up to [`BATCH`] events per delivery, reached at
/// `url`; with `--subscription-secret`, shared by the replicas that register that secret.
fn subscriber(args: &ModerationArgs, url: String) -> Result<Subscriber<Moderator>, SettingsError> {
    let token = args.service.bus_token.clone();
    let publisher = Publisher::new(&args.service.bus_url, token.clone()).with_source(SUBSCRIPTION);
    let moderator = Moderator::new(
        BlockedWords::new(&args.blocked_words),
        publisher,
        args.delay(),
        delivery_timeout().saturating_sub(args.delay()),
    );
    let config = SubscriberConfig {
        bus_url: args.service.bus_url.clone(),
        token,
        name: SUBSCRIPTION.into(),
        url,
        types: vec![COMMENT_CREATED.into()],
        batch: BATCH,
        applied: None,
        log_id: None,
    };
    match &args.subscription_secret {
        Some(secret) => {
            Subscriber::stateless_shared(config, moderator, secret).map_err(SettingsError::Secret)
        }
        None => Ok(Subscriber::stateless(config, moderator)),
    }
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
