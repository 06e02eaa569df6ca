//! `Subscriber`: the service side of a subscription.
//!
//! A service gives it a [`Handler`] and mounts [`Subscriber::router`] (`POST /events`). At
//! start, [`Subscriber::register`] PUTs the subscription with `reset: true`, a fresh random
//! secret, and `start` from the service's own checkpoint (`{"after": applied}`), or
//! `"beginning"` when it has no state: the service's checkpoint is the truth, the bus cursor
//! only says where delivery resumes. Then, for each delivery, it:
//!
//! - answers `503` until the registration is acknowledged (the bus retries);
//! - rejects (`401`) a body whose Standard Webhooks signature does not verify;
//! - answers `409 stale_generation` to an older generation, and on a newer one (an
//!   operator's rewind) calls [`Handler::on_rewind`] and applies without skipping;
//! - skips seqs it already applied within a generation (deliveries are at-least-once);
//! - hands the rest of a delivery to [`Handler::handle_batch`] at once (a whole batch with
//!   `batch` > 1), and moves the checkpoint past what it applied, all of it or the part a
//!   [`BatchError`] counts;
//! - notices a changed `Minibus-Log-Id` (the log was replaced) and starts over;
//! - reports through [`Subscriber::caught_up`] when it has applied up to the head it saw
//!   when it registered.
//!
//! A service that keeps no state (moderation) has no checkpoint to register from: built
//! with [`Subscriber::stateless`], it PUTs without `reset`, so delivery resumes after what
//! it last acknowledged (the bus's cursor), and starts from the beginning only when the
//! subscription is created. Replicas of such a service that share one subscription are
//! built with [`Subscriber::stateless_shared`] and one secret.

mod delivery;
#[cfg(feature = "kit")]
mod openapi;

pub use delivery::SIGNATURE_TOLERANCE_SECS;
#[cfg(feature = "kit")]
pub use openapi::document_deliveries;

use super::Error;
use crate::envelope::Envelope;
use crate::signature::Signer;
use crate::wire::{Info, Start, SubscriptionSpec, SubscriptionStatus};
use axum::extract::DefaultBodyLimit;
use axum::routing::post;
use axum::Router;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{watch, Mutex};

/// The largest delivery body taken: the `batch_max_bytes` the SDK registers (the bus's
/// default, 1 MiB) and one more event of the bus's default `--max-event-bytes` (1 MiB),
/// since the bus always sends at least one event whatever its size. It overrides a
/// smaller limit the service sets for its own routes (comments takes 32 KiB), which would
/// refuse (`413`) every full batch and make the bus send one event per request.
pub const MAX_DELIVERY_BYTES: usize = 2 << 20;

/// How often a subscriber that has not caught up yet asks the bus for its cursor.
const CURSOR_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// Why a handler did not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event can never be applied here: answered `422`, so the bus parks it.
    #[error("rejected: {0}")]
    Reject(String),
    /// Try again later: answered `503`, so the bus retries.
    #[error("retry: {0}")]
    Retry(String),
}

/// Why a handler did not apply a whole delivered batch: its first `applied` events were
/// applied (the checkpoint moves past them), then `error` stopped it. The delivery is
/// answered as `error` says; the bus then sends the batch's events again one per request
/// (DESIGN "Delivery"), and those already applied are skipped.
#[derive(Debug, thiserror::Error)]
#[error("{applied} events applied, then {error}")]
pub struct BatchError {
    /// How many events of the batch, from its start, were applied.
    pub applied: usize,
    /// Why the next one was not.
    pub error: HandlerError,
}

/// What a service does with its events.
pub trait Handler: Send + Sync + 'static {
    /// Applies one event (in seq order; each seq once per generation).
    fn handle(&self, event: Envelope) -> impl Future<Output = Result<(), HandlerError>> + Send;

    /// Applies the events of one delivery (`batch` > 1), in seq order, those already
    /// applied left out (never empty). The default calls [`Self::handle`] on each in turn
    /// and stops at the first failure, counting what it applied. A handler that applies a
    /// batch at once (one transaction, one array publish) overrides it, and answers
    /// `applied: 0` when nothing of the batch was applied.
    fn handle_batch(
        &self,
        events: Vec<Envelope>,
    ) -> impl Future<Output = Result<(), BatchError>> + Send {
        async move {
            for (applied, event) in events.into_iter().enumerate() {
                self.handle(event)
                    .await
                    .map_err(|error| BatchError { applied, error })?;
            }
            Ok(())
        }
    }

    /// The subscription was rewound: forget everything applied after seq `after`.
    fn on_rewind(&self, after: u64) -> impl Future<Output = ()> + Send {
        let _ = after;
        async {}
    }
}

/// How a service subscribes.
#[derive(Debug, Clone)]
pub struct SubscriberConfig {
    /// The bus, e.g. `http://127.0.0.1:4005`.
    pub bus_url: String,
    /// The bus token, if it has one.
    pub token: Option<String>,
    /// The subscription's name (e.g. `query`).
    pub name: String,
    /// The URL at which the bus reaches [`Subscriber::router`]'s `/events`.
    pub url: String,
    /// Event types wanted (empty = all).
    pub types: Vec<String>,
    /// Events per delivery.
    pub batch: u32,
    /// The last seq the service applied (its checkpoint), or `None` without state.
    pub applied: Option<u64>,
    /// The `log_id` the checkpoint belongs to, if known.
    pub log_id: Option<String>,
}

/// What a registration found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The bus's log id (store it beside the checkpoint).
    pub log_id: String,
    /// The durable head when registering: caught up once applied up to here.
    pub head_seq: u64,
    /// Delivery resumes after this seq.
    pub after: u64,
    /// The generation the bus gave this registration (each reset raises it): a delivery
    /// with an older one is stale.
    pub generation: u64,
    /// Whether the service must drop its state (the log was replaced, or its checkpoint
    /// is beyond the head): `on_rewind(0)` has been called.
    pub started_over: bool,
}

/// Where the service stands, as deliveries and registrations move it.
#[derive(Debug, Default)]
struct Progress {
    /// The bus has acknowledged the registration: deliveries are taken.
    registered: bool,
    /// The subscription's generation deliveries must carry (an older one is stale).
    generation: u64,
    /// The last seq applied (the checkpoint).
    applied: u64,
    /// The log the checkpoint belongs to.
    log_id: Option<String>,
    /// The head at registration: caught up once applied up to here.
    target: u64,
}

/// What the clones of a [`Subscriber`] share.
struct SubscriberParts<H> {
    handler: H,
    config: SubscriberConfig,
    http: reqwest::Client,
    /// Verifies deliveries with `secret`.
    signer: Signer,
    /// The secret registered with the subscription: random, or shared by the replicas.
    secret: String,
    progress: Mutex<Progress>,
    caught_up: watch::Sender<bool>,
    /// Where a registration starts: the service's checkpoint, or the bus's cursor.
    resume: Resume,
}

/// Where a registration makes delivery resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resume {
    /// After the service's own checkpoint (`reset: true`): a stateful service.
    FromCheckpoint,
    /// After the bus's cursor (no `reset`): a service that keeps no state.
    FromBusCursor,
}

/// The service side of one subscription. Cheap to clone.
pub struct Subscriber<H> {
    parts: Arc<SubscriberParts<H>>,
}

impl<H> Clone for Subscriber<H> {
    fn clone(&self) -> Self {
        Self {
            parts: self.parts.clone(),
        }
    }
}

impl<H: Handler> Subscriber<H> {
    /// A subscriber with a fresh random secret; nothing is sent until [`Self::register`].
    pub fn new(config: SubscriberConfig, handler: H) -> Self {
        let secret = Signer::random_secret();
        Self::build(config, handler, Resume::FromCheckpoint, secret)
            .unwrap_or_else(|_| unreachable!("a random secret is valid"))
    }

    /// A subscriber for a service that keeps no state: [`Self::register`] leaves the
    /// subscription's cursor where it is (no `reset`), so a restart resumes after what the
    /// service last acknowledged instead of handling everything again; a new subscription
    /// starts from the beginning. `config.applied` and `config.log_id` are not used.
    pub fn stateless(config: SubscriberConfig, handler: H) -> Self {
        let secret = Signer::random_secret();
        Self::build(config, handler, Resume::FromBusCursor, secret)
            .unwrap_or_else(|_| unreachable!("a random secret is valid"))
    }

    /// A [`Self::stateless`] subscriber whose replicas share one subscription (DESIGN
    /// "Manifests": moderation's Deployment): each registers the same `secret`
    /// (`whsec_…`) instead of a fresh random one, so that no replica's registration
    /// replaces the secret the others verify deliveries with. Its error says why a secret
    /// is not `whsec_` and the base64 of 24–64 bytes.
    pub fn stateless_shared(
        config: SubscriberConfig,
        handler: H,
        secret: &str,
    ) -> Result<Self, String> {
        Self::build(config, handler, Resume::FromBusCursor, secret.to_owned())
    }

    fn build(
        config: SubscriberConfig,
        handler: H,
        resume: Resume,
        secret: String,
    ) -> Result<Self, String> {
        let signer = Signer::from_secret(&secret)?;
        let progress = Progress {
            applied: config.applied.unwrap_or(0),
            log_id: config.log_id.clone(),
            ..Progress::default()
        };
        Ok(Self {
            parts: Arc::new(SubscriberParts {
                handler,
                http: reqwest::Client::new(),
                signer,
                secret,
                progress: Mutex::new(progress),
                caught_up: watch::channel(false).0,
                config,
                resume,
            }),
        })
    }

    /// `POST /events`: mount it where [`SubscriberConfig::url`] points. It takes bodies up
    /// to [`MAX_DELIVERY_BYTES`], whatever limit the service's other routes have.
    pub fn router(&self) -> Router {
        let deliver = post(delivery::deliver::<H>).layer(DefaultBodyLimit::max(MAX_DELIVERY_BYTES));
        Router::new()
            .route("/events", deliver)
            .with_state(self.clone())
    }

    /// `true` once everything up to the head seen at registration is applied.
    pub fn caught_up(&self) -> watch::Receiver<bool> {
        self.parts.caught_up.subscribe()
    }

    /// The last seq applied: the service's checkpoint, to store with its state.
    pub async fn applied(&self) -> u64 {
        self.parts.progress.lock().await.applied
    }

    /// Registers the subscription (see the module doc).
    pub async fn register(&self) -> Result<Registration, Error> {
        let info: Info = self
            .call(reqwest::Method::GET, "/info", None::<&()>)
            .await?;
        let mut progress = self.parts.progress.lock().await;
        let replaced = progress
            .log_id
            .as_deref()
            .is_some_and(|known| known != info.log_id);
        let (status, beyond_head) = self.put_from_checkpoint(&progress, replaced).await?;
        let started_over = replaced || beyond_head;
        if started_over {
            self.parts.handler.on_rewind(0).await;
        }
        self.registered(&mut progress, &status, &info.log_id);
        tracing::info!(subscription = %self.parts.config.name, after = status.cursor, generation = status.generation, "registered with the bus");
        Ok(Registration {
            log_id: info.log_id,
            head_seq: status.head_seq,
            after: status.cursor,
            generation: status.generation,
            started_over,
        })
    }

    /// PUTs the subscription to start after the checkpoint (from the beginning without
    /// one, or when the log was `replaced`), and from the beginning again if the bus's
    /// head is below the checkpoint, which the `bool` then says.
    async fn put_from_checkpoint(
        &self,
        progress: &Progress,
        replaced: bool,
    ) -> Result<(SubscriptionStatus, bool), Error> {
        if self.parts.resume == Resume::FromBusCursor {
            return Ok((self.put(Start::Beginning, false).await?, false));
        }
        let start = match self.parts.config.applied {
            Some(applied) if !replaced => Start::After {
                after: applied.max(progress.applied),
            },
            _ => Start::Beginning,
        };
        match self.put(start, true).await {
            Err(Error::Rejected { status: 409, body }) if body.error == "cursor_beyond_head" => {
                Ok((self.put(Start::Beginning, true).await?, true))
            }
            other => Ok((other?, false)),
        }
    }

    /// Takes the bus's answer to the registration as the new progress, and starts
    /// watching the cursor if there is history to catch up on.
    fn registered(&self, progress: &mut Progress, status: &SubscriptionStatus, log_id: &str) {
        progress.registered = true;
        progress.generation = status.generation;
        progress.applied = status.cursor;
        progress.log_id = Some(log_id.into());
        progress.target = status.head_seq;
        let caught_up = progress.applied >= progress.target;
        self.parts.caught_up.send_replace(caught_up);
        if !caught_up {
            self.watch_cursor(progress.target);
        }
    }

    /// The events at the head may not be ours (`types`), so the last one we apply can be
    /// below `target`: the bus's cursor, which moves past events that do not match, says
    /// when everything up to `target` is done. Polls it until then (or until caught up by
    /// a delivery, or this subscriber is dropped).
    fn watch_cursor(&self, target: u64) {
        let weak = Arc::downgrade(&self.parts);
        let path = format!("/subscriptions/{}", self.parts.config.name);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(CURSOR_POLL).await;
                let Some(parts) = weak.upgrade() else { return };
                if *parts.caught_up.borrow() {
                    return;
                }
                let me = Subscriber { parts };
                let status: Result<SubscriptionStatus, _> =
                    me.call(reqwest::Method::GET, &path, None::<&()>).await;
                if status.is_ok_and(|s| s.cursor >= target) {
                    me.parts.caught_up.send_replace(true);
                    return;
                }
            }
        });
    }

    /// PUTs the subscription's settings; `start` applies on creation, or always with
    /// `reset`.
    async fn put(&self, start: Start, reset: bool) -> Result<SubscriptionStatus, Error> {
        let c = &self.parts.config;
        let mut spec = SubscriptionSpec::new(c.url.clone());
        spec.types.clone_from(&c.types);
        spec.batch = c.batch;
        spec.start = start;
        spec.reset = reset;
        spec.secret = Some(self.parts.secret.clone());
        self.call(
            reqwest::Method::PUT,
            &format!("/subscriptions/{}", c.name),
            Some(&spec),
        )
        .await
    }

    async fn call<B: serde::Serialize, R: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<R, Error> {
        let url = format!("{}{path}", self.parts.config.bus_url.trim_end_matches('/'));
        let mut request = self.parts.http.request(method, url);
        if let Some(body) = body {
            request = request.json(body);
        }
        super::send(request, self.parts.config.token.as_deref()).await
    }
}
