//! The service kit (feature `kit`): what every minibus HTTP service shares, so that a
//! service's own code reads as its domain. It needs no sled and no daemon.
//!
//! A service built on it:
//!
//! ```text
//! config:  #[command(flatten)] service: ServiceArgs<Posts>      --listen, --data-dir, --bus-url…
//! routes:  service_router(api_router("posts", VERSION).routes(routes!(create)), readiness)
//! main:    init_tracing(); let shutdown = shutdown_on_signal();
//!          let listener = bind("posts", args.listen).await?;
//!          serve(listener, router.with_state(state), shutdown).await?;
//! ```
//!
//! A service depends on `utoipa`, `utoipa-axum` and `axum` itself: `routes!` names them.
//!
//! # Layout
//!
//! ```text
//! serve.rs      serve(listener, router, shutdown): TCP_NODELAY, graceful drain with a deadline,
//!               serve_until(.., stop, drain): steps at the start of shutdown; bind
//! signal.rs     shutdown_on_signal(): a CancellationToken cancelled by SIGINT or SIGTERM
//! telemetry.rs  init_tracing() (MINIBUS_LOG, stderr), init_test_tracing() (TEST_LOG)
//! error.rs      ApiError: {"error", "message"} for 4xx, a generic 500 with its cause logged
//! json.rs       Json: axum's extractor with its rejections answered as ApiError (400/413/415);
//!               BodyBytes: the raw body, for a handler that parses it itself
//! health.rs     Readiness (a flag the service raises, a failure that ends it), GET /healthz
//!               and GET /readyz
//! openapi.rs    api_router(), service_router(): routes, health and /openapi.json from one source;
//!               service_router_with(): the same, with the document edited (security…)
//! config.rs     ServiceArgs<S>: the flags every service takes; the advertise-URL rule
//! token.rs      check_token(): the one rule for a bearer token, the bus's and the services'
//! example.rs    (tests) a tiny service on the kit, and the tests that hold the kit to it
//! ```

mod config;
mod error;
#[cfg(all(test, feature = "testkit"))]
mod example;
mod health;
mod json;
mod openapi;
mod serve;
mod signal;
mod telemetry;
mod timeouts;
mod token;

pub use config::{
    advertise_url, ConfigError, ServiceArgs, ServiceDefaults, DEFAULT_BUS_URL, DEFAULT_CACHE_MB,
};
#[cfg(feature = "testkit")]
pub(crate) use error::NO_ROUTE;
pub use error::{quote, ApiError, MAX_MESSAGE_CHARS, QUOTE_CHARS};
pub use health::Readiness;
pub use json::{BodyBytes, Json};
pub use openapi::{api_router, service_router, service_router_with};
pub use serve::{bind, serve, serve_until, serve_with, BindError, Drain, DRAIN_TIMEOUT};
pub use signal::shutdown_on_signal;
pub use telemetry::{init_test_tracing, init_tracing};
pub use timeouts::{ConnectionTimeouts, BODY_PROGRESS_TIMEOUT, HEADER_READ_TIMEOUT};
pub use token::{check_token, TokenError, MIN_TOKEN_CHARS};
