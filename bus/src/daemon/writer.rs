//! The one writer: every publish goes through it.
//!
//! Publishes arrive on a bounded channel. The writer thread takes one, then every other one
//! already waiting (up to [`MAX_GROUP_EVENTS`]), and for each in turn checks idempotency and
//! `expected_version` against the log plus the publishes applied before it, assigns seqs
//! and times, encodes the records and applies the group to the log. A rejected publish uses
//! no seq.
//!
//! The writer then hands the group to the flusher thread, which takes every group applied
//! since its last flush, flushes once (group commit), raises the durable head and only
//! then answers their publishers, in order, while the writer applies the next groups. A
//! failed flush answers `503` to everything not yet durable and stops the daemon.
//!
//! Flushing runs on a plain OS thread with sled's blocking `flush()`: sled 0.34.7's
//! `flush_async()` hangs under concurrent use (spacejam/sled#1308), and a `spawn_blocking`
//! flush per request caps out far lower.

use super::config::Durability;
use super::metrics::Metrics;
use super::store::{encode, EventLog, NewRecord, RecordFields, StoreError};
use crate::envelope::NewEvent;
use crate::wire::PublishReply;
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

/// Most events one group commit takes (it takes at least one whole publish).
pub const MAX_GROUP_EVENTS: usize = 5_000;
/// Publishes waiting for the writer before publishers wait to hand theirs over.
pub const QUEUE_DEPTH: usize = 1_024;

/// What the writer answers a publish with.
#[derive(Debug)]
pub enum Outcome {
    /// Appended and durable: `201`.
    Appended(Vec<PublishReply>),
    /// Every id was already stored with the same type, stream and source: `200`, originals.
    Duplicate(Vec<PublishReply>),
    /// Refused; nothing appended.
    Rejected(Rejection),
}

/// Why the writer refused a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// `409 id_conflict`: the id is stored with another type, stream or source.
    IdConflict {
        /// The id.
        id: String,
    },
    /// `409 partial_duplicate`: some ids of an array are stored, some are not.
    PartialDuplicate {
        /// The stored ones.
        ids: Vec<String>,
    },
    /// `409 wrong_expected_version`.
    WrongExpectedVersion {
        /// The stream.
        stream: String,
        /// What the publisher expected.
        expected: u64,
        /// The stream's version at that point.
        actual: u64,
    },
    /// `503 storage_unavailable`: the outcome is unknown; retry with the same ids.
    StorageUnavailable,
}

struct Request {
    events: Vec<NewEvent>,
    reply: oneshot::Sender<Outcome>,
}

enum Msg {
    Publish(Request),
    Stop,
}

/// The handle the API uses to publish. Cheap to clone.
#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<Msg>,
    durable: watch::Receiver<u64>,
}

impl WriterHandle {
    /// Hands validated events (every one with an id) to the writer and waits for the verdict.
    pub async fn publish(&self, events: Vec<NewEvent>) -> Outcome {
        let (reply, answer) = oneshot::channel();
        if self
            .tx
            .send(Msg::Publish(Request { events, reply }))
            .await
            .is_err()
        {
            return Outcome::Rejected(Rejection::StorageUnavailable);
        }
        answer
            .await
            .unwrap_or(Outcome::Rejected(Rejection::StorageUnavailable))
    }

    /// The durable head, and a way to wait for it to rise.
    pub fn durable(&self) -> watch::Receiver<u64> {
        self.durable.clone()
    }
}

/// The running writer thread.
pub struct Writer {
    handle: WriterHandle,
    thread: std::thread::JoinHandle<()>,
}

impl Writer {
    /// Starts the writer thread over `log`, whose last seq is `head`. `fatal` is cancelled if
    /// the log cannot be written (the daemon then stops, non-zero).
    pub fn start(
        log: Arc<dyn EventLog>,
        durability: Durability,
        metrics: Metrics,
        fatal: CancellationToken,
    ) -> Result<Self, StoreError> {
        let head = log.last_seq()?;
        let last_time_ms = match log.get(head)? {
            Some(event) => event.time_ms(),
            None => 0,
        };
        metrics
            .head_seq
            .set(i64::try_from(head).unwrap_or(i64::MAX));
        let (durable_tx, durable) = watch::channel(head);
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let flusher = Flusher {
            log: log.clone(),
            durability,
            metrics,
            fatal: fatal.clone(),
            durable_tx,
            durable: head,
        };
        let state = State {
            log,
            fatal,
            next_seq: head + 1,
            last_time_ms,
            time_text: format_time(last_time_ms),
        };
        let cannot_start =
            |e: std::io::Error| StoreError::Corrupt(format!("cannot start the writer thread: {e}"));
        let (applied_tx, applied_rx) = std::sync::mpsc::sync_channel(MAX_APPLIED_WAITING);
        let flusher = std::thread::Builder::new()
            .name("minibus-flusher".into())
            .spawn(move || flusher.run(applied_rx))
            .map_err(cannot_start)?;
        let thread = std::thread::Builder::new()
            .name("minibus-writer".into())
            .spawn(move || {
                let log = state.log.clone();
                state.run(rx, applied_tx);
                let _ = flusher.join();
                if let Err(error) = log.flush() {
                    tracing::error!(%error, "final flush failed");
                }
                tracing::debug!("writer stopped");
            })
            .map_err(cannot_start)?;
        Ok(Self {
            handle: WriterHandle { tx, durable },
            thread,
        })
    }

    /// A handle to publish through.
    pub fn handle(&self) -> WriterHandle {
        self.handle.clone()
    }

    /// Finishes what is queued, flushes, and stops the thread.
    pub async fn stop(self) {
        let _ = self.handle.tx.send(Msg::Stop).await;
        let thread = self.thread;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}

struct State {
    log: Arc<dyn EventLog>,
    fatal: CancellationToken,
    next_seq: u64,
    last_time_ms: i64,
    /// `last_time_ms` formatted, reused while the clock stays on the same millisecond.
    time_text: String,
}

/// Answers `503 storage_unavailable` to each of `replies`: the outcome is unknown.
fn unavailable(replies: impl Iterator<Item = oneshot::Sender<Outcome>>) {
    for reply in replies {
        let _ = reply.send(Outcome::Rejected(Rejection::StorageUnavailable));
    }
}

/// A group the writer has applied, waiting for the flush that makes it durable.
struct Applied {
    replies: Vec<(oneshot::Sender<Outcome>, Outcome)>,
    /// The last seq applied once this group was in.
    head: u64,
    records: usize,
}

/// Groups applied but not yet handed to a flush, at most (the writer then waits).
const MAX_APPLIED_WAITING: usize = 64;

/// The flusher thread: the second half of the group commit.
///
/// It takes every group the writer has applied since its last flush, flushes once, raises
/// the durable head and only then answers their publishers. The writer meanwhile applies
/// the next groups, so applying and flushing overlap instead of taking turns.
struct Flusher {
    log: Arc<dyn EventLog>,
    durability: Durability,
    metrics: Metrics,
    fatal: CancellationToken,
    durable_tx: watch::Sender<u64>,
    durable: u64,
}

impl Flusher {
    fn run(mut self, rx: std::sync::mpsc::Receiver<Applied>) {
        let mut failed = false;
        while let Ok(first) = rx.recv() {
            let mut groups = vec![first];
            groups.extend(rx.try_iter());
            let head = groups.last().map_or(self.durable, |g| g.head);
            let records: usize = groups.iter().map(|g| g.records).sum();
            if !failed && head > self.durable {
                let flushed = match self.durability {
                    Durability::Fsync => self.log.flush(),
                    Durability::Os => Ok(()),
                };
                if let Err(error) = flushed {
                    tracing::error!(%error, "cannot write the log: answering 503 and stopping");
                    self.fatal.cancel();
                    failed = true;
                } else {
                    self.durable = head;
                    self.metrics.events_appended.inc_by(records as u64);
                    self.metrics.batch_events.observe(records as f64);
                    self.metrics
                        .head_seq
                        .set(i64::try_from(head).unwrap_or(i64::MAX));
                    self.durable_tx.send_replace(head);
                }
            }
            let replies = groups.into_iter().flat_map(|g| g.replies);
            if failed {
                // Refusals too: a 409 may rest on a group applied but never made durable.
                unavailable(replies.map(|(reply, _)| reply));
            } else {
                for (reply, outcome) in replies {
                    let _ = reply.send(outcome);
                }
            }
        }
    }
}

/// What the group being built already holds, for checks against it.
#[derive(Default)]
struct Group {
    ids: HashMap<String, Existing>,
    streams: HashMap<String, u64>,
    records: Vec<NewRecord>,
    /// An array of several events is among the records: they go in all-or-nothing.
    has_array: bool,
}

#[derive(Clone)]
struct Existing {
    seq: u64,
    version: Option<u64>,
    ty: String,
    stream: Option<String>,
    source: Option<String>,
}

impl State {
    fn run(mut self, mut rx: mpsc::Receiver<Msg>, applied: std::sync::mpsc::SyncSender<Applied>) {
        let mut stopping = false;
        while !stopping {
            let Some(first) = rx.blocking_recv() else {
                break;
            };
            let mut requests = Vec::new();
            let mut events = 0;
            let mut next = Some(first);
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Publish(r) => {
                        events += r.events.len();
                        requests.push(r);
                    }
                    Msg::Stop => stopping = true,
                }
                if events < MAX_GROUP_EVENTS {
                    next = rx.try_recv().ok();
                }
            }
            if requests.is_empty() {
                continue;
            }
            let Some(group) = self.apply(requests) else {
                break;
            };
            // The flusher is gone only if the process is stopping on a storage failure.
            if applied.send(group).is_err() || self.fatal.is_cancelled() {
                break;
            }
        }
    }

    /// Checks and applies one group, for the flusher to make durable; `None` when the log
    /// can no longer be written (its publishers are then answered `503`).
    fn apply(&mut self, requests: Vec<Request>) -> Option<Applied> {
        if self.fatal.is_cancelled() {
            // A flush failed meanwhile: the daemon is stopping; apply nothing more.
            unavailable(requests.into_iter().map(|r| r.reply));
            return None;
        }
        let mut group = Group::default();
        let outcomes: Vec<Outcome> = requests
            .iter()
            .map(|r| match self.admit(&r.events, &mut group) {
                Ok(outcome) => outcome,
                Err(error) => {
                    tracing::error!(%error, "reading the log failed");
                    Outcome::Rejected(Rejection::StorageUnavailable)
                }
            })
            .collect();
        let records = group.records.len();
        let applied = records == 0 || {
            match self.log.append(&group.records, group.has_array) {
                Ok(()) => true,
                Err(error) => {
                    tracing::error!(%error, "cannot write the log: answering 503 and stopping");
                    self.fatal.cancel();
                    false
                }
            }
        };
        let replies = requests.into_iter().map(|r| r.reply);
        if !applied {
            // As after a failed flush: a refusal may rest on groups never made durable.
            unavailable(replies);
            return None;
        }
        Some(Applied {
            replies: replies.zip(outcomes).collect(),
            head: self.next_seq - 1,
            records,
        })
    }

    /// Checks one publish against the log and the group, and adds its records to the group.
    fn admit(&mut self, events: &[NewEvent], group: &mut Group) -> Result<Outcome, StoreError> {
        let mut originals = Vec::new();
        for event in events {
            let id = event.id.as_deref().unwrap_or_default();
            let Some(existing) = self.existing(id, group)? else {
                continue;
            };
            if existing.ty != event.ty
                || existing.stream != event.stream
                || existing.source != event.source
            {
                return Ok(Outcome::Rejected(Rejection::IdConflict { id: id.into() }));
            }
            originals.push(PublishReply {
                seq: existing.seq,
                id: id.into(),
                version: existing.version,
            });
        }
        if originals.len() == events.len() {
            return Ok(Outcome::Duplicate(originals));
        }
        if !originals.is_empty() {
            let ids = originals.into_iter().map(|r| r.id).collect();
            return Ok(Outcome::Rejected(Rejection::PartialDuplicate { ids }));
        }
        let versions = match self.versions(events, group)? {
            Ok(versions) => versions,
            Err(rejection) => return Ok(Outcome::Rejected(rejection)),
        };
        group.has_array |= events.len() > 1;
        let replies = events
            .iter()
            .zip(versions)
            .map(|(event, version)| self.append_to(group, event, version))
            .collect();
        Ok(Outcome::Appended(replies))
    }

    fn existing(&self, id: &str, group: &Group) -> Result<Option<Existing>, StoreError> {
        if let Some(e) = group.ids.get(id) {
            return Ok(Some(e.clone()));
        }
        let Some(seq) = self.log.seq_of_id(id)? else {
            return Ok(None);
        };
        let event = self
            .log
            .get(seq)?
            .ok_or_else(|| StoreError::Corrupt(format!("id {id} points at missing event {seq}")))?;
        Ok(Some(Existing {
            seq,
            version: event.version(),
            ty: event.ty().into(),
            stream: event.stream().map(Into::into),
            source: event.source().map(Into::into),
        }))
    }

    /// The version each event gets in its stream, or the `expected_version` it fails.
    #[allow(clippy::type_complexity)]
    fn versions(
        &self,
        events: &[NewEvent],
        group: &Group,
    ) -> Result<Result<Vec<Option<u64>>, Rejection>, StoreError> {
        let mut current: HashMap<&str, u64> = HashMap::new();
        let mut versions = Vec::with_capacity(events.len());
        for event in events {
            let Some(stream) = event.stream.as_deref() else {
                versions.push(None);
                continue;
            };
            let actual = match current.get(stream).or_else(|| group.streams.get(stream)) {
                Some(v) => *v,
                None => self.log.stream_version(stream)?,
            };
            if let Some(expected) = event.expected_version {
                if expected != actual {
                    return Ok(Err(Rejection::WrongExpectedVersion {
                        stream: stream.into(),
                        expected,
                        actual,
                    }));
                }
            }
            current.insert(stream, actual + 1);
            versions.push(Some(actual + 1));
        }
        Ok(Ok(versions))
    }

    fn append_to(
        &mut self,
        group: &mut Group,
        event: &NewEvent,
        version: Option<u64>,
    ) -> PublishReply {
        let seq = self.next_seq;
        self.next_seq += 1;
        let now = chrono::Utc::now().timestamp_millis();
        if now > self.last_time_ms {
            self.last_time_ms = now;
            self.time_text = format_time(now);
        }
        let id = event.id.clone().unwrap_or_default();
        let json = envelope_json(seq, &id, event, version, &self.time_text);
        let raw = encode(
            &RecordFields {
                time_ms: self.last_time_ms,
                version: version.unwrap_or(0),
                ty: &event.ty,
                stream: event.stream.as_deref().unwrap_or_default(),
                id: &id,
                source: event.source.as_deref().unwrap_or_default(),
            },
            &json,
        );
        let stream = event.stream.clone().zip(version);
        if let Some((s, v)) = &stream {
            group.streams.insert(s.clone(), *v);
        }
        group.ids.insert(
            id.clone(),
            Existing {
                seq,
                version,
                ty: event.ty.clone(),
                stream: event.stream.clone(),
                source: event.source.clone(),
            },
        );
        group.records.push(NewRecord {
            seq,
            id: id.clone(),
            stream,
            raw,
        });
        PublishReply { seq, id, version }
    }
}

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-23T17:00:00.123Z`.
pub fn format_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[derive(Serialize)]
struct EnvelopeRef<'a> {
    seq: u64,
    id: &'a str,
    #[serde(rename = "type")]
    ty: &'a str,
    data: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    time: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    causation_id: Option<&'a str>,
}

fn null() -> &'static RawValue {
    // A literal that always parses.
    serde_json::from_str("null").unwrap_or_else(|_| unreachable!())
}

fn envelope_json(seq: u64, id: &str, e: &NewEvent, version: Option<u64>, time: &str) -> Vec<u8> {
    let envelope = EnvelopeRef {
        seq,
        id,
        ty: &e.ty,
        data: e.data.as_deref().unwrap_or_else(|| null()),
        stream: e.stream.as_deref(),
        version,
        source: e.source.as_deref(),
        time,
        correlation_id: e.correlation_id.as_deref(),
        causation_id: e.causation_id.as_deref(),
    };
    // Serialising borrowed strings and a RawValue cannot fail.
    serde_json::to_vec(&envelope).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::store::{Filter, Scan, SledLog, StoredEvent};
    use std::sync::atomic::{AtomicBool, Ordering};

    /// The real sled log, whose flush can be made to fail (a full or failing disk).
    struct FailingFlush {
        log: SledLog,
        fail: AtomicBool,
    }

    impl EventLog for FailingFlush {
        fn log_id(&self) -> &str {
            self.log.log_id()
        }
        fn last_seq(&self) -> Result<u64, StoreError> {
            self.log.last_seq()
        }
        fn get(&self, seq: u64) -> Result<Option<StoredEvent>, StoreError> {
            self.log.get(seq)
        }
        fn seq_of_id(&self, id: &str) -> Result<Option<u64>, StoreError> {
            self.log.seq_of_id(id)
        }
        fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
            self.log.stream_version(stream)
        }
        fn scan(
            &self,
            after: u64,
            up_to: u64,
            filter: &Filter,
            max_matches: usize,
            max_examined: usize,
        ) -> Result<Scan, StoreError> {
            self.log
                .scan(after, up_to, filter, max_matches, max_examined)
        }
        fn stream_events(
            &self,
            stream: &str,
            after_version: u64,
            up_to: u64,
            limit: usize,
        ) -> Result<Vec<StoredEvent>, StoreError> {
            self.log.stream_events(stream, after_version, up_to, limit)
        }
        fn append(&self, records: &[NewRecord], atomic: bool) -> Result<(), StoreError> {
            self.log.append(records, atomic)
        }
        fn flush(&self) -> Result<(), StoreError> {
            if self.fail.load(Ordering::SeqCst) {
                return Err(StoreError::Corrupt("injected flush failure".into()));
            }
            self.log.flush()
        }
    }

    /// A writer over a real log whose flushes fail while `fail` is set.
    fn writer_over_failing_flush(
        fail: bool,
    ) -> (
        tempfile::TempDir,
        Arc<FailingFlush>,
        CancellationToken,
        Writer,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let (log, _) = SledLog::open(dir.path(), 8).expect("open");
        let log = Arc::new(FailingFlush {
            log,
            fail: AtomicBool::new(fail),
        });
        let fatal = CancellationToken::new();
        let writer = Writer::start(
            log.clone(),
            Durability::Fsync,
            Metrics::new(),
            fatal.clone(),
        )
        .expect("start");
        (dir, log, fatal, writer)
    }

    fn event(id: &str) -> NewEvent {
        serde_json::from_str(&format!(r#"{{"id":"{id}","type":"T","data":{{}}}}"#)).expect("event")
    }

    #[tokio::test]
    async fn concurrent_publishes_get_distinct_seqs_and_raise_the_durable_head() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (log, _) = SledLog::open(dir.path(), 8).expect("open");
        let fatal = CancellationToken::new();
        let writer = Writer::start(
            Arc::new(log),
            Durability::Fsync,
            Metrics::new(),
            fatal.clone(),
        )
        .expect("start");
        let handle = writer.handle();
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let handle = handle.clone();
                tokio::spawn(async move { handle.publish(vec![event(&format!("e{i}"))]).await })
            })
            .collect();
        let mut seqs = Vec::new();
        for task in tasks {
            match task.await.expect("task") {
                Outcome::Appended(replies) => seqs.extend(replies.iter().map(|r| r.seq)),
                other => panic!("not appended: {other:?}"),
            }
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=100).collect::<Vec<u64>>());
        assert_eq!(*handle.durable().borrow(), 100);
        assert!(!fatal.is_cancelled());
        writer.stop().await;
    }

    #[tokio::test]
    async fn a_failed_flush_answers_503_keeps_the_durable_head_and_stops_the_writer() {
        let (_dir, log, fatal, writer) = writer_over_failing_flush(false);
        let handle = writer.handle();
        assert!(matches!(
            handle.publish(vec![event("a")]).await,
            Outcome::Appended(_)
        ));
        assert_eq!(*handle.durable().borrow(), 1);

        log.fail.store(true, Ordering::SeqCst);
        let outcome = handle.publish(vec![event("b")]).await;
        assert!(
            matches!(outcome, Outcome::Rejected(Rejection::StorageUnavailable)),
            "{outcome:?}"
        );
        assert!(fatal.is_cancelled(), "the daemon is told to stop");
        assert_eq!(
            *handle.durable().borrow(),
            1,
            "nothing unflushed is visible"
        );
        // Nothing is acknowledged after the failure, even once the disk is back, and the
        // writer has stopped: "c" is not even applied ("b" was, as seq 2, never durable).
        log.fail.store(false, Ordering::SeqCst);
        let outcome = handle.publish(vec![event("c")]).await;
        assert!(
            matches!(outcome, Outcome::Rejected(Rejection::StorageUnavailable)),
            "{outcome:?}"
        );
        assert_eq!(*handle.durable().borrow(), 1);
        assert_eq!(log.last_seq().expect("head"), 2, "the writer stopped");
        writer.stop().await;
    }

    #[tokio::test]
    async fn refusals_behind_a_failed_flush_are_answered_503_too() {
        let (_dir, _log, fatal, writer) = writer_over_failing_flush(true);
        let handle = writer.handle();
        // "a" and its duplicate under another type go in one group or in two; either way the
        // refusal of the second rests on "a", which never becomes durable.
        let first = handle.publish(vec![event("a")]);
        let conflicting: NewEvent =
            serde_json::from_str(r#"{"id":"a","type":"Other","data":{}}"#).expect("event");
        let second = handle.publish(vec![conflicting]);
        let (first, second) = tokio::join!(first, second);
        for outcome in [first, second] {
            assert!(
                matches!(outcome, Outcome::Rejected(Rejection::StorageUnavailable)),
                "{outcome:?}"
            );
        }
        assert!(fatal.is_cancelled());
        writer.stop().await;
    }
}
