//! The bus daemon (`minibus bus`): the event log, the writer, the subscriptions and the
//! HTTP API.
//!
//! [`run`] is the whole daemon ([`Daemon::open`] then [`Daemon::run`]): open the store (recovering the tail the last run may have
//! left half-done), start the writer threads and the subscriptions' delivery loops, serve
//! the API until `shutdown` is cancelled, then stop accepting, let the publishes in flight
//! finish, flush and close. Whatever way it returns, early error included, it has stopped
//! its threads and released the store's lock (unless connections outlived the drain).

mod api;
mod config;
mod metrics;
mod store;
mod subs;
mod writer;

/// What the benchmarks drive below the HTTP API: the store (`benches/store.rs`) and the
/// delivery loops' HTTP client (`minibus bench publish` loads the bus with it). Not an API:
/// it changes with the daemon.
#[doc(hidden)]
pub mod bench {
    pub use super::store::import::write::{
        insert_batches as import_insert_batches, BATCH as IMPORT_BATCH,
    };
    pub use super::store::{encode, EventLog, NewRecord, RecordFields, SledLog};
    pub use super::subs::client::{CallError, Connection, Destination, Response};
}

pub use api::{router, AppState};
pub use config::{BusConfig, Durability};
/// The offline tools over a stopped bus's store: `minibus bus import` and `minibus bus
/// check`, and the [`Progress`] they report.
pub use store::{check, import, Progress, Silent};

use std::net::SocketAddr;
use std::sync::Arc;
use store::{EventLog, SledLog, StoreError};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::kit::{serve_until, Drain, DRAIN_TIMEOUT};

/// Why the daemon stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// A setting was refused (a flag, or a static subscription's settings); the message
    /// says which and why.
    #[error("{0}")]
    Config(String),
    /// The store is one the bus refuses to open; the message names its dir and says what
    /// to do: it is in use (another bus, `bus import` or `bus check` holds its lock), an
    /// import into it did not finish, or it is another program's sled database.
    #[error("{0}")]
    StoreRefused(String),
    /// The event log could not be opened or recovered: the data dir is not usable, its
    /// data is damaged, or opening it panicked. The source says why (the display does not
    /// repeat it: the binary prints the chain).
    #[error("cannot open the event log in {dir}")]
    Store {
        /// The data dir the store is in.
        dir: String,
        /// What the store reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The subscriptions could not be started: their trees failed or hold what this
    /// version cannot read, or a static subscription could not be stored.
    #[error("{doing}")]
    Subscriptions {
        /// What failed (`cannot load the subscriptions`, `cannot store --subscribe …`).
        doing: String,
        /// What the subscriptions reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The system would not start one of the daemon's threads (out of threads or memory).
    #[error("cannot start the {name} thread")]
    Thread {
        /// The thread's name (`minibus-writer`, `minibus-flusher`, `minibus-delivery`).
        name: &'static str,
        /// Why spawning it failed.
        source: std::io::Error,
    },
    /// The log could not be written (disk full, I/O error) and the daemon stopped so that
    /// a restart recovers what is on disk.
    #[error("the event log could not be written; stopped (restart to recover)")]
    StorageFailed,
    /// The listener failed (accepting connections, or reading its address).
    #[error("serving HTTP")]
    Io(#[from] std::io::Error),
}

/// Runs the bus on `listener` until `shutdown` is cancelled (or the log cannot be written):
/// [`Daemon::open`], then [`Daemon::run`].
pub async fn run(
    listener: TcpListener,
    config: BusConfig,
    shutdown: CancellationToken,
) -> Result<(), DaemonError> {
    let daemon = Daemon::open(config, listener.local_addr()?).await?;
    daemon.run(listener, shutdown).await
}

/// A bus whose settings are checked and whose store is open, not serving yet. The two
/// steps let the binary announce that it listens only once the store is open: a bus that
/// cannot open its store must not look started to the scripts and tests that wait for it.
/// Dropped without [`Daemon::run`], it closes the store.
pub struct Daemon {
    config: BusConfig,
    /// The static subscriptions, read and checked with the config (the file once).
    statics: Vec<config::StaticSubscription>,
    log: Arc<dyn EventLog>,
    db: sled::Db,
}

impl Daemon {
    /// Checks `config` for a bus listening on `addr` and opens the store (recovering the
    /// tail the last run may have left half-done).
    pub async fn open(config: BusConfig, addr: SocketAddr) -> Result<Self, DaemonError> {
        let statics = config.checked(addr).map_err(DaemonError::Config)?;
        let (log, db) = open_log(&config).await?;
        Ok(Self {
            config,
            statics,
            log,
            db,
        })
    }

    /// Serves on `listener` until `shutdown` is cancelled (or the log cannot be written),
    /// then stops and closes the store.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), DaemonError> {
        let Self {
            config,
            statics,
            log,
            db,
        } = self;
        let store = Arc::downgrade(&log);
        let lock_file = config.data_dir.join("db");
        let stopped = serve(listener, config, statics, log, db, shutdown).await;
        // Connections that outlived the drain still hold the store: waiting is pointless.
        if stopped.as_ref().map_or(true, |s| s.drained) {
            closed(store).await;
            released(&lock_file).await;
        }
        if stopped?.storage_failed {
            return Err(DaemonError::StorageFailed);
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// How serving ended.
struct Stopped {
    /// Every connection closed within [`DRAIN_TIMEOUT`].
    drained: bool,
    /// The log could not be written.
    storage_failed: bool,
}

/// Starts the writer and the subscriptions over the open log, serves until `shutdown`
/// (or a storage failure), and stops them. On an early error they are stopped too: the
/// [`writer::Writer`] by its `Drop`, the subscriptions here.
async fn serve(
    listener: TcpListener,
    config: BusConfig,
    statics: Vec<config::StaticSubscription>,
    log: Arc<dyn EventLog>,
    db: sled::Db,
    shutdown: CancellationToken,
) -> Result<Stopped, DaemonError> {
    let metrics = metrics::Metrics::new();
    let fatal = CancellationToken::new();
    let writer = writer::Writer::start(
        log.clone(),
        config.durability,
        metrics.clone(),
        fatal.clone(),
    )
    .map_err(|e| match e {
        writer::StartError::Store(source) => store_error(&config, source),
        writer::StartError::Thread { name, source } => DaemonError::Thread { name, source },
    })?;
    let durable = writer.handle().durable();
    let subs = start_subscriptions(&config, &db, &log, durable, &metrics, fatal.clone())?;
    if let Err(refused) = put_static_subscriptions(statics, &subs) {
        subs.stop().await;
        return Err(refused);
    }
    drop(db);
    let closing = CancellationToken::new();
    let app = AppState::new(
        log,
        writer.handle(),
        subs.clone(),
        metrics,
        config,
        fatal.clone(),
        closing.clone(),
    );
    let served = serve_http(listener, app.clone(), shutdown, fatal, closing).await;
    subs.stop().await;
    writer.stop().await;
    let storage_failed = app.failed();
    Ok(Stopped {
        drained: served? == Drain::Complete,
        storage_failed,
    })
}

/// Serves the API until `shutdown` or `fatal`. As shutdown begins, the event streams end
/// and the deliveries begin to stop (those in flight get their grace period while the
/// server drains); then the connections get [`DRAIN_TIMEOUT`] to close.
async fn serve_http(
    listener: TcpListener,
    app: AppState,
    shutdown: CancellationToken,
    fatal: CancellationToken,
    closing: CancellationToken,
) -> std::io::Result<Drain> {
    let subs = app.subscriptions().clone();
    let stop = async move {
        tokio::select! {
            () = shutdown.cancelled() => tracing::info!("shutting down"),
            () = fatal.cancelled() => tracing::error!("storage failed; shutting down"),
        }
        closing.cancel();
        subs.begin_stop();
    };
    serve_until(listener, router(app), stop, DRAIN_TIMEOUT).await
}

/// Waits (at most [`DRAIN_TIMEOUT`]) until the last handle on the store is gone, so that
/// sled has flushed and released its lock when `run` returns: a connection task may still
/// hold the router for a moment after the server has returned, and a restart, even in the
/// same process, must be able to open the store.
async fn closed(store: std::sync::Weak<dyn EventLog>) {
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    while store.strong_count() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    if store.strong_count() > 0 {
        tracing::warn!("the store is still in use after shutdown");
    }
}

/// Waits (at most [`DRAIN_TIMEOUT`]) until sled's lock on `lock_file` is free. The last
/// handle can be gone while one of sled's IO threads still finishes a write it was handed
/// (holding the file), most often on a busy machine.
async fn released(lock_file: &std::path::Path) {
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    loop {
        let free = match std::fs::File::open(lock_file) {
            // Taken and dropped at once: the lock is free for the next opener.
            Ok(file) => file.try_lock().is_ok(),
            Err(_) => true,
        };
        if free {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(file = %lock_file.display(), "the store's lock is still held after shutdown");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Loads the stored subscriptions and starts their loops.
fn start_subscriptions(
    config: &BusConfig,
    db: &sled::Db,
    log: &Arc<dyn EventLog>,
    durable: tokio::sync::watch::Receiver<u64>,
    metrics: &metrics::Metrics,
    fatal: CancellationToken,
) -> Result<subs::Subscriptions, DaemonError> {
    subs::Subscriptions::start(
        db,
        log.clone(),
        durable,
        metrics.clone(),
        config.allow_subscriber_hosts.clone(),
        delivery_spin(config.delivery_spin_us),
        fatal,
    )
    .map_err(|e| match e {
        subs::SubError::Thread(source) => DaemonError::Thread {
            name: subs::DELIVERY_THREAD,
            source,
        },
        other => subscriptions_error("cannot load the subscriptions".into(), other),
    })
}

/// Creates or updates each static subscription (`--subscribe`, `--subscriptions FILE`) as
/// a PUT would: refused settings (or a `start` beyond the head) are a config error, a
/// failure to store them is not. [`BusConfig::checked`] read and checked them before the
/// store opened. A refusal returns before the loops are stopped: the caller stops them.
fn put_static_subscriptions(
    statics: Vec<config::StaticSubscription>,
    subs: &subs::Subscriptions,
) -> Result<(), DaemonError> {
    for sub in statics {
        subs.put(&sub.name, sub.spec).map_err(|e| match e {
            subs::SubError::Invalid(_) | subs::SubError::CursorBeyondHead { .. } => {
                DaemonError::Config(format!("{}: {e}", sub.origin))
            }
            other => subscriptions_error(format!("cannot store {}", sub.origin), other),
        })?;
    }
    Ok(())
}

fn subscriptions_error(doing: String, source: subs::SubError) -> DaemonError {
    DaemonError::Subscriptions {
        doing,
        source: Box::new(source),
    }
}

async fn open_log(config: &BusConfig) -> Result<(Arc<dyn EventLog>, sled::Db), DaemonError> {
    let dir = config.data_dir.clone();
    let cache_mb = config.cache_mb;
    let opened = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::Engine(e.into()))?;
        SledLog::open(&dir, cache_mb)
    })
    .await
    .map_err(|panicked| store_error(config, panicked))?;
    let (log, recovery) = opened.map_err(|e| open_error(config, e))?;
    tracing::info!(
        dir = %config.data_dir.display(),
        head = recovery.head,
        created = recovery.created,
        tail_checked = recovery.tail_checked,
        rebuilt = recovery.rebuilt,
        log_id = log.log_id(),
        "event log opened"
    );
    let db = log.db().clone();
    Ok((Arc::new(log), db))
}

/// Why the store in `config`'s data dir did not open: a refusal said in one sentence
/// (as `bus import` and `bus check` say it), or a failure with its cause.
fn open_error(config: &BusConfig, e: StoreError) -> DaemonError {
    match e {
        e if store::is_locked(&e) => DaemonError::StoreRefused(format!(
            "the store in {} is in use (is a bus running on it?): stop it first",
            config.data_dir.display()
        )),
        StoreError::ImportUnfinished { .. } | StoreError::NotABusStore(_) => {
            DaemonError::StoreRefused(e.to_string())
        }
        other => store_error(config, other),
    }
}

/// The store in `config`'s data dir could not be opened: `source` says why.
fn store_error(
    config: &BusConfig,
    source: impl std::error::Error + Send + Sync + 'static,
) -> DaemonError {
    DaemonError::Store {
        dir: config.data_dir.display().to_string(),
        source: Box::new(source),
    }
}

/// How long delivery loops poll for an answer: never on a single CPU, where polling would
/// only keep the subscriber from running.
fn delivery_spin(micros: u64) -> std::time::Duration {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if cpus < 2 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::from_micros(micros)
}

#[cfg(test)]
mod tests;
