//! `Subscription`: one subscription as its delivery loop and the API share it.
//!
//! Its [`Settings`] are replaced whole on every change, so a delivery uses one consistent
//! set from start to verdict. What only matters while the daemon runs (attempts, the last
//! error, `blocked`) is its [`DeliveryState`]. Every change of the stored settings goes
//! through [`Subscription::update_stored`], under one lock, so that no two undo each other.

use super::client::Destination;
use super::spec;
use super::store::{BlockedAfter, StoredSub, SubStore};
use super::SubError;
use crate::daemon::metrics::Metrics;
use crate::daemon::store::Filter;
use crate::signature::Signer;
use crate::wire::SubscriptionSpec;
use prometheus_client::metrics::counter::Counter;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// A subscription's stored settings with what each delivery derives from them, computed
/// once per change instead of once per delivery.
pub(crate) struct Settings {
    /// The settings as stored, with `paused` and `blocked`.
    pub(crate) stored: StoredSub,
    /// Where deliveries go, or why they cannot (a URL validated on PUT that this build
    /// cannot reach, or a stored one that no longer parses).
    pub(crate) destination: Result<Destination, String>,
    /// Signs each delivery, when the settings have a `secret`.
    pub(crate) signer: Option<Signer>,
    /// The events delivered (`types`).
    pub(crate) filter: Filter,
}

impl Settings {
    pub(super) fn new(stored: StoredSub) -> Self {
        let spec = &stored.spec;
        Self {
            destination: reqwest::Url::parse(&spec.url)
                .map_err(|e| format!("the stored url does not parse: {e}"))
                .and_then(|url| Destination::from_url(&url)),
            signer: spec
                .secret
                .as_deref()
                .and_then(|s| Signer::from_secret(s).ok()),
            filter: Filter {
                types: spec.types.clone(),
                stream: None,
            },
            stored,
        }
    }

    /// The settings as given on PUT.
    pub(crate) fn spec(&self) -> &SubscriptionSpec {
        &self.stored.spec
    }
}

/// What only matters while the daemon runs: the delivery's progress through failures.
#[derive(Debug, Default)]
pub(crate) struct DeliveryState {
    /// Failed attempts of the event at the cursor.
    pub(crate) attempts: u32,
    /// What the last failed attempt got (a status and the start of the answer, or the
    /// transport error): the status's `last_error`.
    pub(crate) last_error: Option<String>,
    /// The HTTP status of the last failed attempt, when an answer came: a dead letter's
    /// `last_status`, should an operator skip the event.
    pub(crate) last_status: Option<u16>,
    /// `max_attempts` reached with `on_exhausted: "block"`.
    pub(crate) blocked: bool,
    /// Why `--allow-subscriber-hosts` refuses the URL, as `last_error` shows it: blocked,
    /// delivering nothing, while it does (checked again before every delivery).
    pub(crate) refused_host: Option<String>,
    /// After a batch failed: send one event per request until past this seq.
    pub(crate) one_by_one_until: u64,
    /// Milliseconds since the epoch of the last acknowledged delivery.
    pub(crate) last_delivered_ms: Option<i64>,
    /// Raised by every clear (a rewind, reset, skip, resume or park): a failure verdict for
    /// a delivery sent before it is not recorded, and a loop reads its cursor again.
    pub(crate) epoch: u64,
}

impl DeliveryState {
    /// The failed attempts at the cursor, and what they got, forgotten (an acknowledgement
    /// or a clear).
    fn forget_failures(&mut self) {
        self.attempts = 0;
        self.last_error = None;
        self.last_status = None;
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One subscription, shared by its loop and the API.
pub(crate) struct Subscription {
    /// Its name, the key of every tree.
    pub(crate) name: String,
    /// Held by every read-modify-write of the stored settings (PUT, pause, resume, a 410,
    /// a block), so that none of them undoes another.
    settings_lock: Mutex<()>,
    settings: RwLock<Arc<Settings>>,
    /// `minibus_subscription_delivered`.
    pub(crate) delivered: Counter,
    /// `minibus_subscription_failures`.
    pub(crate) failures: Counter,
    state: Mutex<DeliveryState>,
    /// Wakes the loop after an operation changed something it waits on.
    pub(crate) wake: Notify,
    /// Dead letters to send again, ahead of the next event.
    redeliveries: Mutex<VecDeque<u64>>,
    /// Cancelled when the subscription is deleted or the daemon stops.
    pub(crate) cancel: CancellationToken,
}

impl Subscription {
    /// The handle of `stored`; one that was blocked before a restart is still blocked, with
    /// the error, the attempts and the status that blocked it.
    pub(crate) fn new(
        name: String,
        stored: StoredSub,
        metrics: &Metrics,
        cancel: CancellationToken,
    ) -> Self {
        let after = stored.blocked_after;
        let state = DeliveryState {
            blocked: stored.blocked.is_some(),
            last_error: stored.blocked.clone(),
            attempts: after.map_or(0, |after| after.attempts),
            last_status: after.and_then(|after| after.last_status),
            ..DeliveryState::default()
        };
        Self {
            delivered: metrics.sub_delivered(&name),
            failures: metrics.sub_failures(&name),
            name,
            settings_lock: Mutex::default(),
            settings: RwLock::new(Arc::new(Settings::new(stored))),
            state: Mutex::new(state),
            wake: Notify::new(),
            redeliveries: Mutex::default(),
            cancel,
        }
    }

    /// The settings as they are now: a snapshot that a PUT replaces whole, so a delivery
    /// in flight keeps the ones it started with.
    pub(crate) fn settings(&self) -> Arc<Settings> {
        self.settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The delivery state, locked (never across an `.await`).
    pub(crate) fn state(&self) -> MutexGuard<'_, DeliveryState> {
        lock(&self.state)
    }

    /// The next dead letter to send again, if any.
    pub(crate) fn next_redelivery(&self) -> Option<u64> {
        lock(&self.redeliveries).pop_front()
    }

    /// Queues dead letters to send again (each once) and wakes the loop.
    pub(crate) fn queue_redeliveries(&self, seqs: &[u64]) {
        let mut queue = lock(&self.redeliveries);
        for seq in seqs {
            if !queue.contains(seq) {
                queue.push_back(*seq);
            }
        }
        drop(queue);
        self.wake.notify_one();
    }

    /// Records an acknowledged delivery.
    pub(crate) fn acknowledged(&self) {
        let mut state = self.state();
        state.forget_failures();
        state.last_delivered_ms = Some(chrono::Utc::now().timestamp_millis());
    }

    /// Records a failed attempt of a delivery sent in `epoch` (`status`: the answer's, if
    /// one came); returns the attempts so far, or `None` if a clear happened since (the
    /// verdict is stale).
    pub(crate) fn failed(
        &self,
        epoch: u64,
        status: Option<u16>,
        error: &str,
        one_by_one_until: u64,
    ) -> Option<u32> {
        let mut state = self.state();
        if state.epoch != epoch {
            return None;
        }
        state.attempts += 1;
        state.last_error = Some(error.into());
        state.last_status = status;
        state.one_by_one_until = state.one_by_one_until.max(one_by_one_until);
        Some(state.attempts)
    }

    /// Checks the URL against `allow_hosts` (`--allow-subscriber-hosts`) and records the
    /// refusal, if any, in the delivery state (logged when it changes); whether it is
    /// allowed.
    pub(crate) fn check_host(&self, allow_hosts: &[String]) -> bool {
        if allow_hosts.is_empty() {
            // Every host allowed (the default): nothing to parse on the delivery path.
            return true;
        }
        let settings = self.settings();
        let refusal = reqwest::Url::parse(&settings.spec().url)
            .map_err(|e| e.to_string())
            .and_then(|url| spec::check_host(&url, allow_hosts))
            .err()
            .map(|reason| format!("delivery refused: {reason}"));
        let mut state = self.state();
        if state.refused_host != refusal {
            match &refusal {
                Some(error) => {
                    let url = super::url_credentials::redacted(&settings.spec().url);
                    tracing::warn!(subscription = %self.name, %url, %error, "subscription blocked");
                }
                None => tracing::info!(subscription = %self.name, "host allowed again"),
            }
        }
        state.refused_host = refusal;
        state.refused_host.is_none()
    }

    /// Stops in `blocked`, unless a clear happened since `epoch`; whether it did.
    pub(crate) fn block(&self, epoch: u64) -> bool {
        let mut state = self.state();
        state.blocked = state.epoch == epoch;
        state.blocked
    }

    /// Changes the stored settings under the settings lock. `change` edits a copy and
    /// says whether there is anything to store; `false` when the subscription was deleted
    /// meanwhile.
    pub(crate) fn update_stored(
        &self,
        store: &SubStore,
        change: impl FnOnce(&StoredSub) -> Option<StoredSub>,
    ) -> Result<bool, SubError> {
        let _settings = lock(&self.settings_lock);
        let Some(stored) = change(&self.settings().stored) else {
            return Ok(true);
        };
        if !store.save(&self.name, &stored, None)? {
            return Ok(false);
        }
        *self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(Settings::new(stored));
        Ok(true)
    }

    /// Replaces the settings given on PUT, keeping whether it is paused or blocked.
    pub(crate) fn replace_spec(
        &self,
        store: &SubStore,
        spec: SubscriptionSpec,
    ) -> Result<(), SubError> {
        let stored = self.update_stored(store, |stored| {
            Some(StoredSub {
                spec,
                ..stored.clone()
            })
        })?;
        if !stored {
            return Err(SubError::NotFound(self.name.clone()));
        }
        Ok(())
    }

    /// Clears retries and `blocked`, in memory and in the store (after a reset, rewind,
    /// resume, skip or park).
    pub(crate) fn clear(&self, store: &SubStore) -> Result<(), SubError> {
        {
            let mut state = self.state();
            state.forget_failures();
            state.blocked = false;
            state.one_by_one_until = 0;
            state.epoch += 1;
        }
        // Under the settings lock, so that a block being stored meanwhile is undone here.
        self.update_stored(store, |stored| {
            stored.blocked.is_some().then(|| StoredSub {
                blocked: None,
                blocked_after: None,
                ..stored.clone()
            })
        })?;
        Ok(())
    }

    /// Stores that delivery stopped in `blocked`, with its last error, attempts and status,
    /// unless a clear came first: `blocked` then survives a restart.
    pub(crate) fn store_block(&self, store: &SubStore) -> Result<(), SubError> {
        self.update_stored(store, |stored| {
            let state = self.state();
            state.blocked.then(|| StoredSub {
                blocked: Some(state.last_error.clone().unwrap_or_default()),
                blocked_after: Some(BlockedAfter {
                    attempts: state.attempts,
                    last_status: state.last_status,
                }),
                ..stored.clone()
            })
        })?;
        Ok(())
    }

    /// Stores the paused reason (`None` resumes) and wakes the loop.
    pub(crate) fn set_paused(
        &self,
        store: &SubStore,
        reason: Option<String>,
    ) -> Result<(), SubError> {
        let stored = self.update_stored(store, |stored| {
            Some(StoredSub {
                paused: reason,
                ..stored.clone()
            })
        })?;
        if !stored {
            return Err(SubError::NotFound(self.name.clone()));
        }
        self.wake.notify_one();
        Ok(())
    }
}
