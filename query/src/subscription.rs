//! query's subscription: its settings (the three types, batches of 100, from the
//! checkpoint), and registration at start, retried while the bus cannot be reached, with
//! `/readyz` raised once the projection has caught up with the head seen then.

use crate::config::QueryArgs;
use crate::events::SUBSCRIBED_TYPES;
use crate::handler::Projector;
use crate::read_model::ReadModel;
use bus::kit::{error_chain, register_with_retry, Readiness};
use bus::sdk::{Error, Subscriber, SubscriberConfig};
use tokio_util::sync::CancellationToken;

/// The subscription's name on the bus unless `--subscription-name` says otherwise.
pub const SUBSCRIPTION: &str = "query";
/// Events per delivery.
pub const BATCH: u32 = 100;

/// Where a subscriber starts from: the stored checkpoint and its log, or nothing.
#[derive(Debug, Clone, Default)]
pub struct Checkpoint {
    /// The last seq applied, `None` without state (replay from the beginning).
    pub applied: Option<u64>,
    /// The log it belongs to.
    pub log_id: Option<String>,
}

/// The subscriber of query's subscription (as `args` name it, on their bus), delivering at
/// `base_url/events`.
pub fn subscriber(
    args: &QueryArgs,
    base_url: &str,
    from: Checkpoint,
    model: ReadModel,
) -> Subscriber<Projector> {
    let config = SubscriberConfig {
        bus_url: args.service.bus_url.clone(),
        token: args.service.bus_token.clone(),
        name: args.subscription_name.clone(),
        url: format!("{base_url}/events"),
        types: SUBSCRIBED_TYPES.map(String::from).to_vec(),
        batch: BATCH,
        applied: from.applied,
        log_id: from.log_id,
    };
    Subscriber::new(config, Projector::new(model))
}

/// Registers `subscriber` ([`register_with_retry`]: retried while the bus cannot be reached
/// or answers `5xx`, a `4xx` returned), until done or `stop`; then raises `readiness` once
/// caught up.
pub async fn register(
    subscriber: &Subscriber<Projector>,
    model: &ReadModel,
    readiness: &Readiness,
    stop: &CancellationToken,
) -> Result<(), Error> {
    let Some(registration) = register_with_retry(subscriber, stop).await? else {
        return Ok(());
    };
    if let Err(e) = model.remember_log_id(&registration.log_id).await {
        tracing::error!(error = %error_chain(&e), "cannot store the bus's log id");
    }
    let mut caught_up = subscriber.caught_up();
    let readiness = readiness.clone();
    tokio::spawn(async move {
        if caught_up.wait_for(|c| *c).await.is_ok() {
            tracing::info!("caught up with the bus: ready");
            readiness.set_ready();
        }
    });
    Ok(())
}
