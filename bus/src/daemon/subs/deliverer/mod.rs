//! `Deliverer`: one loop per subscription, pushing events in seq order.
//!
//! The loop repeats one step, [`Deliverer::deliver_once`], which tests can drive directly:
//! take the matching events after the cursor up to the durable head, POST them, and act on
//! the subscriber's verdict (2xx: store the cursor by compare-and-swap; 422: park; 410:
//! pause; anything else: retry with backoff). With `delivery: "at_most_once"` the cursor
//! is made durable before the request goes out and a failure parks at once
//! (`at_most_once.rs`). Between steps the loop waits for a raise of
//! the durable head, a control operation, a backoff timer, or shutdown: never a polling
//! delay.
//!
//! Every loop runs on the one delivery thread, so a loop never reads the store there: its
//! reads go to the delivery runtime's blocking pool (`DeliveryThread`), each fetching the
//! events of many requests ([`ReadAhead`]), and the cursor it wrote last is reused until a
//! clear (which follows every move by an operator) says to read it again.

mod at_most_once;
mod failure_log;
mod send;
mod settle;

use super::backend::Backend;
use super::client::Connection;
use super::read_ahead::{ReadAhead, Request, READ_AHEAD_EVENTS};
use super::store::StoredCursor;
use super::subscription::Settings;
use super::{SubError, Subscription};
use crate::wire::Delivery;
use failure_log::FailureLog;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Events examined per read when few match `types`.
const SCAN_BUDGET: usize = 10_000;
/// How long the loop waits after a step failed inside the bus (the store).
const STEP_ERROR_DELAY: Duration = Duration::from_secs(1);

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The subscriber acknowledged events; the cursor is now `up_to`.
    Delivered {
        /// The cursor after the step.
        up_to: u64,
    },
    /// No event after the cursor up to `up_to` matches `types`: the cursor moved there
    /// without a request.
    Passed {
        /// The cursor after the step.
        up_to: u64,
    },
    /// The event `seq` was parked in the dead letters (a 422, or retries exhausted) and
    /// the cursor moved past it.
    Parked {
        /// The seq of the parked event, now a dead letter.
        seq: u64,
    },
    /// A batch was rejected (422): its events go again, one per request.
    Split,
    /// A dead letter was sent again; its answer is recorded in it (removed on a 2xx).
    Redelivered {
        /// The dead letter's seq.
        seq: u64,
    },
    /// An operator moved the cursor, cleared the retries or removed the dead letter while
    /// this step ran: what it did was thrown away.
    Superseded,
    /// Caught up with the durable head.
    NothingPending,
    /// The delivery failed; the next attempt is due at `retry_at`.
    Failed {
        /// When to try again.
        retry_at: Instant,
    },
    /// Paused or blocked: wait for an operator.
    Idle,
    /// Deleted, or shutting down.
    Stopped,
}

/// The loop of one subscription.
pub(crate) struct Deliverer {
    subscription: Arc<Subscription>,
    backend: Arc<Backend>,
    durable: watch::Receiver<u64>,
    /// The keep-alive connection to the subscriber.
    connection: Connection,
    /// Deliveries left that do not poll for the answer (after one that came too late).
    spin_skip: u32,
    /// The delivery state's epoch when this step began: a failure verdict counts only if
    /// no clear happened since.
    epoch: u64,
    /// The stored cursor as this loop last read or wrote it, and the epoch it holds in.
    known: Option<(StoredCursor, u64)>,
    ahead: ReadAhead,
    /// Which failures to log at WARN.
    failure_log: FailureLog,
}

impl Deliverer {
    /// The loop of `subscription`, not started.
    pub(crate) fn new(subscription: Arc<Subscription>, backend: Arc<Backend>) -> Self {
        Self {
            durable: backend.durable.clone(),
            subscription,
            backend,
            connection: Connection::default(),
            spin_skip: 0,
            epoch: 0,
            known: None,
            ahead: ReadAhead::default(),
            failure_log: FailureLog::default(),
        }
    }

    /// Runs until the subscription is deleted or the daemon shuts down.
    pub(crate) async fn run(mut self) {
        loop {
            let step = match self.deliver_once().await {
                Ok(step) => step,
                Err(error) => {
                    let error: &(dyn std::error::Error + 'static) = &error;
                    tracing::error!(subscription = %self.subscription.name, error, "delivery step failed");
                    self.forget();
                    Step::Failed {
                        retry_at: Instant::now() + STEP_ERROR_DELAY,
                    }
                }
            };
            if !self.wait_after(step).await {
                break;
            }
        }
        tracing::debug!(subscription = %self.subscription.name, "delivery loop stopped");
    }

    /// Waits for what the next step needs after `step`; `false` when the loop ends.
    async fn wait_after(&mut self, step: Step) -> bool {
        let subscription = &self.subscription;
        match step {
            Step::NothingPending => tokio::select! {
                changed = self.durable.changed() => changed.is_ok(),
                () = subscription.wake.notified() => true,
                () = subscription.cancel.cancelled() => false,
            },
            Step::Failed { retry_at } => tokio::select! {
                () = tokio::time::sleep_until(retry_at) => true,
                () = subscription.wake.notified() => true,
                () = subscription.cancel.cancelled() => false,
            },
            Step::Idle => {
                // Paused or blocked, maybe for long: hold no events meanwhile.
                self.ahead.clear();
                tokio::select! {
                    () = subscription.wake.notified() => true,
                    () = subscription.cancel.cancelled() => false,
                }
            }
            Step::Stopped => false,
            Step::Delivered { up_to } | Step::Passed { up_to } => {
                tracing::trace!(subscription = %subscription.name, up_to, "cursor moved");
                go_on(subscription).await
            }
            Step::Parked { .. } | Step::Split | Step::Redelivered { .. } | Step::Superseded => {
                go_on(subscription).await
            }
        }
    }

    /// One step: see the module doc.
    pub(crate) async fn deliver_once(&mut self) -> Result<Step, SubError> {
        let settings = self.subscription.settings();
        if self.subscription.cancel.is_cancelled() {
            return Ok(Step::Stopped);
        }
        if settings.stored.paused.is_some() {
            return Ok(Step::Idle);
        }
        if !self.subscription.check_host(&self.backend.allow_hosts) {
            return Ok(Step::Idle);
        }
        self.epoch = self.subscription.state().epoch;
        let Some(cursor) = self.cursor().await? else {
            return Ok(Step::Stopped);
        };
        // A dead-letter retry goes ahead of the next event, even while blocked on it.
        if let Some(seq) = self.subscription.next_redelivery() {
            return self.redeliver(&settings, cursor, seq).await;
        }
        if self.subscription.state().blocked {
            return Ok(Step::Idle);
        }
        let head = *self.durable.borrow_and_update();
        if cursor.after >= head {
            return Ok(Step::NothingPending);
        }
        let request = self.next_request(&settings, cursor, head).await?;
        if request.events.is_empty() {
            return self.pass(cursor, request.up_to);
        }
        if settings.spec().delivery == Delivery::AtMostOnce {
            return self.deliver_at_most_once(&settings, cursor, &request).await;
        }
        match self
            .send(&settings, cursor.generation, &request.events, false)
            .await
        {
            None => Ok(Step::Stopped),
            Some(verdict) => self.settle(&settings, cursor, &request, verdict).await,
        }
    }

    /// The stored cursor: the one this loop knows while no clear happened since, else
    /// read again.
    async fn cursor(&mut self) -> Result<Option<StoredCursor>, SubError> {
        if let Some((cursor, epoch)) = self.known {
            if epoch == self.epoch {
                return Ok(Some(cursor));
            }
        }
        let name = self.subscription.name.clone();
        let cursor = self
            .blocking(move |backend| Ok(backend.store.cursor(&name)?))
            .await?;
        self.known = cursor.map(|c| (c, self.epoch));
        Ok(cursor)
    }

    /// The next request after `cursor`, from the events read ahead or a new read.
    async fn next_request(
        &mut self,
        settings: &Arc<Settings>,
        cursor: StoredCursor,
        head: u64,
    ) -> Result<Request, SubError> {
        let spec = settings.spec();
        if !self.ahead.serves(settings, cursor.after) {
            let (after, filter) = (cursor.after, settings.filter.clone());
            let max = READ_AHEAD_EVENTS.max(spec.batch as usize);
            let scan = self
                .blocking(move |backend| {
                    Ok(backend.log.scan(after, head, &filter, max, SCAN_BUDGET)?)
                })
                .await?;
            self.ahead
                .fill(settings.clone(), after, scan, spec.batch_max_bytes);
        }
        let one_by_one = self.subscription.state().one_by_one_until > cursor.after;
        let max = if one_by_one { 1 } else { spec.batch as usize };
        Ok(self.ahead.next_request(max, spec.batch_max_bytes))
    }

    /// Moves the cursor past events that do not match `types`.
    fn pass(&mut self, cursor: StoredCursor, up_to: u64) -> Result<Step, SubError> {
        let new = StoredCursor {
            after: up_to,
            ..cursor
        };
        if !self.swap_cursor(cursor, new)? {
            return Ok(Step::Superseded);
        }
        Ok(Step::Passed { up_to })
    }

    /// Stores `new` if the cursor is still `cursor`; whether it was.
    fn swap_cursor(&mut self, cursor: StoredCursor, new: StoredCursor) -> Result<bool, SubError> {
        let swapped = self
            .backend
            .store
            .swap_cursor(&self.subscription.name, cursor, new)?;
        if swapped {
            self.known = Some((new, self.epoch));
            self.ahead.advance(new.after);
        } else {
            self.forget();
        }
        Ok(swapped)
    }

    /// Forgets the cursor and the events read ahead: the next step reads both again.
    fn forget(&mut self) {
        self.known = None;
        self.ahead.clear();
    }

    /// Runs `work` (a store read, or a write that depends on one) on the delivery
    /// runtime's blocking pool, so that waiting for the disk stalls this loop only.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Backend) -> Result<T, SubError> + Send + 'static,
    ) -> Result<T, SubError> {
        let backend = self.backend.clone();
        tokio::task::spawn_blocking(move || work(&backend)).await?
    }
}

/// After progress: lets the other loops on the thread run (a step may have done no I/O),
/// then steps again unless stopped.
async fn go_on(subscription: &Subscription) -> bool {
    tokio::task::yield_now().await;
    !subscription.cancel.is_cancelled()
}
