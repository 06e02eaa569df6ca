//! `Subscriptions`: the registry of subscriptions, each with its running loop: loading
//! them at start, creating, updating and deleting them, and stopping every loop.

use super::backend::Backend;
use super::deliverer::Deliverer;
use super::delivery_thread::{DeliveryThread, LOOP_THREAD, READ_THREAD};
use super::spec;
use super::store::{StoredCursor, StoredSub, SubStore, OUTCOME_UNKNOWN};
use super::url_credentials;
use super::{SubError, Subscription};
use crate::daemon::metrics::Metrics;
use crate::daemon::store::EventLog;
use crate::wire::{Start, StartWord, SubscriptionSpec, SubscriptionStatus};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A subscription in the registry, with its loop.
struct RegistryEntry {
    subscription: Arc<Subscription>,
    task: JoinHandle<()>,
}

/// The registry of subscriptions. Cheap to clone; the last clone dropped stops every loop
/// (a clean shutdown calls [`Subscriptions::stop`] first).
#[derive(Clone)]
pub(crate) struct Subscriptions {
    pub(super) backend: Arc<Backend>,
    /// Name → subscription. Held from check to insert by a create and by a delete, so
    /// that there is one loop per name.
    registry: Arc<Mutex<HashMap<String, RegistryEntry>>>,
    delivery: Arc<DeliveryThread>,
}

impl Subscriptions {
    /// Loads every stored subscription and starts its loop; `fatal` is cancelled if a
    /// loop's flush of the store fails.
    pub(crate) fn start(
        db: &sled::Db,
        log: Arc<dyn EventLog>,
        durable: watch::Receiver<u64>,
        metrics: Metrics,
        allow_hosts: Vec<String>,
        spin: std::time::Duration,
        fatal: tokio_util::sync::CancellationToken,
    ) -> Result<Self, SubError> {
        let backend = Backend {
            log_id: log.log_id().to_string(),
            store: SubStore::open(db)?,
            log,
            metrics,
            durable,
            spin,
            allow_hosts,
            fatal,
        };
        let delivery = DeliveryThread::start(LOOP_THREAD, READ_THREAD).map_err(SubError::Thread)?;
        Self::open(backend, delivery)
    }

    /// The registry over `backend`, its loops on `delivery`.
    pub(super) fn open(backend: Backend, delivery: DeliveryThread) -> Result<Self, SubError> {
        let subs = Self {
            backend: Arc::new(backend),
            registry: Arc::default(),
            delivery: Arc::new(delivery),
        };
        subs.load()?;
        Ok(subs)
    }

    /// Starts the loop of every stored subscription.
    fn load(&self) -> Result<(), SubError> {
        let mut registry = self.registry();
        let head = self.backend.head();
        for (name, stored, cursor) in self.backend.store.all()? {
            if cursor.after > head {
                // Only after a crash with `--durability os`, which may lose acknowledged
                // events: deliver the seqs that will be reused.
                tracing::warn!(subscription = %name, cursor = cursor.after, head, "cursor beyond the head: moved back to the head");
                let back = StoredCursor {
                    generation: cursor.generation + 1,
                    after: head,
                    ..cursor
                };
                self.backend.store.swap_cursor(&name, cursor, back)?;
            }
            // `delivery: "at_most_once"`: sent before the bus stopped, never answered.
            let unknown = self.backend.store.park_in_flight(&name)?;
            if !unknown.is_empty() {
                tracing::warn!(subscription = %name, seqs = ?unknown, "events in flight when the bus stopped parked as {OUTCOME_UNKNOWN}");
            }
            self.spawn(&mut registry, name, stored);
        }
        Ok(())
    }

    fn registry(&self) -> MutexGuard<'_, HashMap<String, RegistryEntry>> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts the loop of `name` and registers it (the caller holds the registry's lock).
    fn spawn(
        &self,
        registry: &mut HashMap<String, RegistryEntry>,
        name: String,
        stored: StoredSub,
    ) {
        let subscription = Arc::new(Subscription::new(
            name.clone(),
            stored,
            &self.backend.metrics,
            self.delivery.loop_token(),
        ));
        // At start: a stored subscription the allowlist no longer allows is blocked before
        // its loop runs (which checks again before every delivery).
        subscription.check_host(&self.backend.allow_hosts);
        let deliverer = Deliverer::new(subscription.clone(), self.backend.clone());
        let task = self.delivery.spawn(deliverer.run());
        registry.insert(name, RegistryEntry { subscription, task });
    }

    /// The subscription called `name`.
    pub(super) fn subscription(&self, name: &str) -> Result<Arc<Subscription>, SubError> {
        self.registry()
            .get(name)
            .map(|r| r.subscription.clone())
            .ok_or_else(|| SubError::NotFound(name.into()))
    }

    /// The names of every subscription, sorted.
    pub(super) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.registry().keys().cloned().collect();
        names.sort();
        names
    }

    /// How many subscriptions exist.
    pub(crate) fn count(&self) -> u64 {
        self.registry().len() as u64
    }

    /// The cursor `start` means now.
    fn start_cursor(&self, start: Start) -> Result<u64, SubError> {
        let head = self.backend.head();
        match start {
            Start::Word(StartWord::Beginning) => Ok(0),
            Start::Word(StartWord::End) => Ok(head),
            Start::After { after } if after > head => {
                Err(SubError::CursorBeyondHead { after, head })
            }
            Start::After { after } => Ok(after),
        }
    }

    /// Checks a subscription's name and settings as `PUT /subscriptions/NAME` does
    /// (`allow_hosts`: `--allow-subscriber-hosts`), before anything is stored: also what
    /// the static subscriptions are checked with before the bus starts.
    pub(crate) fn check_spec(
        name: &str,
        spec: &SubscriptionSpec,
        allow_hosts: &[String],
    ) -> Result<(), String> {
        spec::check_name(name)?;
        spec::check(spec, allow_hosts)
    }

    /// `PUT /subscriptions/NAME`: creates (`true`) or replaces the settings (`false`). A
    /// URL whose password is `***` keeps the stored one (see [`url_credentials`]).
    pub(crate) fn put(
        &self,
        name: &str,
        mut spec: SubscriptionSpec,
    ) -> Result<(SubscriptionStatus, bool), SubError> {
        let stored_url = self
            .subscription(name)
            .ok()
            .map(|s| s.settings().spec().url.clone());
        spec.url = url_credentials::with_stored_password(&spec.url, stored_url.as_deref())
            .map_err(SubError::Invalid)?;
        Self::check_spec(name, &spec, &self.backend.allow_hosts).map_err(SubError::Invalid)?;
        let reset = std::mem::take(&mut spec.reset);
        // Creation holds the registry's lock from the check to the insert, so that two
        // PUTs racing to create one subscription cannot start two loops.
        let mut registry = self.registry();
        let Some(existing) = registry.get(name).map(|r| r.subscription.clone()) else {
            self.create(&mut registry, name, spec)?;
            drop(registry);
            return Ok((self.status(name)?, true));
        };
        drop(registry);
        let after = reset.then(|| self.start_cursor(spec.start)).transpose()?;
        existing.replace_spec(&self.backend.store, spec)?;
        existing.check_host(&self.backend.allow_hosts);
        match after {
            Some(after) => {
                self.move_cursor(&existing, after)?;
            }
            None => existing.wake.notify_one(),
        }
        Ok((self.status(name)?, false))
    }

    /// Stores a new subscription and starts its loop (the caller holds the registry's lock).
    fn create(
        &self,
        registry: &mut HashMap<String, RegistryEntry>,
        name: &str,
        spec: SubscriptionSpec,
    ) -> Result<(), SubError> {
        let cursor = StoredCursor {
            generation: self.backend.store.first_generation(name)?,
            after: self.start_cursor(spec.start)?,
            delivered: 0,
        };
        let stored = StoredSub {
            spec,
            paused: None,
            blocked: None,
            blocked_after: None,
        };
        self.backend.store.save(name, &stored, Some(cursor))?;
        self.spawn(registry, name.into(), stored);
        tracing::info!(
            subscription = name,
            cursor = cursor.after,
            "subscription created"
        );
        Ok(())
    }

    /// `DELETE /subscriptions/NAME`.
    pub(crate) fn delete(&self, name: &str) -> Result<(), SubError> {
        // Under the registry's lock, so that a PUT creating it again waits for this.
        let mut registry = self.registry();
        let registration = registry
            .remove(name)
            .ok_or_else(|| SubError::NotFound(name.into()))?;
        registration.subscription.cancel.cancel();
        self.backend.store.delete(name)?;
        drop(registry);
        self.backend.metrics.forget_subscription(name);
        tracing::info!(subscription = name, "subscription deleted");
        Ok(())
    }

    /// Tells every loop to stop (a delivery in flight gets a second).
    pub(crate) fn begin_stop(&self) {
        self.delivery.begin_stop();
    }

    /// Stops every loop, waits for them, then ends the delivery thread.
    pub(crate) async fn stop(&self) {
        self.delivery.begin_stop();
        let tasks: Vec<JoinHandle<()>> = self.registry().drain().map(|(_, r)| r.task).collect();
        for task in tasks {
            let _ = task.await;
        }
        self.delivery.end().await;
    }
}
