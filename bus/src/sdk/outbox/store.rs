//! The outbox trees as the relay uses them: the next batch, deleting what the bus
//! acknowledged, parking what it refused.

use super::{OutboxKey, OutboxParts, MAX_BATCH, MAX_BATCH_BYTES};
use sled::transaction::{TransactionError, Transactional};

/// An outbox key as stored: big-endian, so that sled's order is the outbox order.
pub(super) fn key_bytes(key: OutboxKey) -> [u8; 8] {
    key.to_be_bytes()
}

/// The outbox key stored as `bytes` (0 for a key of another shape, which the outbox never
/// writes).
pub(super) fn key_of(bytes: &[u8]) -> OutboxKey {
    bytes.try_into().map_or(0, OutboxKey::from_be_bytes)
}

/// Pending entries read for one pass, in key order.
#[derive(Debug, Default)]
pub(super) struct Batch {
    pub(super) entries: Vec<(OutboxKey, sled::IVec)>,
}

impl Batch {
    /// The entries as one JSON array: their stored JSON, byte for byte.
    pub(super) fn body(&self) -> Vec<u8> {
        let size: usize = self.entries.iter().map(|(_, json)| json.len() + 1).sum();
        let mut body = Vec::with_capacity(size + 1);
        body.push(b'[');
        for (i, (_, json)) in self.entries.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(json);
        }
        body.push(b']');
        body
    }

    /// The last entry's key, if any.
    pub(super) fn last_key(&self) -> Option<OutboxKey> {
        self.entries.last().map(|(key, _)| *key)
    }
}

impl OutboxParts {
    /// The first pending entries up to the durable key: at most `max` of them and
    /// [`MAX_BATCH_BYTES`] (at least one, whatever its size).
    pub(super) fn read_batch(&self, max: usize, durable: OutboxKey) -> sled::Result<Batch> {
        let mut batch = Batch::default();
        let mut bytes = 0;
        for entry in self.pending.range(..=key_bytes(durable)) {
            let (key, json) = entry?;
            let full = batch.entries.len() >= max.min(MAX_BATCH);
            if full || (!batch.entries.is_empty() && bytes + json.len() > MAX_BATCH_BYTES) {
                break;
            }
            bytes += json.len() + 1;
            batch.entries.push((key_of(&key), json));
        }
        Ok(batch)
    }

    /// Deletes the entries of `batch` (published). Not flushed: a delete lost in a crash
    /// only publishes them again, and the bus deduplicates them by id.
    pub(super) fn delete(&self, batch: &Batch) -> sled::Result<()> {
        let mut deletes = sled::Batch::default();
        for (key, _) in &batch.entries {
            deletes.remove(&key_bytes(*key));
        }
        self.pending.apply_batch(deletes)
    }

    /// Moves the entry `key` from the pending tree to the parked one, in one transaction.
    pub(super) fn park(&self, key: OutboxKey, json: &sled::IVec) -> sled::Result<()> {
        let moved = (&self.pending, &self.parked).transaction(|(pending, parked)| {
            pending.remove(&key_bytes(key))?;
            parked.insert(&key_bytes(key), json.clone())?;
            Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
        });
        moved.map_err(|e| match e {
            TransactionError::Storage(e) => e,
            TransactionError::Abort(()) => sled::Error::ReportableBug("park aborted".into()),
        })
    }
}

/// Every entry of `tree`, with its JSON as text.
pub(super) fn entries(tree: &sled::Tree) -> sled::Result<Vec<(OutboxKey, String)>> {
    tree.iter()
        .map(|entry| {
            let (key, json) = entry?;
            Ok((key_of(&key), String::from_utf8_lossy(&json).into_owned()))
        })
        .collect()
}
