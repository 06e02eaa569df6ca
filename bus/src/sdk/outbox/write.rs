//! A write: the service's trees and the outbox in one sled transaction, then a flush shared
//! with the writes committed meanwhile.

use super::{store, Outbox, OutboxKey};
use crate::envelope::NewEvent;
use crate::sled_store::DurableDb;
use sled::transaction::{
    ConflictableTransactionResult, TransactionError, TransactionResult, Transactional,
    TransactionalTree, UnabortableTransactionError,
};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// What a write's closure sees: the service's trees inside the transaction, and
/// [`Self::enqueue`] to add events to the outbox in the same transaction.
pub struct OutboxTx<'a, const N: usize> {
    trees: [TransactionalTree; N],
    pending: &'a TransactionalTree,
    outbox: &'a Outbox,
    /// The key of the first event this attempt enqueues.
    first_key: OutboxKey,
    /// The keys this attempt enqueued (sled may run the closure again on a conflict).
    keys: RefCell<Vec<OutboxKey>>,
}

impl<const N: usize> OutboxTx<'_, N> {
    /// The trees given to [`Outbox::write`], in the same order: `let [posts] = tx.trees();`.
    pub fn trees(&self) -> &[TransactionalTree; N] {
        &self.trees
    }

    /// Adds `event` to the outbox, to be published after the events enqueued before it. It
    /// gets a UUIDv7 `id` now if it has none (so that every retry of its publish carries
    /// the same id), and the outbox's `source` if it has none. Its key, to wait for it.
    ///
    /// The event is not validated here: one the bus refuses is parked (see the module doc).
    pub fn enqueue(&self, event: &NewEvent) -> Result<OutboxKey, UnabortableTransactionError> {
        let mut event = event.clone();
        event
            .id
            .get_or_insert_with(|| uuid::Uuid::now_v7().to_string());
        if event.source.is_none() {
            event.source = self.outbox.source.as_deref().map(str::to_owned);
        }
        let json = serde_json::to_vec(&event).map_err(|e| {
            sled::Error::Unsupported(format!("the event does not serialise to JSON: {e}"))
        })?;
        let mut keys = self.keys.borrow_mut();
        let key = self.first_key + keys.len() as OutboxKey;
        self.pending.insert(&store::key_bytes(key), json)?;
        keys.push(key);
        Ok(key)
    }
}

/// What a write returned, and the keys of the events it enqueued (in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written<A> {
    /// The closure's value.
    pub value: A,
    /// The outbox keys of the events enqueued, in order.
    pub keys: Vec<OutboxKey>,
}

impl<A> Written<A> {
    /// The key of the last event enqueued, if any: once it is published, all are.
    pub fn last_key(&self) -> Option<OutboxKey> {
        self.keys.last().copied()
    }
}

impl Outbox {
    /// Runs `f` in one sled transaction over `trees` (the service's own, in the outbox's
    /// `sled::Db`) and the outbox, then flushes: once this returns `Ok`, the state change
    /// and its events are on disk together, and the relay is woken. sled may run `f` more
    /// than once (on a conflict); return `sled::transaction::abort(e)` to abort with `e`
    /// (a closure that never aborts names its return type,
    /// `-> ConflictableTransactionResult<A, Infallible>`, for `E` to be known).
    ///
    /// A flush error is [`TransactionError::Storage`]: the write is committed but maybe not
    /// durable, so its outcome is unknown (as for the bus's `503`).
    pub async fn write<const N: usize, A, E, F>(
        &self,
        trees: [&sled::Tree; N],
        f: F,
    ) -> TransactionResult<Written<A>, E>
    where
        F: Fn(&OutboxTx<'_, N>) -> ConflictableTransactionResult<A, E> + Send + 'static,
        A: Send + 'static,
        E: Send + 'static,
    {
        self.off_the_workers(trees, move |outbox, trees| outbox.write_blocking(trees, f))
            .await
    }

    /// [`Self::write`] on the calling thread, for code already off the async workers.
    pub fn write_blocking<const N: usize, A, E, F>(
        &self,
        trees: [&sled::Tree; N],
        f: F,
    ) -> TransactionResult<Written<A>, E>
    where
        F: Fn(&OutboxTx<'_, N>) -> ConflictableTransactionResult<A, E>,
    {
        self.write_then(trees, f, |outbox, ticket| {
            outbox.parts.flushes.flush_past(&outbox.parts.db, ticket)
        })
    }

    /// [`Self::write`] for a write that a replay from the bus redoes: a subscriber's
    /// handler applying a delivery with its checkpoint in the same transaction. It is
    /// flushed (it survives the process's crash) but not `fdatasync`ed: a power cut may take
    /// it back, and then the checkpoint goes back with it, the bus redelivers, and the
    /// events it enqueued are enqueued again under the same ids (which the bus
    /// deduplicates). Saves a delivery the `fdatasync`.
    pub async fn write_replayable<const N: usize, A, E, F>(
        &self,
        trees: [&sled::Tree; N],
        f: F,
    ) -> TransactionResult<Written<A>, E>
    where
        F: Fn(&OutboxTx<'_, N>) -> ConflictableTransactionResult<A, E> + Send + 'static,
        A: Send + 'static,
        E: Send + 'static,
    {
        self.off_the_workers(trees, move |outbox, trees| {
            outbox.write_then(trees, f, |outbox, _| outbox.parts.db.flush_without_sync())
        })
        .await
    }

    /// Runs `write` on a blocking thread (sled's calls block), with this outbox and its own
    /// handles of `trees`; a panic in it is resumed here.
    async fn off_the_workers<const N: usize, T: Send + 'static>(
        &self,
        trees: [&sled::Tree; N],
        write: impl FnOnce(&Self, [&sled::Tree; N]) -> T + Send + 'static,
    ) -> T {
        let outbox = self.clone();
        let trees = trees.map(sled::Tree::clone);
        tokio::task::spawn_blocking(move || write(&outbox, trees.each_ref()))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// Commits `f`, makes it last with `flush` (given the commit's ticket), and offers what
    /// it enqueued to the relay.
    fn write_then<const N: usize, A, E, F>(
        &self,
        trees: [&sled::Tree; N],
        f: F,
        flush: impl FnOnce(&Self, u64) -> sled::Result<()>,
    ) -> TransactionResult<Written<A>, E>
    where
        F: Fn(&OutboxTx<'_, N>) -> ConflictableTransactionResult<A, E>,
    {
        let (written, ticket) = self.commit(trees, f)?;
        flush(self, ticket).map_err(TransactionError::Storage)?;
        if let Some(last) = written.last_key() {
            self.raise_durable(last);
        }
        Ok(written)
    }

    /// The transaction, under the key lock so that key order is commit order; the write
    /// and its commit ticket.
    pub(super) fn commit<const N: usize, A, E, F>(
        &self,
        trees: [&sled::Tree; N],
        f: F,
    ) -> TransactionResult<(Written<A>, u64), E>
    where
        F: Fn(&OutboxTx<'_, N>) -> ConflictableTransactionResult<A, E>,
    {
        let mut all: Vec<&sled::Tree> = trees.to_vec();
        all.push(&self.parts.pending);
        let mut next_key = self
            .parts
            .next_key
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let written = all.as_slice().transaction(|views| {
            let tx = OutboxTx {
                trees: std::array::from_fn(|i| views[i].clone()),
                pending: &views[N],
                outbox: self,
                first_key: *next_key,
                keys: RefCell::new(Vec::new()),
            };
            let value = f(&tx)?;
            Ok(Written {
                value,
                keys: tx.keys.into_inner(),
            })
        })?;
        *next_key += written.keys.len() as OutboxKey;
        Ok((written, self.parts.flushes.committed()))
    }
}

/// Flushes shared between concurrent writes: a write that committed before a flush started
/// needs no flush of its own.
#[derive(Debug, Default)]
pub(super) struct GroupFlush {
    /// Commits counted so far; each commit's ticket is its number.
    commits: AtomicU64,
    /// Every commit up to this ticket is flushed. Locked across a flush.
    flushed: Mutex<u64>,
}

impl GroupFlush {
    /// Counts a commit that just happened; its ticket.
    fn committed(&self) -> u64 {
        self.commits.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Returns once a flush that started after commit `ticket` has finished: this one, or
    /// one another write ran meanwhile.
    fn flush_past(&self, db: &DurableDb, ticket: u64) -> sled::Result<()> {
        let mut flushed = self.flushed.lock().unwrap_or_else(PoisonError::into_inner);
        if *flushed >= ticket {
            return Ok(());
        }
        let covered = self.commits.load(Ordering::SeqCst);
        db.flush()?;
        *flushed = covered;
        Ok(())
    }
}
