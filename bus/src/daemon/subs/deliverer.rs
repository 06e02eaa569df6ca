//! `Deliverer`: one loop per subscription, pushing events in seq order.
//!
//! The loop repeats one step, [`Deliverer::deliver_once`], which tests can drive directly:
//! read the matching events after the cursor up to the durable head, POST them, and act on
//! the subscriber's verdict (2xx: store the cursor by compare-and-swap; 422: park; 410:
//! pause; anything else: retry with backoff). Between steps the loop waits for a raise of
//! the durable head, a control operation, a backoff timer, or shutdown: never a polling
//! delay. Each loop holds at most one request's events: nothing is queued in memory.

use super::client::Connection;
use super::request::{self, Context};
use super::store::Cursor;
use super::verdict::{self, Answer};
use super::{Current, Runtime, Shared};
use crate::daemon::store::StoredEvent;
use crate::daemon::writer::format_time;
use crate::wire::{DeadLetter, OnExhausted};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Events examined per step when few match `types`.
const SCAN_BUDGET: usize = 10_000;
/// Deliveries that do not poll for their answer after one whose answer came too late.
const SPIN_BACKOFF: u32 = 16;
/// How long a delivery in flight may finish after shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Progress (or a verdict thrown away): step again at once. `up_to` is the cursor now.
    Delivered {
        /// The cursor after the step.
        up_to: u64,
    },
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
pub struct Deliverer {
    /// The runtime's epoch when the delivery in flight was sent.
    epoch: u64,
    /// The keep-alive connection to the subscriber.
    connection: Connection,
    /// Deliveries left that do not poll for the answer (after one that came too late).
    spin_skip: u32,
    rt: Arc<Runtime>,
    shared: Arc<Shared>,
    durable: watch::Receiver<u64>,
}

impl Deliverer {
    pub(super) fn new(rt: Arc<Runtime>, shared: Arc<Shared>) -> Self {
        let durable = shared.durable.clone();
        Self {
            epoch: 0,
            connection: Connection::default(),
            spin_skip: 0,
            rt,
            shared,
            durable,
        }
    }

    /// Runs until the subscription is deleted or the daemon shuts down.
    pub async fn run(mut self) {
        let rt = self.rt.clone();
        loop {
            let outcome = match self.deliver_once().await {
                Ok(outcome) => outcome,
                Err(error) => {
                    tracing::error!(subscription = %rt.name, %error, "delivery step failed");
                    Outcome::Failed {
                        retry_at: Instant::now() + Duration::from_secs(1),
                    }
                }
            };
            let go_on = match outcome {
                Outcome::Delivered { .. } => {
                    // A step may do no I/O (skipping events that do not match `types`):
                    // let the other tasks on this worker run between steps.
                    tokio::task::yield_now().await;
                    !rt.cancel.is_cancelled()
                }
                Outcome::NothingPending => tokio::select! {
                    changed = self.durable.changed() => changed.is_ok(),
                    () = rt.wake.notified() => true,
                    () = rt.cancel.cancelled() => false,
                },
                Outcome::Failed { retry_at } => tokio::select! {
                    () = tokio::time::sleep_until(retry_at) => true,
                    () = rt.wake.notified() => true,
                    () = rt.cancel.cancelled() => false,
                },
                Outcome::Idle => tokio::select! {
                    () = rt.wake.notified() => true,
                    () = rt.cancel.cancelled() => false,
                },
                Outcome::Stopped => false,
            };
            if !go_on {
                break;
            }
        }
        tracing::debug!(subscription = %rt.name, "delivery loop stopped");
    }

    /// One step: see the module doc.
    pub async fn deliver_once(&mut self) -> Result<Outcome, super::SubError> {
        let sub = self.rt.sub();
        if sub.paused.is_some() || self.rt.cancel.is_cancelled() {
            return Ok(if self.rt.cancel.is_cancelled() {
                Outcome::Stopped
            } else {
                Outcome::Idle
            });
        }
        let Some(cursor) = self.shared.store.cursor(&self.rt.name)? else {
            return Ok(Outcome::Stopped);
        };
        // A dead-letter retry goes ahead of the next event, even while blocked on it.
        if let Some(seq) = self.rt.next_redelivery() {
            return self.redeliver(&sub, cursor, seq).await;
        }
        if self.rt.live().blocked {
            return Ok(Outcome::Idle);
        }
        let head = *self.durable.borrow_and_update();
        if cursor.cursor >= head {
            return Ok(Outcome::NothingPending);
        }
        let one_by_one = self.rt.live().one_by_one_until > cursor.cursor;
        let max = if one_by_one {
            1
        } else {
            sub.spec.batch as usize
        };
        let scan = self
            .shared
            .log
            .scan(cursor.cursor, head, &sub.filter, max, SCAN_BUDGET)?;
        if scan.events.is_empty() {
            let up_to = scan.last_examined;
            self.shared.store.swap_cursor(
                &self.rt.name,
                cursor,
                Cursor {
                    cursor: up_to,
                    ..cursor
                },
            )?;
            return Ok(Outcome::Delivered { up_to });
        }
        let (events, cut) = cut(scan.events, sub.spec.batch_max_bytes);
        let up_to = if cut {
            events[events.len() - 1].seq()
        } else {
            scan.last_examined
        };
        self.epoch = self.rt.live().epoch;
        let answer = self.send(&sub, cursor.generation, &events, false).await;
        match answer {
            None => Ok(Outcome::Stopped),
            Some(answer) => self.verdict(&sub, cursor, &events, up_to, answer),
        }
    }

    /// POSTs `events`; `None` when shutdown abandoned it.
    async fn send(
        &mut self,
        sub: &Current,
        generation: u64,
        events: &[StoredEvent],
        redelivery: bool,
    ) -> Option<Answer> {
        let ctx = Context {
            name: &self.rt.name,
            generation,
            log_id: &self.shared.log_id,
        };
        let delivery = request::build(
            events,
            sub.spec.format,
            sub.spec.batch > 1,
            &ctx,
            sub.signer.as_ref(),
            redelivery,
        );
        let timeout = Duration::from_millis(sub.spec.timeout_ms);
        let target = match &sub.target {
            Ok(target) => target,
            Err(error) => {
                return Some(Answer::Failed {
                    status: None,
                    error: error.clone(),
                    retry_after: None,
                })
            }
        };
        let call = verdict::call(&mut self.connection, target, delivery, timeout);
        tokio::pin!(call);
        // Poll for a quick answer before sleeping (see `--delivery-spin-us`): yielding lets
        // the runtime check the socket without blocking and run the other loops meanwhile.
        let spin = if self.spin_skip > 0 {
            self.spin_skip -= 1;
            Duration::ZERO
        } else {
            self.shared.spin
        };
        if !spin.is_zero() {
            let until = std::time::Instant::now() + spin;
            loop {
                tokio::select! {
                    biased;
                    answer = &mut call => return Some(answer),
                    () = tokio::task::yield_now() => {}
                }
                if std::time::Instant::now() >= until {
                    self.spin_skip = SPIN_BACKOFF;
                    break;
                }
            }
        }
        tokio::select! {
            answer = &mut call => Some(answer),
            () = self.rt.cancel.cancelled() => tokio::time::timeout(SHUTDOWN_GRACE, call).await.ok(),
        }
    }

    /// Acts on the subscriber's answer to `events`, sent at `cursor`.
    fn verdict(
        &self,
        sub: &Current,
        cursor: Cursor,
        events: &[StoredEvent],
        up_to: u64,
        answer: Answer,
    ) -> Result<Outcome, super::SubError> {
        let name = &self.rt.name;
        let last = events[events.len() - 1].seq();
        match answer {
            Answer::Ok => {
                let n = events.len() as u64;
                let new = Cursor {
                    cursor: up_to,
                    delivered: cursor.delivered + n,
                    ..cursor
                };
                if self.shared.store.swap_cursor(name, cursor, new)? {
                    self.rt.acknowledged();
                    self.rt.delivered.inc_by(n);
                } else {
                    tracing::debug!(subscription = %name, "cursor moved while delivering: verdict thrown away");
                }
                Ok(Outcome::Delivered { up_to })
            }
            Answer::Reject if events.len() > 1 => {
                self.rt.live().one_by_one_until = last;
                Ok(Outcome::Delivered {
                    up_to: cursor.cursor,
                })
            }
            Answer::Reject => {
                let attempts = self.rt.live().attempts + 1;
                self.park(
                    cursor,
                    &events[0],
                    up_to,
                    "rejected by the subscriber (422)",
                    attempts,
                    Some(422),
                    None,
                )?;
                Ok(Outcome::Delivered { up_to })
            }
            // Thrown away if a rewind, skip or delete happened meanwhile: pausing a deleted
            // subscription would store settings without a cursor.
            Answer::Gone if self.shared.store.cursor(name)? != Some(cursor) => {
                Ok(Outcome::Delivered {
                    up_to: cursor.cursor,
                })
            }
            Answer::Gone => {
                super::set_paused(
                    &self.shared,
                    &self.rt,
                    Some("the subscriber answered 410 Gone".into()),
                )?;
                Ok(Outcome::Idle)
            }
            Answer::Failed {
                status,
                error,
                retry_after,
            } => {
                if self.shared.store.cursor(name)? != Some(cursor) {
                    return Ok(Outcome::Delivered {
                        up_to: cursor.cursor,
                    });
                }
                self.rt.failures.inc();
                tracing::debug!(subscription = %name, %error, "delivery failed");
                let one_by_one = if events.len() > 1 { last } else { 0 };
                let Some(attempts) = self.rt.failed(self.epoch, &error, one_by_one) else {
                    return Ok(Outcome::Delivered {
                        up_to: cursor.cursor,
                    });
                };
                let exhausted = sub
                    .spec
                    .retry
                    .max_attempts
                    .is_some_and(|max| attempts >= max);
                if exhausted && events.len() == 1 {
                    return self.exhausted(sub, cursor, &events[0], up_to, attempts, status, error);
                }
                let delay = verdict::backoff(&sub.spec.retry, attempts, retry_after);
                Ok(Outcome::Failed {
                    retry_at: Instant::now() + delay,
                })
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn exhausted(
        &self,
        sub: &Current,
        cursor: Cursor,
        event: &StoredEvent,
        up_to: u64,
        attempts: u32,
        status: Option<u16>,
        error: String,
    ) -> Result<Outcome, super::SubError> {
        match sub.spec.retry.on_exhausted {
            OnExhausted::DeadLetter => {
                let reason = format!("max_attempts ({attempts}) reached");
                self.park(cursor, event, up_to, &reason, attempts, status, Some(error))?;
                Ok(Outcome::Delivered { up_to })
            }
            OnExhausted::Block if self.rt.block(self.epoch) => {
                super::store_block(&self.shared, &self.rt)?;
                Ok(Outcome::Idle)
            }
            OnExhausted::Block => Ok(Outcome::Delivered {
                up_to: cursor.cursor,
            }),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn park(
        &self,
        cursor: Cursor,
        event: &StoredEvent,
        up_to: u64,
        reason: &str,
        attempts: u32,
        status: Option<u16>,
        error: Option<String>,
    ) -> Result<(), super::SubError> {
        let letter = DeadLetter {
            seq: event.seq(),
            reason: reason.into(),
            attempts,
            last_status: status,
            last_error: error,
            time: format_time(chrono::Utc::now().timestamp_millis()),
        };
        let new = Cursor {
            cursor: up_to,
            ..cursor
        };
        if self
            .shared
            .store
            .park(&self.rt.name, cursor, new, &letter)?
        {
            tracing::warn!(subscription = %self.rt.name, seq = event.seq(), reason, "event parked in the dead letters");
            super::clear(&self.shared, &self.rt)?;
        }
        Ok(())
    }

    /// One attempt at a dead letter, ahead of the next event.
    async fn redeliver(
        &mut self,
        sub: &Current,
        cursor: Cursor,
        seq: u64,
    ) -> Result<Outcome, super::SubError> {
        // A handle of its own: `self` is borrowed mutably by the send below.
        let shared = self.shared.clone();
        let store = &shared.store;
        let (Some(mut letter), Some(event)) =
            (store.dead_letter(&self.rt.name, seq)?, shared.log.get(seq)?)
        else {
            return Ok(Outcome::Delivered {
                up_to: cursor.cursor,
            });
        };
        let Some(answer) = self
            .send(sub, cursor.generation, std::slice::from_ref(&event), true)
            .await
        else {
            return Ok(Outcome::Stopped);
        };
        letter.attempts += 1;
        letter.time = format_time(chrono::Utc::now().timestamp_millis());
        match answer {
            Answer::Ok => {
                store.remove_dead_letter(&self.rt.name, seq)?;
                self.rt.delivered.inc();
            }
            Answer::Reject => {
                (letter.last_status, letter.last_error) = (Some(422), Some("HTTP 422".into()))
            }
            Answer::Gone => {
                (letter.last_status, letter.last_error) = (Some(410), Some("HTTP 410".into()));
                super::set_paused(
                    &self.shared,
                    &self.rt,
                    Some("the subscriber answered 410 Gone".into()),
                )?;
            }
            Answer::Failed { status, error, .. } => {
                (letter.last_status, letter.last_error) = (status, Some(error))
            }
        }
        if store.dead_letter(&self.rt.name, seq)?.is_some() {
            store.put_dead_letter(&self.rt.name, &letter)?;
        }
        Ok(Outcome::Delivered {
            up_to: cursor.cursor,
        })
    }
}

/// Cuts `events` so their bodies fit `max_bytes` (keeping at least one); `true` if cut.
fn cut(mut events: Vec<StoredEvent>, max_bytes: u64) -> (Vec<StoredEvent>, bool) {
    let mut total = 2u64;
    let keep = events
        .iter()
        .position(|e| {
            total += e.json().len() as u64 + 1;
            total > max_bytes
        })
        .map_or(events.len(), |i| i.max(1));
    let was_cut = keep < events.len();
    events.truncate(keep);
    (events, was_cut)
}
