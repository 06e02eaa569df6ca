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
//! config.rs     ServiceArgs<S>: the flags every service takes; the advertise-URL rule;
//!               WebServiceArgs<S>: those and --cors-origin, for a service a browser calls
//! flag.rs       BoolFlag: how every boolean flag reads its variable (1/yes/on/true…)
//! created.rs    Created: a write's 201 with its Minibus-Seq
//! cors.rs       CorsArgs: --cors-origin and the CORS layer of a service a browser calls
//! text.rs       TextRule: a free text's rule (trimmed, 1–N characters), its pattern, its 400
//! id.rs         new_hex_id(), is_hex_id(): the 16-hex ids of what a service creates
//! subscribing.rs  serve_while(): serving while registering; register_with_retry(),
//!               check_bus_token_with_retry() (a publishing service's start)
//! relaying.rs   (feature outbox) RelayTask: the outbox's relay beside serving
//! token.rs      check_token(): the one rule for a bearer token, the bus's and the services'
//! url.rs        (feature sdk) http_base_url(): the rule for --bus-url and the client's upstreams
//! example.rs    (tests) a tiny service on the kit, and the tests that hold the kit to it
//! ```

mod config;
mod cors;
mod created;
mod error;
#[cfg(all(test, feature = "testkit"))]
mod example;
mod flag;
mod health;
mod id;
mod json;
mod openapi;
#[cfg(feature = "outbox")]
mod relaying;
mod serve;
mod signal;
mod subscribing;
mod telemetry;
mod text;
mod timeouts;
mod token;
#[cfg(feature = "sdk")]
mod url;

pub use config::{
    advertise_url, ConfigError, ServiceArgs, ServiceDefaults, WebServiceArgs, CACHE_MB_RANGE,
    DEFAULT_BUS_URL, DEFAULT_CACHE_MB,
};
pub use cors::CorsArgs;
pub use created::Created;
#[cfg(feature = "testkit")]
pub(crate) use error::NO_ROUTE;
pub use error::{error_chain, quote, ApiError, MAX_MESSAGE_CHARS, QUOTE_CHARS};
pub use flag::BoolFlag;
pub use health::Readiness;
pub use id::{is_hex_id, new_hex_id, HEX_ID_PATTERN};
pub use json::{from_object, BodyBytes, Json};
pub use openapi::{api_router, service_router, service_router_with};
#[cfg(feature = "outbox")]
pub use relaying::RelayTask;
pub use serve::{bind, serve, serve_until, serve_with, BindError, Drain, DRAIN_TIMEOUT};
pub use signal::shutdown_on_signal;
#[cfg(feature = "sdk")]
pub use subscribing::{check_bus_token_with_retry, register_with_retry};
pub use subscribing::{serve_while, MAX_REGISTER_BACKOFF};
pub use telemetry::{init_test_tracing, init_tracing};
pub use text::{TextError, TextRule};
pub use timeouts::{ConnectionTimeouts, BODY_PROGRESS_TIMEOUT, HEADER_READ_TIMEOUT};
pub use token::{check_token, TokenError, MIN_TOKEN_CHARS};
/// The CORS layer [`CorsArgs::layer`] builds, for a service's `router(…)` signature.
pub use tower_http::cors::CorsLayer;
#[cfg(feature = "sdk")]
pub use url::http_base_url;
