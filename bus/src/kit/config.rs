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

    /// Refuses settings a service must not start with, before it binds: a `--bus-token`
    /// that breaks the token rule ([`check_token`]), the one the bus holds its own to.
    pub fn check(&self) -> Result<(), ConfigError> {
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
    /// A `--bus-token` that breaks the token rule ([`check_token`]).
    #[error("--bus-token (MINIBUS_TOKEN) {0}")]
    BusToken(#[source] TokenError),
    /// A `--cors-origin` that is not a valid origin ([`CorsArgs`](super::CorsArgs)).
    #[error("--cors-origin {0:?} is not a valid origin")]
    CorsOrigin(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, Command, FromArgMatches};

    #[derive(Debug, Clone, Copy)]
    struct Posts;
    impl ServiceDefaults for Posts {
        const NAME: &'static str = "posts";
        const LISTEN: &'static str = "127.0.0.1:4000";
        const DATA_DIR: &'static str = "./data/posts";
    }

    fn command() -> Command {
        ServiceArgs::<Posts>::augment_args(Command::new("posts"))
    }

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn the_flags_are_well_formed() {
        command().debug_assert();
    }

    #[test]
    fn every_flag_reads_its_minibus_variable() {
        let command = command();
        let env_of = |long: &str| {
            let arg = command.get_arguments().find(|a| a.get_long() == Some(long));
            let arg = arg.unwrap_or_else(|| panic!("no --{long}"));
            arg.get_env().and_then(|v| v.to_str()).map(String::from)
        };
        for (long, var) in [
            ("listen", "MINIBUS_LISTEN"),
            ("data-dir", "MINIBUS_DATA_DIR"),
            ("bus-url", "MINIBUS_BUS_URL"),
            ("bus-token", "MINIBUS_TOKEN"),
            ("advertise-url", "MINIBUS_ADVERTISE_URL"),
            ("cache-mb", "MINIBUS_CACHE_MB"),
        ] {
            assert_eq!(env_of(long).as_deref(), Some(var), "--{long}");
        }
        let token = command.get_arguments().find(|a| a.get_id() == "bus_token");
        assert!(
            token.is_some_and(clap::Arg::is_hide_env_values_set),
            "the token stays out of --help"
        );
    }

    #[test]
    fn the_defaults_are_the_services() {
        let command = command();
        let default_of = |id: &str| {
            let arg = command.get_arguments().find(|a| a.get_id() == id);
            let values = arg.map(clap::Arg::get_default_values).unwrap_or_default();
            values
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(default_of("listen"), ["127.0.0.1:4000"]);
        assert_eq!(default_of("data_dir"), ["./data/posts"]);
        assert_eq!(default_of("bus_url"), [DEFAULT_BUS_URL]);
        assert_eq!(default_of("cache_mb"), [DEFAULT_CACHE_MB.to_string()]);
    }

    #[test]
    fn flags_parse_into_the_struct() {
        let matches = command()
            .try_get_matches_from([
                "posts",
                "--listen",
                "0.0.0.0:4100",
                "--data-dir",
                "/tmp/p",
                "--bus-url",
                "http://bus:4005",
                "--bus-token",
                "t",
                "--advertise-url",
                "http://posts:4100/",
                "--cache-mb",
                "8",
            ])
            .expect("valid flags");
        let args = ServiceArgs::<Posts>::from_arg_matches(&matches).expect("the struct");
        assert_eq!(args.listen, addr("0.0.0.0:4100"));
        assert_eq!(args.data_dir, PathBuf::from("/tmp/p"));
        assert_eq!(args.bus_url, "http://bus:4005");
        assert_eq!(args.bus_token.as_deref(), Some("t"));
        assert_eq!(args.cache_mb, 8);
        assert_eq!(
            args.advertise_url(args.listen).expect("given"),
            "http://posts:4100"
        );
    }

    #[test]
    fn a_cache_of_0_mb_is_refused_at_parsing() {
        let parsed = |mb: &str| command().try_get_matches_from(["posts", "--cache-mb", mb]);
        for refused in ["0", "1048577"] {
            let error = parsed(refused).expect_err(refused);
            assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
            assert!(error.to_string().contains("--cache-mb"), "{error}");
        }
        for taken in ["1", "1048576"] {
            parsed(taken).expect(taken);
        }
    }

    #[test]
    fn the_advertise_url_defaults_to_the_address_bound() {
        let bound = addr("127.0.0.1:41234");
        assert_eq!(
            advertise_url(None, bound).expect("loopback"),
            "http://127.0.0.1:41234"
        );
        let v6 = addr("[::1]:4000");
        assert_eq!(
            advertise_url(None, v6).expect("loopback"),
            "http://[::1]:4000"
        );
    }

    #[test]
    fn every_interface_needs_an_advertise_url() {
        for bound in ["0.0.0.0:4000", "[::]:4000"] {
            let error = advertise_url(None, addr(bound)).expect_err(bound);
            assert!(
                matches!(error, ConfigError::AdvertiseUrlRequired(_)),
                "{error}"
            );
            assert!(error.to_string().contains("--advertise-url"), "{error}");
            let given = advertise_url(Some("https://posts.example"), addr(bound));
            assert_eq!(given.expect("given"), "https://posts.example");
        }
    }

    #[test]
    fn an_advertise_url_without_http_is_refused() {
        let error = advertise_url(Some("posts:4000"), addr("0.0.0.0:4000")).expect_err("no scheme");
        assert!(
            matches!(error, ConfigError::AdvertiseUrlScheme(_)),
            "{error}"
        );
    }

    /// `ServiceArgs` of posts from these command-line flags, checked as at start.
    fn started_with(flags: &[&str]) -> Result<ServiceArgs<Posts>, ConfigError> {
        let matches = command()
            .try_get_matches_from(std::iter::once("posts").chain(flags.iter().copied()))
            .expect("valid flags");
        let args = ServiceArgs::<Posts>::from_arg_matches(&matches).expect("the struct");
        args.check().map(|()| args)
    }

    #[test]
    fn a_service_refuses_to_start_with_a_weak_bus_token() {
        for (token, why) in crate::kit::token::tests::REFUSED {
            let error = started_with(&["--bus-token", token]).expect_err(token);
            assert!(
                matches!(error, ConfigError::BusToken(e) if e == why),
                "{token:?}: {error:?}"
            );
            let message = error.to_string();
            assert!(
                message.starts_with("--bus-token (MINIBUS_TOKEN) must"),
                "{message}"
            );
        }
        for token in crate::kit::token::tests::TAKEN {
            let args = started_with(&["--bus-token", token]).expect(token);
            assert_eq!(args.bus_token.as_deref(), Some(token));
        }
        started_with(&[]).expect("no token: the bus has none either");
    }

    #[test]
    fn a_web_service_takes_the_common_flags_and_cors_origin() {
        let command = WebServiceArgs::<Posts>::augment_args(Command::new("posts"));
        command.clone().debug_assert();
        let matches = command
            .try_get_matches_from(["posts", "--cors-origin", "http://a.test,http://b.test"])
            .expect("valid flags");
        let args = WebServiceArgs::<Posts>::from_arg_matches(&matches).expect("the struct");
        assert_eq!(args.cors.origins, ["http://a.test", "http://b.test"]);
        assert_eq!(args.service.listen, addr(Posts::LISTEN));
        assert_eq!(args.service.data_dir, PathBuf::from(Posts::DATA_DIR));
        let mut bad = WebServiceArgs::<Posts>::new(addr("127.0.0.1:0"), "d".into());
        bad.check().expect("the defaults");
        bad.cors.origins = vec!["http://a.test\n".into()];
        assert!(matches!(bad.check(), Err(ConfigError::CorsOrigin(_))));
    }

    #[test]
    fn new_takes_the_defaults_clap_takes() {
        let args = ServiceArgs::<Posts>::new(addr("127.0.0.1:0"), PathBuf::from("d"));
        assert_eq!(args.bus_url, DEFAULT_BUS_URL);
        assert_eq!(args.cache_mb, DEFAULT_CACHE_MB);
        assert_eq!(args.bus_token, None);
        assert_eq!(Posts::NAME, "posts");
    }
}
