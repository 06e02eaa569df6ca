//! The outbox's relay as a task beside a service's serving (feature `outbox`): posts and
//! comments publish their events this way.

use super::{ServiceArgs, ServiceDefaults};
use crate::sdk::Outbox;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The relay of a service's outbox, running until `shutdown` or [`stop`](Self::stop).
#[derive(Debug)]
pub struct RelayTask {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl RelayTask {
    /// Starts relaying `outbox` to the bus `service` names (`--bus-url`, `--bus-token`).
    pub fn start<S: ServiceDefaults>(
        outbox: &Outbox,
        service: &ServiceArgs<S>,
        shutdown: &CancellationToken,
    ) -> Self {
        let relay = outbox.relay(&service.bus_url, service.bus_token.clone());
        // Its own token, so that serving that ends by itself also stops the relay (and the
        // store can close), without cancelling the caller's token.
        let stop = shutdown.child_token();
        let task = tokio::spawn(relay.run(stop.clone()));
        Self { stop, task }
    }

    /// Stops relaying and waits for the task: it holds the store, which closes only then.
    pub async fn stop(self) {
        self.stop.cancel();
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the outbox relay ended abnormally");
        }
    }
}
