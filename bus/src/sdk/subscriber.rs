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
//! - notices a changed `Minibus-Log-Id` (the log was replaced) and starts over;
//! - reports through [`Subscriber::caught_up`] when it has applied up to the head it saw
//!   when it registered.

use super::SubscribeError;
use crate::envelope::Envelope;
use crate::signature::Signer;
use crate::wire::{ErrorBody, Info, Start, SubscriptionSpec, SubscriptionStatus};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use std::future::Future;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::{watch, Mutex};

/// How often a subscriber that has not caught up yet asks the bus for its cursor.
pub const CURSOR_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// How far a delivery's `webhook-timestamp` may be from our clock.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

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

/// What a service does with its events.
pub trait Handler: Send + Sync + 'static {
    /// Applies one event (in seq order; each seq once per generation).
    fn handle(&self, event: Envelope) -> impl Future<Output = Result<(), HandlerError>> + Send;

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
    /// The subscription's generation.
    pub generation: u64,
    /// Whether the service must drop its state (the log was replaced, or its checkpoint
    /// is beyond the head): `on_rewind(0)` has been called.
    pub started_over: bool,
}

#[derive(Debug, Default)]
struct Progress {
    registered: bool,
    generation: u64,
    applied: u64,
    log_id: Option<String>,
    target: u64,
}

struct Inner<H> {
    handler: H,
    config: SubscriberConfig,
    http: reqwest::Client,
    signer: Signer,
    secret: String,
    progress: Mutex<Progress>,
    caught_up: watch::Sender<bool>,
}

/// The service side of one subscription. Cheap to clone.
pub struct Subscriber<H> {
    inner: Arc<Inner<H>>,
}

impl<H> Clone for Subscriber<H> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<H: Handler> Subscriber<H> {
    /// A subscriber with a fresh random secret; nothing is sent until [`Self::register`].
    pub fn new(config: SubscriberConfig, handler: H) -> Self {
        let secret = Signer::random_secret();
        let signer = Signer::from_secret(&secret)
            .unwrap_or_else(|_| unreachable!("a random secret is valid"));
        let progress = Progress {
            applied: config.applied.unwrap_or(0),
            log_id: config.log_id.clone(),
            ..Progress::default()
        };
        Self {
            inner: Arc::new(Inner {
                handler,
                http: reqwest::Client::new(),
                signer,
                secret,
                progress: Mutex::new(progress),
                caught_up: watch::channel(false).0,
                config,
            }),
        }
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.inner.handler
    }

    /// `POST /events`: mount it where [`SubscriberConfig::url`] points.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/events", post(deliver::<H>))
            .with_state(self.clone())
    }

    /// `true` once everything up to the head seen at registration is applied.
    pub fn caught_up(&self) -> watch::Receiver<bool> {
        self.inner.caught_up.subscribe()
    }

    /// The last seq applied.
    pub async fn applied(&self) -> u64 {
        self.inner.progress.lock().await.applied
    }

    /// Registers the subscription (see the module doc).
    pub async fn register(&self) -> Result<Registration, SubscribeError> {
        let info: Info = self
            .call(reqwest::Method::GET, "/info", None::<&()>)
            .await?;
        let mut progress = self.inner.progress.lock().await;
        let replaced = progress
            .log_id
            .as_deref()
            .is_some_and(|known| known != info.log_id);
        let mut started_over = replaced;
        let mut start = match self.inner.config.applied {
            Some(applied) if !replaced => Start::After {
                after: applied.max(progress.applied),
            },
            _ => Start::Beginning,
        };
        let status = match self.put(start).await {
            Err(SubscribeError::Bus { status: 409, body })
                if body.error == "cursor_beyond_head" =>
            {
                started_over = true;
                start = Start::Beginning;
                self.put(start).await?
            }
            other => other?,
        };
        if started_over {
            self.inner.handler.on_rewind(0).await;
        }
        progress.registered = true;
        progress.generation = status.generation;
        progress.applied = status.cursor;
        progress.log_id = Some(info.log_id.clone());
        progress.target = status.head_seq;
        let caught_up = progress.applied >= progress.target;
        self.inner.caught_up.send_replace(caught_up);
        if !caught_up {
            self.watch_cursor(progress.target);
        }
        tracing::info!(subscription = %self.inner.config.name, after = status.cursor, generation = status.generation, "registered with the bus");
        Ok(Registration {
            log_id: info.log_id,
            head_seq: status.head_seq,
            after: status.cursor,
            generation: status.generation,
            started_over,
        })
    }

    /// The events at the head may not be ours (`types`), so the last one we apply can be
    /// below `target`: the bus's cursor, which moves past events that do not match, says
    /// when everything up to `target` is done. Polls it until then (or until caught up by
    /// a delivery, or this subscriber is dropped).
    fn watch_cursor(&self, target: u64) {
        let weak = Arc::downgrade(&self.inner);
        let path = format!("/subscriptions/{}", self.inner.config.name);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(CURSOR_POLL).await;
                let Some(inner) = weak.upgrade() else { return };
                if *inner.caught_up.borrow() {
                    return;
                }
                let me = Subscriber { inner };
                let status: Result<SubscriptionStatus, _> =
                    me.call(reqwest::Method::GET, &path, None::<&()>).await;
                if status.is_ok_and(|s| s.cursor >= target) {
                    me.inner.caught_up.send_replace(true);
                    return;
                }
            }
        });
    }

    async fn put(&self, start: Start) -> Result<SubscriptionStatus, SubscribeError> {
        let c = &self.inner.config;
        let mut spec = SubscriptionSpec::new(c.url.clone());
        spec.types.clone_from(&c.types);
        spec.batch = c.batch;
        spec.start = start;
        spec.reset = true;
        spec.secret = Some(self.inner.secret.clone());
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
    ) -> Result<R, SubscribeError> {
        let url = format!("{}{path}", self.inner.config.bus_url.trim_end_matches('/'));
        let mut request = self.inner.http.request(method, url);
        if let Some(body) = body {
            request = request.json(body);
        }
        match super::send(request, self.inner.config.token.as_deref()).await? {
            super::Reply::Ok(reply) => Ok(reply),
            super::Reply::Refused(status, body) => Err(SubscribeError::Bus { status, body }),
        }
    }
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = ErrorBody {
        error: code.into(),
        message: message.into(),
        extra: Default::default(),
    };
    (status, Json(body)).into_response()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    header(headers, name).and_then(|v| v.parse().ok())
}

fn verify(signer: &Signer, headers: &HeaderMap, body: &[u8]) -> bool {
    let (Some(id), Some(ts), Some(sig)) = (
        header(headers, "webhook-id"),
        header(headers, "webhook-timestamp").and_then(|t| t.parse::<i64>().ok()),
        header(headers, "webhook-signature"),
    ) else {
        return false;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    (now - ts).abs() <= SIGNATURE_TOLERANCE_SECS && signer.verify(id, ts, body, sig)
}

async fn deliver<H: Handler>(
    State(sub): State<Subscriber<H>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inner = &sub.inner;
    if !verify(&inner.signer, &headers, &body) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "the webhook signature does not verify",
        );
    }
    let events: Vec<Envelope> = match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => serde_json::from_slice(&body).unwrap_or_default(),
        _ => serde_json::from_slice(&body)
            .map(|e| vec![e])
            .unwrap_or_default(),
    };
    if events.is_empty() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_delivery",
            "the body holds no event envelope",
        );
    }
    let mut progress = inner.progress.lock().await;
    if !progress.registered {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_registered",
            "registration with the bus is not acknowledged yet",
        );
    }
    if header(&headers, "minibus-redelivery") == Some("dead-letter") {
        // An operator's retry of a parked event: apply it whatever was applied since; it
        // moves neither the checkpoint nor the generation.
        return match inner
            .handler
            .handle(events.into_iter().next().unwrap_or_else(|| unreachable!()))
            .await
        {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(HandlerError::Reject(m)) => {
                refuse(StatusCode::UNPROCESSABLE_ENTITY, "rejected", &m)
            }
            Err(HandlerError::Retry(m)) => refuse(StatusCode::SERVICE_UNAVAILABLE, "retry", &m),
        };
    }
    let generation = header_u64(&headers, "minibus-generation").unwrap_or(progress.generation);
    if generation < progress.generation {
        return refuse(
            StatusCode::CONFLICT,
            "stale_generation",
            "this delivery belongs to an older generation",
        );
    }
    let log_id = header(&headers, "minibus-log-id");
    if let (Some(new), Some(known)) = (log_id, progress.log_id.as_deref()) {
        if new != known {
            tracing::warn!(subscription = %inner.config.name, "the bus log was replaced: starting over");
            inner.handler.on_rewind(0).await;
            progress.applied = 0;
            progress.log_id = Some(new.into());
        }
    }
    if generation > progress.generation {
        let after = events[0].seq.saturating_sub(1);
        inner.handler.on_rewind(after).await;
        progress.generation = generation;
        progress.applied = after;
    }
    for event in events {
        if event.seq <= progress.applied {
            continue;
        }
        let seq = event.seq;
        match inner.handler.handle(event).await {
            Ok(()) => progress.applied = seq,
            Err(HandlerError::Reject(m)) => {
                return refuse(StatusCode::UNPROCESSABLE_ENTITY, "rejected", &m)
            }
            Err(HandlerError::Retry(m)) => {
                return refuse(StatusCode::SERVICE_UNAVAILABLE, "retry", &m)
            }
        }
    }
    if progress.applied >= progress.target {
        inner
            .caught_up
            .send_if_modified(|c| !std::mem::replace(c, true));
    }
    StatusCode::NO_CONTENT.into_response()
}
