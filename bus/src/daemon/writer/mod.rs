//! The one writer: every publish goes through it.
//!
//! Publishes arrive on a bounded channel. The writer thread ([`applier`]) takes one, then
//! every other one already waiting (up to [`MAX_GROUP_EVENTS`]), and for each in turn
//! [`admission`] checks idempotency and `expected_version` against the log plus the
//! publishes admitted before it, assigns seqs and times and encodes the records; the
//! group is then applied to the log at once. A refused publish uses no seq.
//!
//! The writer then hands the group to the [`flusher`] thread, which takes every group
//! applied since its last flush, flushes once (group commit), raises the durable head and
//! only then answers their publishers, in order, while the writer applies the next groups.
//! A failed flush answers `503` to everything not yet durable (refusals too: a `409` may
//! rest on an event that never became durable), cancels `fatal` and applies nothing more.
//!
//! Flushing runs on a plain OS thread with sled's blocking `flush()`: sled 0.34.7's
//! `flush_async()` hangs under concurrent use (spacejam/sled#1308), and a `spawn_blocking`
//! flush per request caps out far lower.
//!
//! [`Writer`] owns both threads: dropping it stops them, so an early error in
//! [`run`](super::run) leaves no thread behind holding the store.

mod admission;
mod applier;
mod flusher;
#[cfg(test)]
mod tests;

use super::config::Durability;
use super::metrics::Metrics;
use super::store::{EventLog, StoreError};
use crate::envelope::NewEvent;
use crate::wire::PublishReply;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

/// Most events one group commit takes (it takes at least one whole publish).
const MAX_GROUP_EVENTS: usize = 5_000;
/// Publishes waiting for the writer before publishers wait to hand theirs over.
const QUEUE_DEPTH: usize = 1_024;
/// Groups applied but not yet handed to a flush, at most (the writer then waits).
const MAX_APPLIED_WAITING: usize = 64;

/// What the writer answers a publish with.
#[derive(Debug)]
pub(crate) enum PublishOutcome {
    /// Appended and durable: `201`.
    Appended(Vec<PublishReply>),
    /// Every id was already stored with the same type, stream and source: `200` with the
    /// originals' seqs and versions, sent once the originals are durable.
    Duplicate(Vec<PublishReply>),
    /// Refused; nothing appended.
    Rejected(Rejection),
}

/// Why the writer refused a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// `409 id_conflict`: the id is stored with another type, stream or source.
    IdConflict {
        /// The id that is taken.
        id: String,
    },
    /// `409 partial_duplicate`: some ids of an array are stored, some are not.
    PartialDuplicate {
        /// The ids of the array that are already stored.
        ids: Vec<String>,
    },
    /// `409 wrong_expected_version`.
    WrongExpectedVersion {
        /// The stream whose version was checked.
        stream: String,
        /// What the publisher expected.
        expected: u64,
        /// The stream's version at that point.
        actual: u64,
        /// The event's place in the request (0 for a single event).
        index: usize,
        /// Whether `actual` counts earlier events of the same array on that stream.
        after_earlier_events: bool,
    },
    /// `503 storage_unavailable`: the outcome is unknown; retry with the same ids.
    StorageUnavailable,
}

/// Why the writer could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    /// Reading the log's head failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The system would not start one of the threads (out of threads or memory).
    #[error("cannot start the {name} thread")]
    Thread {
        /// The thread's name (`minibus-writer` or `minibus-flusher`).
        name: &'static str,
        /// Why spawning it failed.
        source: std::io::Error,
    },
}

/// One publish waiting for the writer: its events, and where its answer goes.
struct Publish {
    events: Vec<NewEvent>,
    answer: oneshot::Sender<PublishOutcome>,
}

enum Msg {
    Publish(Publish),
    /// Stop once everything queued before this is done.
    Stop,
}

/// Answers `503 storage_unavailable` to each of `answers`: the outcome is unknown.
fn answer_unavailable(answers: impl Iterator<Item = oneshot::Sender<PublishOutcome>>) {
    for answer in answers {
        let _ = answer.send(PublishOutcome::Rejected(Rejection::StorageUnavailable));
    }
}

/// The handle the API publishes through. Cheap to clone.
#[derive(Clone)]
pub(crate) struct WriterHandle {
    tx: mpsc::Sender<Msg>,
    durable: watch::Receiver<u64>,
}

impl WriterHandle {
    /// Hands validated events (every one with an id) to the writer and waits for the verdict.
    pub(crate) async fn publish(&self, events: Vec<NewEvent>) -> PublishOutcome {
        let unavailable = || PublishOutcome::Rejected(Rejection::StorageUnavailable);
        let (answer, answered) = oneshot::channel();
        let publish = Msg::Publish(Publish { events, answer });
        if self.tx.send(publish).await.is_err() {
            return unavailable();
        }
        answered.await.unwrap_or_else(|_| unavailable())
    }

    /// The durable head, and a way to wait for it to rise.
    pub(crate) fn durable(&self) -> watch::Receiver<u64> {
        self.durable.clone()
    }
}

/// The running writer and flusher threads. [`Writer::stop`] finishes what is queued;
/// dropping it stops the threads too (after the group in hand), blocking until they end.
pub(crate) struct Writer {
    handle: WriterHandle,
    /// Set when dropped: the writer thread stops after the group in hand even if the
    /// queue is too full to take a `Stop`.
    stopping: CancellationToken,
    /// `None` once joined.
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer and flusher threads over `log`. `fatal` is cancelled if the log
    /// cannot be written (the daemon then stops, non-zero).
    pub(crate) fn start(
        log: Arc<dyn EventLog>,
        durability: Durability,
        metrics: Metrics,
        fatal: CancellationToken,
    ) -> Result<Self, StartError> {
        let head = log.last_seq()?;
        metrics
            .head_seq
            .set(i64::try_from(head).unwrap_or(i64::MAX));
        let (durable_tx, durable) = watch::channel(head);
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let (applied_tx, applied_rx) = std::sync::mpsc::sync_channel(MAX_APPLIED_WAITING);
        let stopping = CancellationToken::new();
        let applier = applier::Applier::new(log.clone(), fatal.clone(), stopping.clone())?;
        let flusher = flusher::Flusher::new(log, durability, metrics, fatal);
        let flusher = spawn("minibus-flusher", move || {
            flusher.run(applied_rx, durable_tx)
        })?;
        // Should this fail, `applied_tx` is dropped with the closure: the flusher ends.
        let thread = spawn("minibus-writer", move || {
            applier.run(rx, applied_tx, flusher)
        })?;
        Ok(Self {
            handle: WriterHandle { tx, durable },
            stopping,
            thread: Some(thread),
        })
    }

    /// A handle to publish through.
    pub(crate) fn handle(&self) -> WriterHandle {
        self.handle.clone()
    }

    /// Finishes what is queued, flushes, and stops both threads.
    pub(crate) async fn stop(mut self) {
        let _ = self.handle.tx.send(Msg::Stop).await;
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

impl Drop for Writer {
    /// Stops the threads and waits for them: the group in hand is finished and flushed
    /// (milliseconds), publishes still queued are answered `503`.
    fn drop(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stopping.cancel();
        // Wakes a writer waiting for work; a full queue wakes it anyway.
        let _ = self.handle.tx.try_send(Msg::Stop);
        let _ = thread.join();
    }
}

/// Starts a thread named `name` (what `top -H` and `/proc/PID/task/*/comm` show).
fn spawn(
    name: &'static str,
    run: impl FnOnce() + Send + 'static,
) -> Result<std::thread::JoinHandle<()>, StartError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(run)
        .map_err(|source| StartError::Thread { name, source })
}
