//! The flags every service takes, each with its `MINIBUS_…` variable, and the rule for the
//! URL at which the bus reaches a service.

use super::token::{check_token, TokenError};
use super::CorsArgs;
use std::fmt;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Where a service finds the bus unless told otherwise (`--bus-url`).
pub const DEFAULT_BUS_URL: &str = "http://127.0.0.1:4005";

/// sled's page cache, in MiB, unless told otherwise (`--cache-mb`); the bus's default too.
///
/// 32, not DESIGN's 64: sled 0.34.7 keeps per-page metadata of every tree in memory and
/// counts its cache in on-disk bytes, so a bus with 1,000,000 events on streams peaked at
/// ~264 MB serving `GET /events` with 64, and at ~240 MB with 32, for the same publish and
/// read speed (docs/BENCHMARKS.md, "Where the memory goes").
pub const DEFAULT_CACHE_MB: u64 = 32;

/// The `--cache-mb` taken, the bus's too: sled panics on a cache under 256 bytes, so 0 is
/// refused at parsing; 1 TiB is far past any machine this runs on.
pub const CACHE_MB_RANGE: std::ops::RangeInclusive<u64> = 1..=1_048_576;

/// What differs between services in their common flags, written once per service on a
/// marker type:
///
/// ```
/// # use bus::kit::ServiceDefaults;
/// #[derive(Debug, Clone, Copy)]
/// pub struct Posts;
/// impl ServiceDefaults for Posts {
///     const NAME: &'static str = "posts";
///     const LISTEN: &'static str = "127.0.0.1:4000";
///     const DATA_DIR: &'static str = "./data/posts";
/// }
/// ```
pub trait ServiceDefaults: fmt::Debug + Clone + Send + Sync + 'static {
    /// The service's name, as in logs, errors and `minibus <name>`.
    const NAME: &'static str;
    /// The default of `--listen`: `127.0.0.1:<the service's port>`.
    const LISTEN: &'static str;
    /// The default of `--data-dir`: `./data/<name>`.
    const DATA_DIR: &'static str;
    /// Whether the bus delivers to it (a subscription at its advertised URL): then its
    /// `--advertise-url` is checked before it binds ([`ServiceArgs::check`]).
    const SUBSCRIBES: bool = false;
}

/// The flags every service takes; `#[command(flatten)]` it into the service's own clap
/// struct. `S` gives the defaults that differ between services.
#[derive(Debug, Clone, clap::Args)]
pub struct ServiceArgs<S: ServiceDefaults> {
    /// Address to listen on.
    #[arg(long, env = "MINIBUS_LISTEN", default_value = S::LISTEN)]
    pub listen: SocketAddr,

    /// Directory of the service's data. Created if missing.
    #[arg(long, env = "MINIBUS_DATA_DIR", default_value = S::DATA_DIR)]
    pub data_dir: PathBuf,

    /// Base URL of the event bus.
    #[arg(long, env = "MINIBUS_BUS_URL", default_value = DEFAULT_BUS_URL)]
    pub bus_url: String,

    /// Bearer token to send to the bus. Read from the same variable as the bus's own
    /// --token (DESIGN: services take the same token), so one setting secures a stack.
    #[arg(long, env = "MINIBUS_TOKEN", hide_env_values = true)]
    pub bus_token: Option<String>,

    /// Base URL at which the bus reaches this service [default: http:// + the address
    /// bound; required when listening on 0.0.0.0 or ::].
    #[arg(long, env = "MINIBUS_ADVERTISE_URL")]
    pub advertise_url: Option<String>,

    /// sled page cache, in MiB (1 to 1048576).
    #[arg(long, env = "MINIBUS_CACHE_MB", default_value_t = DEFAULT_CACHE_MB,
          value_parser = clap::value_parser!(u64).range(CACHE_MB_RANGE))]
    pub cache_mb: u64,

    #[arg(skip)]
    defaults: PhantomData<S>,
}

impl<S: ServiceDefaults> ServiceArgs<S> {
    /// The defaults, listening on `listen` with data in `data_dir` (for tests and for
    /// `minibus up`, which set both).
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            listen,
            data_dir,
            bus_url: DEFAULT_BUS_URL.into(),
            bus_token: None,
            advertise_url: None,
            cache_mb: DEFAULT_CACHE_MB,
            defaults: PhantomData,
        }
    }

    /// Refuses settings a service must not start with, before it binds: a `--bus-url` it
    /// cannot call (`http_base_url`, feature `sdk`), a `--bus-token` that breaks the token
    /// rule ([`check_token`]), the one the bus holds its own to, and for a service the bus
    /// delivers to ([`ServiceDefaults::SUBSCRIBES`]) an advertise URL it cannot have (see
    /// [`advertise_url`]: every interface without `--advertise-url`).
    pub fn check(&self) -> Result<(), ConfigError> {
        #[cfg(feature = "sdk")]
        super::http_base_url("bus-url", &self.bus_url)?;
        if S::SUBSCRIBES {
            self.advertise_url(self.listen)?;
        }
        match &self.bus_token {
            Some(token) => check_token(token).map_err(ConfigError::BusToken),
            None => Ok(()),
        }
    }

    /// The base URL at which the bus reaches this service, once it has bound `bound`: see
    /// [`advertise_url`].
    pub fn advertise_url(&self, bound: SocketAddr) -> Result<String, ConfigError> {
        advertise_url(self.advertise_url.as_deref(), bound)
    }
}

/// The flags of a service a browser calls (posts, comments): [`ServiceArgs`] and
/// [`CorsArgs`]' `--cors-origin`.
#[derive(Debug, Clone, clap::Args)]
pub struct WebServiceArgs<S: ServiceDefaults> {
    /// The flags every service takes.
    #[command(flatten)]
    pub service: ServiceArgs<S>,

    /// `--cors-origin`.
    #[command(flatten)]
    pub cors: CorsArgs,
}

impl<S: ServiceDefaults> WebServiceArgs<S> {
    /// The defaults (any origin), listening on `listen` with data in `data_dir` (tests,
    /// `minibus up`).
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            service: ServiceArgs::new(listen, data_dir),
            cors: CorsArgs::any(),
        }
    }

    /// Refuses settings the service must not start with (`--bus-token`, `--cors-origin`),
    /// before it binds.
    pub fn check(&self) -> Result<(), ConfigError> {
        self.service.check()?;
        self.cors.check()
    }
}

/// The base URL at which the bus reaches a service (DESIGN, "Services"): `given`
/// (`--advertise-url`) without a trailing `/`, or else `http://` + the address actually
/// bound (so a service on port 0 advertises its real port). An address of every interface
/// (0.0.0.0, ::) says nothing about how the bus reaches it: there `given` is required.
pub fn advertise_url(given: Option<&str>, bound: SocketAddr) -> Result<String, ConfigError> {
    match given {
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            Ok(url.trim_end_matches('/').to_string())
        }
        Some(url) => Err(ConfigError::AdvertiseUrlScheme(url.into())),
        None if bound.ip().is_unspecified() => Err(ConfigError::AdvertiseUrlRequired(bound)),
        None => Ok(format!("http://{bound}")),
    }
}

/// A service setting that was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Listening on every interface without `--advertise-url`.
    #[error(
        "listening on {0} (every interface): set --advertise-url (MINIBUS_ADVERTISE_URL) to the \
         URL at which the bus reaches this service"
    )]
    AdvertiseUrlRequired(SocketAddr),
    /// An `--advertise-url` that is not `http://…` or `https://…`.
    #[error("--advertise-url must start with http:// or https://, not {0:?}")]
    AdvertiseUrlScheme(String),
    /// A `--bus-token` that breaks the token rule ([`check_token`]). The rule is part of
    /// this message, not a cause after it: printed with its causes, it is said once.
    #[error("--bus-token (MINIBUS_TOKEN) {0}")]
    BusToken(TokenError),
    /// A base URL to call that is not `http://host…` (`http_base_url`).
    #[error("--{flag} {url:?} is not an http:// URL")]
    NotHttpUrl {
        /// The flag that gave it, without its dashes (`bus-url`).
        flag: &'static str,
        /// The URL given.
        url: String,
    },
    /// A `--cors-origin` that is not a valid origin ([`CorsArgs`](super::CorsArgs)).
    #[error("--cors-origin {0:?} is not a valid origin")]
    CorsOrigin(String),
}

#[cfg(test)]
mod tests;
