//! `delivery: "at_most_once"`: the cursor, moved past the request's events, and their seqs
//! as in flight are written and flushed (sled's flush and the store's `fdatasync`) before
//! the request goes out; whatever the answer, the record is settled in one transaction.
//! A 2xx counts the events delivered; a 410 puts the cursor back and pauses (the
//! subscriber took nothing); any other answer, a timeout or no connection parks every
//! event of the request at once, never retried on its own. A request abandoned at shutdown
//! or cut short by a crash leaves its record, which the next start parks
//! (`outcome_unknown`): nothing is sent twice, nothing is lost silently.
//!
//! A batch (`batch > 1`) is allowed: the whole request is in flight, and a failed one
//! parks each of its events. The flush is paid per request, so batching is what makes
//! this mode cheap for a busy subscription.

use super::{Deliverer, Step};
use crate::daemon::store::StoredEvent;
use crate::daemon::subs::read_ahead::Request;
use crate::daemon::subs::store::StoredCursor;
use crate::daemon::subs::subscription::Settings;
use crate::daemon::subs::verdict::Verdict;
use crate::daemon::subs::SubError;
use crate::envelope::format_time;
use crate::wire::DeadLetter;

impl Deliverer {
    /// Sends `request`, due at `cursor`, at most once: see the module doc.
    pub(super) async fn deliver_at_most_once(
        &mut self,
        settings: &Settings,
        cursor: StoredCursor,
        request: &Request,
    ) -> Result<Step, SubError> {
        let Some(sent) = self.record_in_flight(cursor, request).await? else {
            return Ok(Step::Superseded);
        };
        let events = &request.events;
        let Some(verdict) = self.send(settings, cursor.generation, events, false).await else {
            // Abandoned at shutdown: the record stays, and the next start parks the events.
            return Ok(Step::Stopped);
        };
        match verdict {
            Verdict::Ok => self.acknowledged_once(sent, request),
            Verdict::Gone => {
                // The subscriber took nothing: the events go after a resume.
                self.forget();
                if !self.settle_in_flight(sent, Some(cursor), &[])? {
                    return Ok(Step::Superseded);
                }
                self.pause_gone(events[0].seq())
            }
            Verdict::Reject => self.park_failed(sent, events, Some(422), None),
            Verdict::Failed { status, error, .. } => {
                self.park_failed(sent, events, status, Some(error))
            }
        }
    }

    /// Moves the cursor past `request` and records its seqs as in flight, durably (on the
    /// delivery pool: a flush waits for the disk); the cursor written, or `None` if an
    /// operator moved the cursor first. A failed flush stops the daemon.
    async fn record_in_flight(
        &mut self,
        cursor: StoredCursor,
        request: &Request,
    ) -> Result<Option<StoredCursor>, SubError> {
        let sent = StoredCursor {
            after: request.up_to,
            ..cursor
        };
        let seqs: Vec<u64> = request.events.iter().map(StoredEvent::seq).collect();
        let name = self.subscription.name.clone();
        let recorded = self
            .blocking(move |backend| {
                if !backend.store.send_in_flight(&name, cursor, sent, &seqs)? {
                    return Ok(false);
                }
                if let Err(error) = backend.log.flush() {
                    tracing::error!(subscription = %name, error = &error as &(dyn std::error::Error + 'static), "cannot make the seqs in flight durable: stopping");
                    backend.fatal.cancel();
                    return Err(error.into());
                }
                Ok(true)
            })
            .await?;
        if !recorded {
            self.forget();
            return Ok(None);
        }
        self.known = Some((sent, self.epoch));
        self.ahead.advance(sent.after);
        Ok(Some(sent))
    }

    /// A 2xx: the request's events count as delivered.
    fn acknowledged_once(
        &mut self,
        sent: StoredCursor,
        request: &Request,
    ) -> Result<Step, SubError> {
        let n = request.events.len() as u64;
        let new = StoredCursor {
            delivered: sent.delivered + n,
            ..sent
        };
        if !self.settle_in_flight(sent, Some(new), &[])? {
            self.forget();
            return Ok(Step::Superseded);
        }
        self.known = Some((new, self.epoch));
        self.count_acknowledged(request);
        Ok(Step::Delivered {
            up_to: request.up_to,
        })
    }

    /// A failed request: parks each of its events (the cursor is already past them).
    fn park_failed(
        &mut self,
        sent: StoredCursor,
        events: &[StoredEvent],
        status: Option<u16>,
        error: Option<String>,
    ) -> Result<Step, SubError> {
        self.subscription.failures.inc();
        let shown = error.as_deref().unwrap_or("HTTP 422");
        self.log_failure(events[0].seq(), 1, status, shown);
        let reason = match status {
            Some(422) => "rejected by the subscriber (422)",
            _ => "delivery failed (at_most_once: never retried)",
        };
        let time = format_time(chrono::Utc::now().timestamp_millis());
        let letters: Vec<DeadLetter> = events
            .iter()
            .map(|event| DeadLetter {
                seq: event.seq(),
                reason: reason.into(),
                attempts: 1,
                last_status: status,
                last_error: error.clone(),
                time: time.clone(),
            })
            .collect();
        if !self.settle_in_flight(sent, None, &letters)? {
            self.forget();
            return Ok(Step::Superseded);
        }
        // Retries left from at_least_once settings, if they were just changed, end here.
        self.subscription.clear(&self.backend.store)?;
        let seq = events[0].seq();
        tracing::debug!(subscription = %self.subscription.name, seq, events = events.len(), reason, "parked in the dead letters");
        Ok(Step::Parked { seq })
    }

    /// Settles the request sent at `sent` (see `SubStore::settle_in_flight`); whether the
    /// cursor was still there.
    fn settle_in_flight(
        &self,
        sent: StoredCursor,
        new: Option<StoredCursor>,
        letters: &[DeadLetter],
    ) -> Result<bool, SubError> {
        let name = &self.subscription.name;
        Ok(self
            .backend
            .store
            .settle_in_flight(name, sent, new, letters)?)
    }
}
