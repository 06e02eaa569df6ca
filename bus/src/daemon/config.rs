//! `BusConfig`: every flag of `minibus bus`, each with its `MINIBUS_…` variable and its
//! default in one place (the `DEFAULT_…` constants, which clap and [`BusConfig::new`] both
//! use). The static subscriptions (`--subscribe`, `--subscriptions FILE`) are read and
//! checked in [`static_subscriptions`].

mod static_subscriptions;

pub(crate) use static_subscriptions::StaticSubscription;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;

/// When a publish is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// After the event is flushed to disk (fsync), shared by concurrent publishes.
    Fsync,
    /// Once applied, before the flush: a crash may lose acknowledged events and reuse
    /// their seqs. For throw-away data only.
    Os,
}

/// Configuration of the bus daemon.
#[derive(Debug, Clone, clap::Args)]
pub struct BusConfig {
    /// Address to listen on.
    #[arg(long, env = "MINIBUS_LISTEN", default_value_t = Self::DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// Directory of the event log (sled). Created if missing.
    #[arg(long, env = "MINIBUS_DATA_DIR", default_value = Self::DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,

    /// When a publish is acknowledged: `fsync` (on disk) or `os` (applied; unsafe).
    #[arg(long, env = "MINIBUS_DURABILITY", value_enum, default_value_t = Self::DEFAULT_DURABILITY)]
    pub durability: Durability,

    /// sled page cache, in MiB (1 to 1048576).
    #[arg(long, env = "MINIBUS_CACHE_MB", default_value_t = Self::DEFAULT_CACHE_MB,
          value_parser = clap::value_parser!(u64).range(Self::CACHE_MB_RANGE))]
    pub cache_mb: u64,

    /// Largest event, in bytes of JSON as sent (413 above).
    #[arg(long, env = "MINIBUS_MAX_EVENT_BYTES", default_value_t = Self::DEFAULT_MAX_EVENT_BYTES)]
    pub max_event_bytes: usize,

    /// Largest request body, in bytes (413 above).
    #[arg(long, env = "MINIBUS_MAX_BODY_BYTES", default_value_t = Self::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// Bearer token every route but /healthz, /readyz and /metrics requires: at least 16
    /// characters, no whitespace.
    #[arg(long, env = "MINIBUS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Allow listening on a non-loopback address without a token.
    #[arg(long, env = "MINIBUS_INSECURE", value_parser = crate::kit::BoolFlag)]
    pub insecure: bool,

    /// A static subscription, `NAME=URL` (all types, from the beginning), created or
    /// updated at each start and never deleted automatically. Repeatable.
    #[arg(
        long = "subscribe",
        env = "MINIBUS_SUBSCRIBE",
        value_delimiter = ',',
        value_name = "NAME=URL"
    )]
    pub subscribe: Vec<String>,

    /// A JSON file of static subscriptions: an object, name → the body of a
    /// `PUT /subscriptions/NAME` (every setting allowed), created or updated at each start
    /// as that PUT would (the cursor moves only with `reset`), never deleted
    /// automatically. A name may not also be given by --subscribe.
    #[arg(long, env = "MINIBUS_SUBSCRIPTIONS", value_name = "FILE")]
    pub subscriptions: Option<PathBuf>,

    /// Hosts subscription URLs may name (comma-separated, spaces around each ignored);
    /// empty allows any.
    #[arg(long, env = "MINIBUS_ALLOW_SUBSCRIBER_HOSTS", value_delimiter = ',',
          value_parser = subscriber_host)]
    pub allow_subscriber_hosts: Vec<String>,

    /// Microseconds a delivery loop keeps polling for the subscriber's answer before it
    /// sleeps until the answer wakes it (0 never polls; ignored on a single CPU). A quick
    /// answer is then taken without the thread wake-up, which costs as much as the
    /// exchange itself on a VM. A loop whose subscriber answers later stops polling for
    /// its next 16 deliveries.
    #[arg(long, env = "MINIBUS_DELIVERY_SPIN_US", default_value_t = Self::DEFAULT_DELIVERY_SPIN_US,
          value_parser = clap::value_parser!(u64).range(0..=1000))]
    pub delivery_spin_us: u64,
}

/// One host of `--allow-subscriber-hosts`, trimmed: a list in an environment variable is
/// often written `"a.example, b.example"`. An empty one is refused: it names no host, and
/// most likely a comma too many.
fn subscriber_host(entry: &str) -> Result<String, String> {
    match entry.trim() {
        "" => Err("an empty host name (two commas in a row, or one at an end?)".into()),
        host => Ok(host.to_string()),
    }
}

impl BusConfig {
    /// `--listen`: the bus's port in the course version of the blog, on loopback.
    pub const DEFAULT_LISTEN: SocketAddr =
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4005));
    /// `--data-dir`.
    pub const DEFAULT_DATA_DIR: &str = "./data/bus";
    /// `--durability`: acknowledge once on disk.
    pub const DEFAULT_DURABILITY: Durability = Durability::Fsync;
    /// `--cache-mb`: sled's page cache, the same default as every service's.
    pub const DEFAULT_CACHE_MB: u64 = crate::kit::DEFAULT_CACHE_MB;
    /// What `--cache-mb` takes, in MiB, here and in `bus import` and `bus check`: sled
    /// panics on a cache of 0, and a bound above any real machine's memory (1 TiB) catches
    /// a value given in bytes or KiB by mistake.
    pub const CACHE_MB_RANGE: std::ops::RangeInclusive<u64> = crate::kit::CACHE_MB_RANGE;
    /// `--max-event-bytes`: 1 MiB.
    pub const DEFAULT_MAX_EVENT_BYTES: usize = 1024 * 1024;
    /// `--max-body-bytes`: 16 MiB.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
    /// The shortest `--token`, in characters (the kit's token rule, services' too).
    pub const MIN_TOKEN_CHARS: usize = crate::kit::MIN_TOKEN_CHARS;
    /// `--delivery-spin-us`.
    pub const DEFAULT_DELIVERY_SPIN_US: u64 = 100;

    /// The defaults, with the log in `data_dir` and listening on `listen`.
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            listen,
            data_dir,
            durability: Self::DEFAULT_DURABILITY,
            cache_mb: Self::DEFAULT_CACHE_MB,
            max_event_bytes: Self::DEFAULT_MAX_EVENT_BYTES,
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            token: None,
            insecure: false,
            subscribe: Vec::new(),
            subscriptions: None,
            allow_subscriber_hosts: Vec::new(),
            delivery_spin_us: Self::DEFAULT_DELIVERY_SPIN_US,
        }
    }

    /// Refuses settings that are unsafe or make no sense, with a sentence saying why: the
    /// static subscriptions are read and checked here, so that a bad one stops the bus
    /// before it announces that it listens.
    pub fn check(&self, bound: SocketAddr) -> Result<(), String> {
        self.checked(bound).map(drop)
    }

    /// [`check`](Self::check), keeping the static subscriptions it read (`--subscribe`,
    /// `--subscriptions FILE`): the daemon upserts these, so that the file is read once,
    /// and what was checked is what is stored.
    pub(crate) fn checked(&self, bound: SocketAddr) -> Result<Vec<StaticSubscription>, String> {
        if !bound.ip().is_loopback() && self.token.is_none() && !self.insecure {
            return Err(format!(
                "refusing to listen on {bound} without a token: set --token (MINIBUS_TOKEN), \
                 or pass --insecure to accept unauthenticated publishers"
            ));
        }
        if let Some(token) = &self.token {
            crate::kit::check_token(token).map_err(|e| format!("--token (MINIBUS_TOKEN) {e}"))?;
        }
        if !Self::CACHE_MB_RANGE.contains(&self.cache_mb) {
            return Err(format!(
                "--cache-mb (MINIBUS_CACHE_MB) must be from {} to {} MiB, not {}",
                Self::CACHE_MB_RANGE.start(),
                Self::CACHE_MB_RANGE.end(),
                self.cache_mb
            ));
        }
        if self.max_event_bytes == 0 || self.max_body_bytes < self.max_event_bytes {
            return Err("--max-body-bytes must be at least --max-event-bytes (> 0)".into());
        }
        self.static_subscriptions()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BusConfig {
        BusConfig::new(BusConfig::DEFAULT_LISTEN, "unused".into())
    }

    /// A config built in code (not by clap, which refuses these first) is held to the same
    /// range: sled would panic on a cache of 0.
    #[test]
    fn a_cache_outside_its_range_is_refused() {
        for (cache_mb, taken) in [(0, false), (1, true), (1_048_576, true), (1_048_577, false)] {
            let mut config = config();
            config.cache_mb = cache_mb;
            let checked = config.check(BusConfig::DEFAULT_LISTEN);
            assert_eq!(checked.is_ok(), taken, "{cache_mb}: {checked:?}");
            if let Err(message) = checked {
                assert!(message.starts_with("--cache-mb"), "{message}");
            }
        }
    }

    #[derive(clap::Parser)]
    struct Flags {
        #[command(flatten)]
        config: BusConfig,
    }

    fn hosts(flag: &str) -> Result<Vec<String>, String> {
        use clap::Parser;
        Flags::try_parse_from(["bus", "--allow-subscriber-hosts", flag])
            .map(|flags| flags.config.allow_subscriber_hosts)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn allowed_subscriber_hosts_are_trimmed_and_an_empty_one_refused() {
        assert_eq!(
            hosts("a.example, b.example ,c").expect("valid"),
            ["a.example", "b.example", "c"]
        );
        for flag in ["a.example,,b.example", "a.example, ", " "] {
            let refused = hosts(flag).expect_err(flag);
            assert!(refused.contains("empty host name"), "{flag:?}: {refused}");
        }
    }
}
