//! The bus HTTP API: [`router`] builds it over an [`AppState`] (testable without a socket).

mod auth;
mod body;
mod error;
mod ops;
mod publish;
mod query;
mod read;
mod sse;
mod subs;

pub(crate) use error::ApiError;

use super::config::BusConfig;
use super::metrics::Metrics;
use super::store::EventLog;
use super::subs::Subscriptions;
use super::writer::WriterHandle;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

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
        Self {
            parts: Arc::new(AppParts {
                log,
                writer,
                subs,
                metrics,
                config,
                fatal,
                closing,
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

/// The bus API over `app`.
pub fn router(app: AppState) -> Router {
    let max_body = app.config().max_body_bytes;
    let with_token = app.config().token.is_some();
    let routes = Router::new()
        .route("/events", get(read::list).post(publish::publish))
        .route("/events/stream", get(sse::stream))
        .route("/events/{seq}", get(read::one))
        .route("/streams/{name}", get(read::stream))
        .route("/subscriptions", get(subs::list))
        .route(
            "/subscriptions/{name}",
            get(subs::get).put(subs::put).delete(subs::delete),
        )
        .route("/subscriptions/{name}/pause", post(subs::pause))
        .route("/subscriptions/{name}/resume", post(subs::resume))
        .route("/subscriptions/{name}/rewind", post(subs::rewind))
        .route("/subscriptions/{name}/skip", post(subs::skip))
        .route(
            "/subscriptions/{name}/dead-letters",
            get(subs::dead_letters),
        )
        .route(
            "/subscriptions/{name}/dead-letters/retry",
            post(subs::retry_all),
        )
        .route(
            "/subscriptions/{name}/dead-letters/{seq}",
            axum::routing::delete(subs::delete_dead_letter),
        )
        .route(
            "/subscriptions/{name}/dead-letters/{seq}/retry",
            post(subs::retry_one),
        )
        .route("/info", get(ops::info))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .fallback(ops::not_found)
        .method_not_allowed_fallback(ops::method_not_allowed);
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
        .layer(TraceLayer::new_for_http())
        .with_state(app)
}
