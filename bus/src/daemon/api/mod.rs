//! The bus HTTP API: [`router`] builds it over an [`AppState`] (testable without a socket),
//! on the service kit: each handler carries its `#[utoipa::path]`, so the routes and
//! `/openapi.json` come from one list; `/healthz`, `/readyz`, the JSON 404 and 405 and the
//! errors ([`ApiError`]) are the kit's.
//!
//! # Layout
//!
//! ```text
//! publish.rs  POST /events: one event or an array, parsed straight from the body
//! read.rs     GET /events, /events/SEQ, /streams/NAME
//! body.rs     a JSON array streamed from the store chunk by chunk
//! query.rs    the read routes' query strings, parsed by hand
//! schemas.rs  what the document says that the derived schemas cannot
//! sse.rs      GET /events/stream: Server-Sent Events
//! subs.rs     /subscriptions/…
//! ops.rs      /info, /metrics
//! auth.rs     the bearer token: the check, and the scheme in the document
//! ```

mod auth;
mod body;
mod cloudevents;
mod ops;
mod publish;
mod query;
mod read;
mod schemas;
mod sse;
mod subs;

pub(crate) use crate::kit::ApiError;

use super::config::BusConfig;
use super::metrics::Metrics;
use super::store::EventLog;
use super::subs::Subscriptions;
use super::writer::WriterHandle;
use crate::kit::{api_router, service_router_with, Readiness};
use axum::extract::DefaultBodyLimit;
use axum::Router;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use utoipa::Modify;
use utoipa_axum::routes;

/// The document's title.
const TITLE: &str = "minibus bus";

/// The document's description.
const DESCRIPTION: &str = "The event bus: a durable log with gapless seqs, and push delivery \
    to HTTP subscribers. Every error is {\"error\", \"message\"}, with a 4xx for bad input. With \
    --token, every route but /healthz, /readyz and /metrics needs Authorization: Bearer <token>.";

/// What every handler shares: the log, the writer, the subscriptions, the metrics and the
/// settings of the running daemon. Built by [`run`](crate::daemon::run). Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    parts: Arc<AppParts>,
}

struct AppParts {
    log: Arc<dyn EventLog>,
    writer: WriterHandle,
    subs: Subscriptions,
    metrics: Metrics,
    config: BusConfig,
    /// Cancelled when the log cannot be written.
    fatal: CancellationToken,
    /// Cancelled when the daemon shuts down: ends live streams.
    closing: CancellationToken,
    /// `/readyz`: ready from the start, `503 storage_unavailable` once `fatal` is cancelled.
    readiness: Readiness,
}

impl AppState {
    /// The state over an open log and a running writer. `fatal` is cancelled when the log
    /// cannot be written; `closing` when the daemon shuts down (ends live streams).
    pub(crate) fn new(
        log: Arc<dyn EventLog>,
        writer: WriterHandle,
        subs: Subscriptions,
        metrics: Metrics,
        config: BusConfig,
        fatal: CancellationToken,
        closing: CancellationToken,
    ) -> Self {
        let readiness = Readiness::new().failed_when(fatal.clone(), "storage_unavailable");
        readiness.set_ready();
        Self {
            parts: Arc::new(AppParts {
                log,
                writer,
                subs,
                metrics,
                config,
                fatal,
                closing,
                readiness,
            }),
        }
    }

    /// Whether writing the log failed.
    pub(crate) fn failed(&self) -> bool {
        self.parts.fatal.is_cancelled()
    }

    fn log(&self) -> &Arc<dyn EventLog> {
        &self.parts.log
    }

    fn writer(&self) -> &WriterHandle {
        &self.parts.writer
    }

    /// The subscriptions, for their routes and `/info`.
    pub(crate) fn subscriptions(&self) -> &Subscriptions {
        &self.parts.subs
    }

    fn metrics(&self) -> &Metrics {
        &self.parts.metrics
    }

    fn config(&self) -> &BusConfig {
        &self.parts.config
    }

    /// Cancelled when the daemon shuts down: streams in progress end.
    fn closing(&self) -> &CancellationToken {
        &self.parts.closing
    }

    /// The last seq readers may see.
    fn durable_head(&self) -> u64 {
        *self.parts.writer.durable().borrow()
    }
}

/// The bus API over `app`: its routes, the kit's health and `/openapi.json` (generated
/// from the routes), and the token check when the bus has one.
pub fn router(app: AppState) -> Router {
    let max_body = app.config().max_body_bytes;
    let with_token = app.config().token.is_some();
    let routes = api_router(TITLE, env!("CARGO_PKG_VERSION"))
        .routes(routes!(read::list, publish::publish))
        .routes(routes!(sse::stream))
        .routes(routes!(read::one))
        .routes(routes!(read::stream))
        .routes(routes!(subs::list))
        .routes(routes!(subs::get, subs::put, subs::delete))
        .routes(routes!(subs::pause))
        .routes(routes!(subs::resume))
        .routes(routes!(subs::rewind))
        .routes(routes!(subs::skip))
        .routes(routes!(subs::dead_letters))
        .routes(routes!(subs::retry_all))
        .routes(routes!(subs::delete_dead_letter))
        .routes(routes!(subs::retry_one))
        .routes(routes!(ops::info))
        .routes(routes!(ops::metrics));
    let bearer = auth::BearerSecurity {
        required: with_token,
    };
    let routes = service_router_with(routes, app.parts.readiness.clone(), |document| {
        document.info.description = Some(DESCRIPTION.into());
        schemas::FieldRules.modify(document);
        bearer.modify(document);
    });
    // Without a token there is nothing to check: no layer, no cost per request.
    let routes = if with_token {
        routes.layer(axum::middleware::from_fn_with_state(
            app.clone(),
            auth::require_token,
        ))
    } else {
        routes
    };
    routes
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(app)
}
