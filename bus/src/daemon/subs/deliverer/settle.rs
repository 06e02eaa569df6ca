//! Acting on a verdict: store the cursor (2xx), park (422, retries exhausted), pause (410),
//! or retry later; and the one attempt at a dead letter an operator asked to retry.

use super::failure_log::FailureNotice;
use super::{Deliverer, Step};
use crate::daemon::store::StoredEvent;
use crate::daemon::subs::read_ahead::Request;
use crate::daemon::subs::store::StoredCursor;
use crate::daemon::subs::subscription::Settings;
use crate::daemon::subs::verdict::{self, Verdict};
use crate::daemon::subs::SubError;
use crate::envelope::format_time;
use crate::wire::{DeadLetter, OnExhausted};
use std::time::Duration;
use tokio::time::Instant;

/// Why a subscription pauses itself.
const GONE_REASON: &str = "the subscriber answered 410 Gone";

/// A failed attempt, as a dead letter records it.
struct Failure {
    attempts: u32,
    status: Option<u16>,
    error: Option<String>,
}

impl Deliverer {
    /// Acts on the verdict on `request`, sent at `cursor`.
    pub(super) async fn settle(
        &mut self,
        settings: &Settings,
        cursor: StoredCursor,
        request: &Request,
        verdict: Verdict,
    ) -> Result<Step, SubError> {
        match verdict {
            Verdict::Ok => self.acknowledged(cursor, request),
            Verdict::Reject => self.rejected(cursor, request),
            // Thrown away if a rewind, skip or delete happened meanwhile: pausing a deleted
            // subscription would store settings without a cursor.
            Verdict::Gone if !self.still_at(cursor).await? => Ok(Step::Superseded),
            Verdict::Gone => self.pause_gone(request.events[0].seq()),
            Verdict::Failed { .. } if !self.still_at(cursor).await? => Ok(Step::Superseded),
            Verdict::Failed {
                status,
                error,
                retry_after,
            } => self.failed(settings, cursor, request, status, error, retry_after),
        }
    }

    /// A 410 on a request starting at `seq`: pauses the subscription.
    pub(super) fn pause_gone(&mut self, seq: u64) -> Result<Step, SubError> {
        self.subscription
            .set_paused(&self.backend.store, Some(GONE_REASON.into()))?;
        tracing::warn!(subscription = %self.subscription.name, seq, "subscription paused: {GONE_REASON}");
        self.failure_log.reset();
        Ok(Step::Idle)
    }

    /// A 422: a batch goes again one event per request; one event is parked.
    fn rejected(&mut self, cursor: StoredCursor, request: &Request) -> Result<Step, SubError> {
        let events = &request.events;
        if events.len() > 1 {
            self.subscription.state().one_by_one_until = events[events.len() - 1].seq();
            return Ok(Step::Split);
        }
        let failure = Failure {
            attempts: self.subscription.state().attempts + 1,
            status: Some(422),
            error: None,
        };
        let reason = "rejected by the subscriber (422)";
        self.park(cursor, &events[0], request.up_to, reason, failure)
    }

    /// A failed attempt: retry after a backoff, or give up after `max_attempts`.
    fn failed(
        &mut self,
        settings: &Settings,
        cursor: StoredCursor,
        request: &Request,
        status: Option<u16>,
        error: String,
        retry_after: Option<Duration>,
    ) -> Result<Step, SubError> {
        let events = &request.events;
        self.subscription.failures.inc();
        let last = events[events.len() - 1].seq();
        let one_by_one = if events.len() > 1 { last } else { 0 };
        let Some(attempts) = self
            .subscription
            .failed(self.epoch, status, &error, one_by_one)
        else {
            return Ok(Step::Superseded);
        };
        self.log_failure(events[0].seq(), attempts, status, &error);
        let retry = &settings.spec().retry;
        let exhausted = retry.max_attempts.is_some_and(|max| attempts >= max);
        if exhausted && events.len() == 1 {
            let failure = Failure {
                attempts,
                status,
                error: Some(error),
            };
            return self.exhausted(settings, cursor, &events[0], request.up_to, failure);
        }
        let delay = verdict::backoff(retry, attempts, retry_after);
        Ok(Step::Failed {
            retry_at: Instant::now() + delay,
        })
    }

    /// Logs a failed attempt at `seq`: at WARN when the failure log says so, else DEBUG.
    pub(super) fn log_failure(&mut self, seq: u64, attempt: u32, status: Option<u16>, error: &str) {
        let name = &self.subscription.name;
        match self.failure_log.failed(std::time::Instant::now()) {
            FailureNotice::Warn { unlogged } => tracing::warn!(
                subscription = %name, seq, attempt, status, error, unlogged,
                "delivery failed"
            ),
            FailureNotice::Quiet => {
                tracing::debug!(subscription = %name, seq, attempt, status, error, "delivery failed");
            }
        }
    }

    /// Stores the cursor past an acknowledged request.
    fn acknowledged(&mut self, cursor: StoredCursor, request: &Request) -> Result<Step, SubError> {
        let n = request.events.len() as u64;
        let new = StoredCursor {
            after: request.up_to,
            delivered: cursor.delivered + n,
            ..cursor
        };
        if !self.swap_cursor(cursor, new)? {
            tracing::debug!(subscription = %self.subscription.name, "cursor moved while delivering: verdict thrown away");
            return Ok(Step::Superseded);
        }
        self.count_acknowledged(request);
        Ok(Step::Delivered {
            up_to: request.up_to,
        })
    }

    /// Counts an acknowledged request (the cursor is stored): clears the failures.
    pub(super) fn count_acknowledged(&mut self, request: &Request) {
        self.subscription.acknowledged();
        self.subscription
            .delivered
            .inc_by(request.events.len() as u64);
        if let Some(failures) = self.failure_log.recovered() {
            tracing::info!(subscription = %self.subscription.name, seq = request.events[0].seq(), failures, "delivering again after failed attempts");
        }
    }

    /// Whether the stored cursor is still `cursor` (read off the loops' thread).
    async fn still_at(&mut self, cursor: StoredCursor) -> Result<bool, SubError> {
        let name = self.subscription.name.clone();
        let stored = self
            .blocking(move |backend| Ok(backend.store.cursor(&name)?))
            .await?;
        if stored != Some(cursor) {
            self.forget();
        }
        Ok(stored == Some(cursor))
    }

    /// Retries exhausted on `event`: park it, or stop in `blocked`.
    fn exhausted(
        &mut self,
        settings: &Settings,
        cursor: StoredCursor,
        event: &StoredEvent,
        up_to: u64,
        failure: Failure,
    ) -> Result<Step, SubError> {
        match settings.spec().retry.on_exhausted {
            OnExhausted::DeadLetter => {
                let reason = format!("max_attempts ({}) reached", failure.attempts);
                self.park(cursor, event, up_to, &reason, failure)
            }
            OnExhausted::Block if self.subscription.block(self.epoch) => {
                self.subscription.store_block(&self.backend.store)?;
                tracing::warn!(subscription = %self.subscription.name, seq = event.seq(), attempts = failure.attempts, "subscription blocked: max_attempts reached");
                self.failure_log.reset();
                Ok(Step::Idle)
            }
            OnExhausted::Block => Ok(Step::Superseded),
        }
    }

    /// Parks `event` and moves the cursor to `up_to`, unless the cursor moved meanwhile.
    fn park(
        &mut self,
        cursor: StoredCursor,
        event: &StoredEvent,
        up_to: u64,
        reason: &str,
        failure: Failure,
    ) -> Result<Step, SubError> {
        let letter = DeadLetter {
            seq: event.seq(),
            reason: reason.into(),
            attempts: failure.attempts,
            last_status: failure.status,
            last_error: failure.error,
            time: format_time(chrono::Utc::now().timestamp_millis()),
        };
        let new = StoredCursor {
            after: up_to,
            ..cursor
        };
        // The clear below makes the next step read the cursor again.
        self.forget();
        let name = &self.subscription.name;
        if !self.backend.store.park(name, cursor, new, &letter)? {
            return Ok(Step::Superseded);
        }
        tracing::warn!(subscription = %name, seq = event.seq(), reason, "event parked in the dead letters");
        self.failure_log.reset();
        self.subscription.clear(&self.backend.store)?;
        Ok(Step::Parked { seq: event.seq() })
    }

    /// One attempt at the dead letter `seq`, ahead of the next event.
    pub(super) async fn redeliver(
        &mut self,
        settings: &Settings,
        cursor: StoredCursor,
        seq: u64,
    ) -> Result<Step, SubError> {
        let name = self.subscription.name.clone();
        let (letter, event) = self
            .blocking(move |backend| {
                Ok((
                    backend.store.dead_letter(&name, seq)?,
                    backend.log.get(seq)?,
                ))
            })
            .await?;
        let (Some(letter), Some(event)) = (letter, event) else {
            return Ok(Step::Superseded);
        };
        let events = std::slice::from_ref(&event);
        let Some(verdict) = self.send(settings, cursor.generation, events, true).await else {
            return Ok(Step::Stopped);
        };
        self.record_redelivery(letter, verdict).await
    }

    /// Records the answer to a dead letter sent again: removed on a 2xx, else kept with
    /// its new error (unless an operator deleted it meanwhile).
    async fn record_redelivery(
        &mut self,
        mut letter: DeadLetter,
        verdict: Verdict,
    ) -> Result<Step, SubError> {
        let seq = letter.seq;
        letter.attempts += 1;
        letter.time = format_time(chrono::Utc::now().timestamp_millis());
        (letter.last_status, letter.last_error) = match verdict {
            Verdict::Ok => {
                self.backend
                    .store
                    .remove_dead_letter(&self.subscription.name, seq)?;
                self.subscription.delivered.inc();
                return Ok(Step::Redelivered { seq });
            }
            Verdict::Reject => (Some(422), Some("HTTP 422".into())),
            Verdict::Gone => {
                self.subscription
                    .set_paused(&self.backend.store, Some(GONE_REASON.into()))?;
                (Some(410), Some("HTTP 410".into()))
            }
            Verdict::Failed { status, error, .. } => (status, Some(error)),
        };
        let name = self.subscription.name.clone();
        self.blocking(move |backend| {
            if backend.store.dead_letter(&name, seq)?.is_some() {
                backend.store.put_dead_letter(&name, &letter)?;
            }
            Ok(())
        })
        .await?;
        Ok(Step::Redelivered { seq })
    }
}
