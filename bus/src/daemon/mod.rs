//! The bus daemon (`minibus bus`): the event log, the writer, and the HTTP API.
//!
//! [`run`] is the whole daemon: open the store (recovering the tail the last run may have
//! left half-done), start the writer thread, serve the API until `shutdown` is cancelled,
//! then stop accepting, let the publishes in flight finish, flush and close.

pub mod api;
pub mod config;
pub mod metrics;
pub mod store;
pub mod subs;
pub mod writer;

pub use api::{router, AppState};
pub use config::{BusConfig, Durability};

use std::sync::Arc;
use store::{EventLog, SledLog, StoreError};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long open connections may go on after shutdown begins.
pub const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why the daemon stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// A setting was refused; the message says which and why.
    #[error("{0}")]
    Config(String),
    /// The store could not be opened or recovered.
    #[error("cannot open the event log in {dir}: {source}")]
    Store {
        /// The data dir.
        dir: String,
        /// What went wrong.
        source: StoreError,
    },
    /// The log could not be written (disk full, I/O error) and the daemon stopped so that
    /// a restart recovers what is on disk.
    #[error("the event log could not be written; stopped (restart to recover)")]
    StorageFailed,
    /// The listener failed.
    #[error("serving HTTP: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs the bus on `listener` until `shutdown` is cancelled (or the log cannot be written).
pub async fn run(
    listener: TcpListener,
    config: BusConfig,
    shutdown: CancellationToken,
) -> Result<(), DaemonError> {
    config
        .check(listener.local_addr()?)
        .map_err(DaemonError::Config)?;
    let (log, db) = open_log(&config).await?;
    let lock_file = config.data_dir.join("db");
    let metrics = metrics::Metrics::new();
    let fatal = CancellationToken::new();
    let writer = writer::Writer::start(
        log.clone(),
        config.durability,
        metrics.clone(),
        fatal.clone(),
    )
    .map_err(|source| DaemonError::Store {
        dir: config.data_dir.display().to_string(),
        source,
    })?;
    let subs = start_subscriptions(&config, &db, &log, &writer, &metrics)?;
    drop(db);
    let store = Arc::downgrade(&log);
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
    let stopping = subs.clone();
    let drained = closing.clone();
    let stop = async move {
        tokio::select! {
            () = shutdown.cancelled() => tracing::info!("shutting down"),
            () = fatal.cancelled() => tracing::error!("storage failed; shutting down"),
        }
        closing.cancel();
        // Deliveries in flight get their grace period while the server drains.
        stopping.begin_stop();
    };
    // Small request/response exchanges: never let Nagle's algorithm hold a reply back.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let serve = axum::serve(listener, router(app.clone())).with_graceful_shutdown(stop);
    // Connections get DRAIN_TIMEOUT after shutdown begins; then they are dropped.
    let deadline = async move {
        drained.cancelled().await;
        tokio::time::sleep(DRAIN_TIMEOUT).await;
    };
    let drained = tokio::select! {
        served = std::future::IntoFuture::into_future(serve) => { served?; true }
        () = deadline => {
            tracing::warn!(timeout = ?DRAIN_TIMEOUT, "connections still open: no longer waiting for them");
            false
        }
    };
    subs.stop().await;
    writer.stop().await;
    let failed = app.failed();
    drop((app, subs));
    if drained {
        closed(store).await;
        released(&lock_file).await;
    }
    if failed {
        return Err(DaemonError::StorageFailed);
    }
    tracing::info!("stopped");
    Ok(())
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

fn start_subscriptions(
    config: &BusConfig,
    db: &sled::Db,
    log: &Arc<dyn EventLog>,
    writer: &writer::Writer,
    metrics: &metrics::Metrics,
) -> Result<subs::Subscriptions, DaemonError> {
    let subs = subs::Subscriptions::start(
        db,
        log.clone(),
        writer.handle().durable(),
        metrics.clone(),
        config.allow_subscriber_hosts.clone(),
        delivery_spin(config.delivery_spin_us),
    )
    .map_err(|e| DaemonError::Config(format!("cannot load the subscriptions: {e}")))?;
    for entry in &config.subscribe {
        let (name, url) = BusConfig::static_subscription(entry).map_err(DaemonError::Config)?;
        subs.put(name, crate::wire::SubscriptionSpec::new(url))
            .map_err(|e| DaemonError::Config(format!("--subscribe {entry}: {e}")))?;
    }
    Ok(subs)
}

async fn open_log(config: &BusConfig) -> Result<(Arc<dyn EventLog>, sled::Db), DaemonError> {
    let dir = config.data_dir.clone();
    let cache_mb = config.cache_mb;
    let opened = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::Engine(e.into()))?;
        SledLog::open(&dir, cache_mb)
    })
    .await
    .map_err(|e| DaemonError::Config(format!("opening the store panicked: {e}")))?;
    let (log, recovery) = opened.map_err(|source| DaemonError::Store {
        dir: config.data_dir.display().to_string(),
        source,
    })?;
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

/// How long delivery loops poll for an answer: never on a single CPU, where polling would
/// only keep the subscriber from running.
fn delivery_spin(micros: u64) -> std::time::Duration {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if cpus < 2 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::from_micros(micros)
}
