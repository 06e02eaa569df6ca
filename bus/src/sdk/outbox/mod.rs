//! `Outbox` (feature `outbox`): a service's write and the events it publishes, committed in
//! one sled transaction, and a [`Relay`] that publishes them to the bus.
//!
//! A service that publishes from a write (posts, comments) must not lose an event when the
//! bus is down, nor publish one for a write that did not happen. So the event is not sent
//! from the handler: it is stored in the outbox tree of the service's own `sled::Db`, in the
//! same transaction as the state change (and, for a stateful subscriber, its applied seq),
//! flushed before the write answers, and published later by the relay:
//!
//! - each entry's key is its outbox order (big-endian `u64`, given under a lock held across
//!   the transaction, so key order is commit order); its value is the event's JSON as
//!   `POST /events` takes it, with a UUIDv7 `id` fixed when it is written, so a publish
//!   retried after a lost answer or a crash is deduplicated by the bus;
//! - the relay publishes only entries already flushed (a crash cannot take back a write
//!   whose event the bus has), in key order, as one JSON array per pass (≤ [`MAX_BATCH`]
//!   events, ≤ [`MAX_BATCH_BYTES`]), and deletes them only once the bus answered `2xx`;
//!   while the bus is down or answers `5xx` it retries with backoff (100 ms to 5 s, with
//!   jitter); a new write wakes it at once;
//! - an entry the bus refuses with a `400`, `409`, `413`, `415` or `422` can never be
//!   accepted (a bug in the service): an array so refused is resent one event per request
//!   until past the refused one, which is logged at ERROR and **parked** in the tree
//!   [`PARKED_TREE`] ([`Outbox::parked`]), never dropped silently, so the entries after it
//!   flow. Other refusals (`401`, `403`, `404`, `429`…) concern the relay's configuration
//!   or the bus, not the entry: they are retried like a bus that is down.
//! - a write may wait ([`Outbox::wait_published`], up to [`PUBLISH_WAIT`]) for its event
//!   to be published, to answer with its seq (`Minibus-Seq`); past that it still succeeds,
//!   and the event goes out when the bus returns.
//!
//! ```no_run
//! # async fn example(db: bus::sled_store::DurableDb, shutdown: tokio_util::sync::CancellationToken)
//! #     -> Result<(), Box<dyn std::error::Error>> {
//! use bus::sdk::{Outbox, PUBLISH_WAIT};
//! use bus::NewEvent;
//! use sled::transaction::ConflictableTransactionResult;
//! use std::convert::Infallible;
//!
//! let posts = db.open_tree("posts")?;
//! let outbox = Outbox::open(&db)?.with_source("posts");
//! tokio::spawn(outbox.relay("http://127.0.0.1:4005", None).run(shutdown));
//!
//! let (id, title) = ("0123456789abcdef", "Hello");
//! let mut created = NewEvent::new("PostCreated", &serde_json::json!({"id": id, "title": title}))?;
//! created.stream = Some(format!("post-{id}"));
//! let written = outbox
//!     .write([&posts], move |tx| -> ConflictableTransactionResult<(), Infallible> {
//!         let [posts] = tx.trees();
//!         posts.insert(id, title)?;
//!         tx.enqueue(&created)?;
//!         Ok(())
//!     })
//!     .await?;
//! let seq: Option<u64> = outbox.wait_for(&written, PUBLISH_WAIT).await; // for `Minibus-Seq`
//! # Ok(()) }
//! ```
//!
//! A stateful subscriber (comments) keeps its applied seq beside its state, in a tree of
//! its own passed with the others, so that the state change, the checkpoint and the events
//! it causes commit together: `outbox.write([&comments, &checkpoint], move |tx| { let
//! [comments, checkpoint] = tx.trees(); …; checkpoint.insert("applied", &seq.to_be_bytes())?;
//! tx.enqueue(&updated)?; Ok(()) })`.
//!
//! Durability: a write returns once a flush of the [`DurableDb`] covered it (concurrent
//! writes share one flush): sled's flush, then `fdatasync` of its files, as for the bus's
//! log, since sled's flush alone does not survive a power cut (spacejam/sled#1452).
//! Deleting published entries is not flushed: a delete lost in a crash only republishes
//! them, and the bus answers the repeat with the original seqs.

mod relay;
mod store;
mod write;

pub use relay::{Pass, Relay};
pub use write::{OutboxTx, Written};

use crate::sled_store::DurableDb;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// The tree of pending entries, in the service's `sled::Db`.
pub const PENDING_TREE: &str = "minibus.outbox";
/// The tree of parked entries: refused by the bus with a 4xx, kept for an operator.
pub const PARKED_TREE: &str = "minibus.outbox.parked";
/// At most this many events per published array (the bus takes 1,000).
pub const MAX_BATCH: usize = 1_000;
/// At most this many bytes of events per published array (more when one event alone is
/// larger): well under the bus's default body limit of 16 MiB.
pub const MAX_BATCH_BYTES: usize = 1 << 20;
/// How long a write waits for its event to be published before answering without a seq.
pub const PUBLISH_WAIT: Duration = Duration::from_secs(1);
/// How many published entries' seqs are remembered for [`Outbox::wait_published`].
const REMEMBERED_SEQS: usize = 65_536;

/// A position in the outbox: entries are published in key order.
pub type OutboxKey = u64;

/// A service's outbox over its own sled database. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    parts: Arc<OutboxParts>,
    /// Set on every event enqueued without a `source`.
    source: Option<Arc<str>>,
}

/// What the clones of an [`Outbox`] and its relay share.
struct OutboxParts {
    db: DurableDb,
    pending: sled::Tree,
    parked: sled::Tree,
    /// The next key to give; locked across each write's transaction.
    next_key: Mutex<OutboxKey>,
    /// Commits counted, and the flushes that covered them.
    flushes: write::GroupFlush,
    /// Every entry up to this key is flushed: the relay reads no further.
    durable: AtomicU64,
    /// Wakes the relay when `durable` rises.
    wake: Notify,
    /// Every entry up to this key is published or parked.
    settled: watch::Sender<OutboxKey>,
    /// The seqs the bus gave the latest published entries (at most [`REMEMBERED_SEQS`]).
    seqs: Mutex<BTreeMap<OutboxKey, u64>>,
}

impl Outbox {
    /// Opens (or creates) the outbox trees in `db`, beside the service's own trees. Entries
    /// left pending by an earlier run are published by the next relay. Open it once per
    /// `Db` and clone the handle: the keys it gives are counted in the handle.
    pub fn open(db: &DurableDb) -> sled::Result<Self> {
        let pending = db.open_tree(PENDING_TREE)?;
        let parked = db.open_tree(PARKED_TREE)?;
        let last = |tree: &sled::Tree| -> sled::Result<OutboxKey> {
            Ok(tree.last()?.map_or(0, |(key, _)| store::key_of(&key)))
        };
        let last_key = last(&pending)?.max(last(&parked)?);
        let first_pending = pending.first()?.map(|(key, _)| store::key_of(&key));
        let settled = first_pending.map_or(last_key, |first| first - 1);
        Ok(Self {
            parts: Arc::new(OutboxParts {
                db: db.clone(),
                pending,
                parked,
                next_key: Mutex::new(last_key + 1),
                flushes: write::GroupFlush::default(),
                durable: AtomicU64::new(last_key),
                wake: Notify::new(),
                settled: watch::channel(settled).0,
                seqs: Mutex::new(BTreeMap::new()),
            }),
            source: None,
        })
    }

    /// Sets `source` on every event enqueued without one.
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into().into());
        self
    }

    /// Waits up to `timeout` for the entry `key` to be published; the seq the bus gave it,
    /// or `None` past the timeout (the bus is down or slow: the entry is still published
    /// later), or if it was parked.
    pub async fn wait_published(&self, key: OutboxKey, timeout: Duration) -> Option<u64> {
        let mut settled = self.parts.settled.subscribe();
        let reached = settled.wait_for(|&settled| settled >= key);
        tokio::time::timeout(timeout, reached).await.ok()?.ok()?;
        let seqs = self
            .parts
            .seqs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        seqs.get(&key).copied()
    }

    /// [`Self::wait_published`] for the last event of a write: the seq to answer with
    /// (`Minibus-Seq`), or `None` when the write enqueued nothing or the wait timed out.
    pub async fn wait_for<A>(&self, written: &Written<A>, timeout: Duration) -> Option<u64> {
        let key = written.last_key()?;
        self.wait_published(key, timeout).await
    }

    /// How many entries wait to be published.
    pub fn pending_count(&self) -> usize {
        self.parts.pending.len()
    }

    /// The entries parked after the bus refused them: each key with the event's JSON.
    pub fn parked(&self) -> sled::Result<Vec<(OutboxKey, String)>> {
        store::entries(&self.parts.parked)
    }

    /// A relay publishing this outbox to the bus at `bus_url` (e.g.
    /// `http://127.0.0.1:4005`), with its token if it has one. Run one per outbox.
    pub fn relay(&self, bus_url: &str, token: Option<String>) -> Relay {
        Relay::new(self.clone(), bus_url, token)
    }

    /// Entries up to `key` are flushed: lets the relay read them and wakes it.
    fn raise_durable(&self, key: OutboxKey) {
        self.parts.durable.fetch_max(key, Ordering::SeqCst);
        self.parts.wake.notify_one();
    }

    /// Entries up to `key` are published (with these seqs) or parked.
    fn settle(&self, key: OutboxKey, published: impl IntoIterator<Item = (OutboxKey, u64)>) {
        {
            let mut seqs = self
                .parts
                .seqs
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            seqs.extend(published);
            while seqs.len() > REMEMBERED_SEQS {
                seqs.pop_first();
            }
        }
        self.parts
            .settled
            .send_modify(|settled| *settled = (*settled).max(key));
    }
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("durable", &self.parts.durable.load(Ordering::SeqCst))
            .field("settled", &*self.parts.settled.borrow())
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}
