//! `Backend`: what the registry and every delivery loop work against.

use super::store::SubStore;
use crate::daemon::metrics::Metrics;
use crate::daemon::store::EventLog;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The event log, the subscription trees, the durable head, the metrics, and the daemon's
/// delivery settings: one per registry, shared by it and every loop.
pub(crate) struct Backend {
    /// The events delivered. A loop reads it only on the delivery pool, never on the
    /// loops' thread (see `DeliveryThread`).
    pub(crate) log: Arc<dyn EventLog>,
    /// Settings, cursors and dead letters.
    pub(crate) store: SubStore,
    /// The log's id, sent with every delivery (`Minibus-Log-Id`).
    pub(crate) log_id: String,
    /// Where per-subscription counters and lag gauges are registered.
    pub(crate) metrics: Metrics,
    /// The durable head: nothing past it is delivered, counted or skipped.
    pub(crate) durable: watch::Receiver<u64>,
    /// How long a loop polls for an answer before it sleeps (`--delivery-spin-us`).
    pub(crate) spin: Duration,
    /// The hosts subscription URLs may name (`--allow-subscriber-hosts`; empty: any).
    pub(crate) allow_hosts: Vec<String>,
    /// Cancelled when a flush of the store fails, which stops the daemon: a loop that
    /// flushes (`delivery: "at_most_once"`) reports a failed `fdatasync` here, for the
    /// writer's next sync on the same file might not see the error again.
    pub(crate) fatal: CancellationToken,
}

impl Backend {
    /// The durable head now.
    pub(crate) fn head(&self) -> u64 {
        *self.durable.borrow()
    }
}
