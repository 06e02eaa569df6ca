//! `Relay`: publishes an outbox's entries to the bus, in order, one array per pass.

use super::store::Batch;
use super::{Outbox, OutboxKey, MAX_BATCH};
use crate::sdk::Error;
use crate::wire::PublishReply;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The first retry's delay after a failed pass; each further failure doubles it.
const FIRST_RETRY: Duration = Duration::from_millis(100);
/// The longest delay between two attempts while the bus is down.
const LAST_RETRY: Duration = Duration::from_secs(5);
/// How long the relay waits for the bus to answer one array.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a parked event's JSON goes into the log line (the parked tree keeps it all).
const LOGGED_CHARS: usize = 1_000;
/// A failure streak is logged at WARN at its start, then once every this many attempts.
const WARN_EVERY: u32 = 50;

/// What one pass of the relay did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pass {
    /// The bus acknowledged `count` entries, up to the key `up_to`: they are deleted.
    Published {
        /// How many entries the array held.
        count: usize,
        /// The key of the last one.
        up_to: OutboxKey,
    },
    /// The bus refused an array: its entries, up to `until`, go one per request from now
    /// on, so that only the refused one is parked.
    Split {
        /// The key of the array's last entry.
        until: OutboxKey,
    },
    /// The bus refused the entry `key` alone with `status` (a 4xx): it is parked.
    Parked {
        /// The parked entry's key.
        key: OutboxKey,
        /// The bus's answer.
        status: u16,
    },
    /// Nothing flushed is pending.
    Idle,
    /// The bus was unreachable or answered an error that is not the entries' fault (5xx,
    /// 401, 429…), or the store failed: the next attempt is due in `retry_in`.
    Failed {
        /// The backoff before the next attempt.
        retry_in: Duration,
    },
}

/// Publishes an outbox to the bus: [`Self::run`] until shutdown, or one step at a time
/// with [`Self::relay_once`]. Made by [`Outbox::relay`]; run one per outbox.
#[derive(Debug)]
pub struct Relay {
    outbox: Outbox,
    http: reqwest::Client,
    events_url: String,
    token: Option<String>,
    /// After a refused array: entries up to this key go one per request.
    singles_until: Option<OutboxKey>,
    /// Failed passes in a row (0 after a success): the backoff grows with it.
    failures: u32,
}

impl Relay {
    pub(super) fn new(outbox: Outbox, bus_url: &str, token: Option<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            outbox,
            http,
            events_url: format!("{}/events", bus_url.trim_end_matches('/')),
            token,
            singles_until: None,
            failures: 0,
        }
    }

    /// Relays until `shutdown`: a pass, then at once another while there is work, else
    /// waits for a new write (nothing pending) or for the backoff (after a failure). An
    /// array in flight at shutdown is abandoned: it is sent again by the next run, and the
    /// bus deduplicates it.
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            let pass = tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                pass = self.relay_once() => pass,
            };
            let parts = self.outbox.parts.clone();
            let pause = async move {
                match pass {
                    Pass::Idle => parts.wake.notified().await,
                    Pass::Failed { retry_in } => tokio::time::sleep(retry_in).await,
                    Pass::Published { .. } | Pass::Split { .. } | Pass::Parked { .. } => {}
                }
            };
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                () = pause => {}
            }
        }
    }

    /// One pass: reads the next entries (one alone after a split), publishes them as one
    /// array, and deletes them once the bus acknowledged them, or parks one it refused.
    pub async fn relay_once(&mut self) -> Pass {
        let batch = match self.next_batch().await {
            Ok(batch) => batch,
            Err(e) => return self.failed(&format!("reading the outbox: {e}")),
        };
        if batch.entries.is_empty() {
            return Pass::Idle;
        }
        match self.post(&batch).await {
            Ok(replies) => self.published(batch, &replies).await,
            Err(e) if refuses_entries(&e) => self.refused(batch, &e).await,
            Err(e) => self.failed(&e),
        }
    }

    /// The next entries to publish: one alone while splitting a refused array.
    async fn next_batch(&mut self) -> sled::Result<Batch> {
        if let Some(until) = self.singles_until {
            let one = self.read(1).await?;
            if one.last_key().is_some_and(|key| key <= until) {
                return Ok(one);
            }
            self.singles_until = None;
        }
        self.read(MAX_BATCH).await
    }

    async fn read(&self, max: usize) -> sled::Result<Batch> {
        let parts = self.outbox.parts.clone();
        blocking(move || parts.read_batch(max, parts.durable.load(Ordering::SeqCst))).await
    }

    async fn post(&self, batch: &Batch) -> Result<Vec<PublishReply>, Error> {
        let request = self
            .http
            .post(&self.events_url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(batch.body());
        crate::sdk::send(request, self.token.as_deref()).await
    }

    /// The bus acknowledged `batch`: remembers the seqs for the waiting writes, deletes it.
    async fn published(&mut self, batch: Batch, replies: &[PublishReply]) -> Pass {
        let (count, up_to) = (batch.entries.len(), batch.last_key().unwrap_or_default());
        if replies.len() != count {
            let answer = format!("{} replies to an array of {count} events", replies.len());
            return self.failed(&answer);
        }
        let seqs = batch.entries.iter().zip(replies);
        self.outbox
            .settle(up_to, seqs.map(|((key, _), reply)| (*key, reply.seq)));
        let parts = self.outbox.parts.clone();
        if let Err(e) = blocking(move || parts.delete(&batch)).await {
            return self.failed(&format!("deleting published entries: {e}"));
        }
        self.failures = 0;
        tracing::debug!(count, up_to, "outbox entries published");
        Pass::Published { count, up_to }
    }

    /// The bus refused `batch` as it can never accept it: split an array, park one entry.
    async fn refused(&mut self, batch: Batch, error: &Error) -> Pass {
        let status = match error {
            Error::Rejected { status, .. } => *status,
            Error::Transport(_) => 0,
        };
        let Some(until) = batch.last_key() else {
            return Pass::Idle;
        };
        if batch.entries.len() > 1 {
            tracing::info!(until, %error, "the bus refused an outbox array: sending its events one by one");
            self.singles_until = Some(until);
            return Pass::Split { until };
        }
        let Some((key, json)) = batch.entries.into_iter().next() else {
            return Pass::Idle;
        };
        let event: String = String::from_utf8_lossy(&json)
            .chars()
            .take(LOGGED_CHARS)
            .collect();
        let parts = self.outbox.parts.clone();
        if let Err(e) = blocking(move || parts.park(key, &json)).await {
            return self.failed(&format!("parking a refused entry: {e}"));
        }
        tracing::error!(key, status, %error, %event, "the bus refused an outbox entry, which it can never accept: parked");
        self.outbox.settle(key, []);
        self.failures = 0;
        Pass::Parked { key, status }
    }

    /// A failed pass: counts it, logs the start of a streak (and every [`WARN_EVERY`]th
    /// attempt), and returns the backoff.
    fn failed(&mut self, error: &dyn std::fmt::Display) -> Pass {
        self.failures = self.failures.saturating_add(1);
        let retry_in = backoff(self.failures);
        let attempt = self.failures;
        let retry_ms = retry_in.as_millis() as u64;
        if attempt == 1 || attempt.is_multiple_of(WARN_EVERY) {
            tracing::warn!(attempt, retry_ms, %error, "cannot publish the outbox: retrying");
        } else {
            tracing::debug!(attempt, retry_ms, %error, "cannot publish the outbox: retrying");
        }
        Pass::Failed { retry_in }
    }
}

/// Whether the bus's answer means the entries themselves can never be accepted (bad
/// shape, id reused for another event, too large, wrong expected version), rather than
/// the bus or the relay's configuration being at fault.
fn refuses_entries(error: &Error) -> bool {
    matches!(
        error,
        Error::Rejected {
            status: 400 | 409 | 413 | 415 | 422,
            ..
        }
    )
}

/// The delay before attempt `failures + 1`: 100 ms doubling up to 5 s, then drawn at
/// random between half of it and all of it, so that relays do not retry in step.
fn backoff(failures: u32) -> Duration {
    let doubled = FIRST_RETRY.saturating_mul(1 << failures.saturating_sub(1).min(16));
    let ceiling = doubled.min(LAST_RETRY);
    ceiling / 2 + ceiling.mul_f64(fastrand::f64() / 2.0)
}

/// Runs a sled call on tokio's blocking pool (a panic in it resumes here).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_100_ms_up_to_5_s_with_jitter() {
        for failures in 1..40 {
            let ceiling = (FIRST_RETRY * 2u32.pow((failures - 1).min(16))).min(LAST_RETRY);
            let delay = backoff(failures);
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "{failures}: {delay:?}"
            );
        }
        assert!(backoff(1) <= FIRST_RETRY);
        assert!(backoff(30) >= LAST_RETRY / 2);
    }

    #[test]
    fn only_answers_about_the_entries_park_them() {
        let rejected = |status| Error::Rejected {
            status,
            body: crate::wire::ErrorBody {
                error: "e".into(),
                message: "m".into(),
                extra: Default::default(),
            },
        };
        for status in [400, 409, 413, 415, 422] {
            assert!(refuses_entries(&rejected(status)), "{status}");
        }
        for status in [401, 403, 404, 408, 429, 500, 503] {
            assert!(!refuses_entries(&rejected(status)), "{status}");
        }
    }
}
