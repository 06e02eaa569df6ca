//! What an operator does to a running subscription: pause, resume, rewind, skip, and
//! retry or delete its dead letters. Each moves the cursor by compare-and-swap, clears
//! the retries, and wakes the loop, so that it takes effect at once.

use super::store::StoredCursor;
use super::{SubError, Subscription, Subscriptions};
use crate::daemon::store::Filter;
use crate::envelope::format_time;
use crate::wire::{DeadLetter, RewindReply, RewindRequest, SubscriptionStatus};

/// Events examined per read when counting what a rewind redelivers.
const COUNT_CHUNK: usize = 100_000;

impl Subscriptions {
    /// `POST …/pause` (`reason` given) or `…/resume` (`None`; also clears `blocked`).
    pub(crate) fn set_paused(
        &self,
        name: &str,
        reason: Option<String>,
    ) -> Result<SubscriptionStatus, SubError> {
        let subscription = self.subscription(name)?;
        if reason.is_none() {
            subscription.clear(&self.backend.store)?;
        }
        subscription.set_paused(&self.backend.store, reason)?;
        self.status(name)
    }

    /// Moves the cursor to `after` in a new generation, clears retries, wakes the loop;
    /// returns the new generation.
    pub(super) fn move_cursor(
        &self,
        subscription: &Subscription,
        after: u64,
    ) -> Result<u64, SubError> {
        let name = &subscription.name;
        loop {
            let cursor = self.stored_cursor(name)?;
            let new = StoredCursor {
                generation: cursor.generation + 1,
                after,
                ..cursor
            };
            if self.backend.store.swap_cursor(name, cursor, new)? {
                subscription.clear(&self.backend.store)?;
                subscription.wake.notify_one();
                tracing::info!(subscription = %name, after, generation = new.generation, "cursor moved");
                return Ok(new.generation);
            }
        }
    }

    /// The stored cursor of `name`.
    pub(super) fn stored_cursor(&self, name: &str) -> Result<StoredCursor, SubError> {
        self.backend
            .store
            .cursor(name)?
            .ok_or_else(|| SubError::NotFound(name.into()))
    }

    /// `POST …/rewind`.
    pub(crate) fn rewind(
        &self,
        name: &str,
        request: &RewindRequest,
    ) -> Result<RewindReply, SubError> {
        let subscription = self.subscription(name)?;
        let head = self.backend.head();
        let after = match (request.after, request.time.as_deref()) {
            (Some(after), None) if after > head => {
                return Err(SubError::CursorBeyondHead { after, head })
            }
            (Some(after), None) => after,
            (None, Some(time)) => self.seq_before_time(time, head)?,
            _ => return Err(SubError::Invalid("give either `after` or `time`".into())),
        };
        let filter = subscription.settings().filter.clone();
        let redeliver = self.count_matching(after, head, &filter)?;
        let generation = if request.dry_run {
            self.stored_cursor(name)?.generation
        } else {
            self.move_cursor(&subscription, after)?
        };
        Ok(RewindReply {
            after,
            redeliver,
            dry_run: request.dry_run,
            generation,
        })
    }

    /// The seq just before the first event with time ≥ `time` (times never decrease along
    /// seq, so a binary search finds it).
    fn seq_before_time(&self, time: &str, head: u64) -> Result<u64, SubError> {
        let at = chrono::DateTime::parse_from_rfc3339(time)
            .map_err(|e| SubError::Invalid(format!("`time` is not RFC 3339: {e}")))?
            .timestamp_millis();
        let (mut lo, mut hi) = (1, head + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let t = self.backend.log.get(mid)?.map_or(i64::MAX, |e| e.time_ms());
            if t >= at {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Ok(lo - 1)
    }

    /// How many events after `after` up to `head` pass `filter`.
    fn count_matching(&self, after: u64, head: u64, filter: &Filter) -> Result<u64, SubError> {
        if filter.types.is_empty() {
            return Ok(head - after);
        }
        let (mut count, mut cursor) = (0, after);
        while cursor < head {
            let scan = self
                .backend
                .log
                .scan(cursor, head, filter, usize::MAX, COUNT_CHUNK)?;
            count += scan.events.len() as u64;
            cursor = scan.last_examined;
        }
        Ok(count)
    }

    /// `POST …/skip`: parks the next matching event and moves past it.
    pub(crate) fn skip(&self, name: &str) -> Result<DeadLetter, SubError> {
        let subscription = self.subscription(name)?;
        let filter = subscription.settings().filter.clone();
        loop {
            let cursor = self.stored_cursor(name)?;
            let head = self.backend.head();
            let scan = self
                .backend
                .log
                .scan(cursor.after, head, &filter, 1, usize::MAX)?;
            let Some(event) = scan.events.first() else {
                return Err(SubError::NothingToSkip(name.into()));
            };
            let letter = {
                let state = subscription.state();
                DeadLetter {
                    seq: event.seq(),
                    reason: "skipped by an operator".into(),
                    attempts: state.attempts,
                    last_status: state.last_status,
                    last_error: state.last_error.clone(),
                    time: format_time(chrono::Utc::now().timestamp_millis()),
                }
            };
            let new = StoredCursor {
                after: event.seq(),
                ..cursor
            };
            if self.backend.store.park(name, cursor, new, &letter)? {
                subscription.clear(&self.backend.store)?;
                subscription.wake.notify_one();
                return Ok(letter);
            }
        }
    }

    /// `GET …/dead-letters`.
    pub(crate) fn dead_letters(&self, name: &str) -> Result<Vec<DeadLetter>, SubError> {
        self.subscription(name)?;
        Ok(self.backend.store.dead_letters(name)?)
    }

    /// `POST …/dead-letters/SEQ/retry` (`Some`) or `…/dead-letters/retry` (all): queued
    /// ahead of the next event; returns the seqs queued.
    pub(crate) fn retry_dead_letters(
        &self,
        name: &str,
        seq: Option<u64>,
    ) -> Result<Vec<u64>, SubError> {
        let subscription = self.subscription(name)?;
        if subscription.settings().stored.paused.is_some() {
            return Err(SubError::Paused(name.into()));
        }
        let store = &self.backend.store;
        let seqs = match seq {
            Some(seq) => {
                store
                    .dead_letter(name, seq)?
                    .ok_or(SubError::NoDeadLetter(name.into(), seq))?;
                vec![seq]
            }
            None => store.dead_letters(name)?.iter().map(|d| d.seq).collect(),
        };
        subscription.queue_redeliveries(&seqs);
        Ok(seqs)
    }

    /// `DELETE …/dead-letters/SEQ`.
    pub(crate) fn delete_dead_letter(&self, name: &str, seq: u64) -> Result<(), SubError> {
        self.subscription(name)?;
        if self.backend.store.remove_dead_letter(name, seq)? {
            Ok(())
        } else {
            Err(SubError::NoDeadLetter(name.into(), seq))
        }
    }
}
