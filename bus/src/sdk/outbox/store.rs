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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::NewEvent;
    use crate::sdk::Outbox;
    use crate::sled_store::DurableDb;
    use sled::transaction::ConflictableTransactionResult;
    use std::convert::Infallible;
    use std::sync::atomic::Ordering;

    fn open_outbox() -> (tempfile::TempDir, Outbox) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let db = DurableDb::open(dir.path(), 8).expect("sled opens");
        (dir, Outbox::open(&db).expect("the outbox opens"))
    }

    /// Enqueues one event per `sizes` entry, with data of about that many bytes.
    fn enqueue(outbox: &Outbox, sizes: &[usize]) {
        for &size in sizes {
            let event = NewEvent::new("Noted", &"x".repeat(size)).expect("serialises");
            let written = outbox
                .write_blocking([], |tx| -> ConflictableTransactionResult<_, Infallible> {
                    Ok(tx.enqueue(&event)?)
                });
            written.expect("the write commits");
        }
    }

    fn keys(batch: &Batch) -> Vec<OutboxKey> {
        batch.entries.iter().map(|(key, _)| *key).collect()
    }

    #[test]
    fn a_batch_stops_at_the_durable_key() {
        let (_dir, outbox) = open_outbox();
        enqueue(&outbox, &[1, 1, 1]);
        let batch = outbox.parts.read_batch(MAX_BATCH, 2).expect("reads");
        assert_eq!(keys(&batch), [1, 2]);
        let body: serde_json::Value = serde_json::from_slice(&batch.body()).expect("an array");
        assert_eq!(body.as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn a_committed_entry_is_offered_to_the_relay_only_once_flushed() {
        let (_dir, outbox) = open_outbox();
        let event = NewEvent::new("Noted", &1).expect("serialises");
        let committed = outbox.commit([], |tx| -> ConflictableTransactionResult<_, Infallible> {
            Ok(tx.enqueue(&event)?)
        });
        assert_eq!(committed.expect("commits").0.keys, [1]);
        let durable = outbox.parts.durable.load(Ordering::SeqCst);
        assert_eq!(durable, 0, "not durable before its flush");
        enqueue(&outbox, &[1]);
        let durable = outbox.parts.durable.load(Ordering::SeqCst);
        assert_eq!(durable, 2, "a later flush covers it");
    }

    #[test]
    fn a_batch_holds_at_most_1000_events_and_1_mib_but_at_least_one() {
        let (_dir, outbox) = open_outbox();
        enqueue(&outbox, &[0; 1_001]);
        let batch = outbox.parts.read_batch(MAX_BATCH, u64::MAX).expect("reads");
        assert_eq!(batch.entries.len(), 1_000);

        let (_dir, outbox) = open_outbox();
        enqueue(
            &outbox,
            &[2 << 20, 300 << 10, 300 << 10, 300 << 10, 300 << 10],
        );
        let batch = outbox.parts.read_batch(MAX_BATCH, u64::MAX).expect("reads");
        assert_eq!(keys(&batch), [1], "a large event goes alone");
        outbox.parts.delete(&batch).expect("deletes");
        let batch = outbox.parts.read_batch(MAX_BATCH, u64::MAX).expect("reads");
        assert_eq!(keys(&batch), [2, 3, 4], "up to 1 MiB");
    }

    #[test]
    fn a_write_whose_sync_fails_is_a_storage_error_and_not_offered_to_the_relay() {
        let (_dir, outbox) = open_outbox();
        enqueue(&outbox, &[1]);
        outbox.parts.db.fail_syncs(true);
        let event = NewEvent::new("Noted", &2).expect("serialises");
        let written = outbox
            .write_blocking([], |tx| -> ConflictableTransactionResult<_, Infallible> {
                Ok(tx.enqueue(&event)?)
            });
        assert!(
            matches!(
                written,
                Err(sled::transaction::TransactionError::Storage(_))
            ),
            "{written:?}"
        );
        let durable = outbox.parts.durable.load(Ordering::SeqCst);
        assert_eq!(durable, 1, "the entry whose sync failed is not offered");
        outbox.parts.db.fail_syncs(false);
        enqueue(&outbox, &[1]);
        let durable = outbox.parts.durable.load(Ordering::SeqCst);
        assert_eq!(durable, 3, "the next flush that syncs covers it");
    }

    #[tokio::test]
    async fn a_replayable_write_is_flushed_without_the_sync_and_offered_to_the_relay() {
        let (_dir, outbox) = open_outbox();
        outbox.parts.db.fail_syncs(true);
        let event = NewEvent::new("Applied", &1).expect("serialises");
        let written = outbox
            .write_replayable(
                [],
                move |tx| -> ConflictableTransactionResult<_, Infallible> {
                    Ok(tx.enqueue(&event)?)
                },
            )
            .await
            .expect("no fdatasync, so the failing disk's sync is not reached");
        assert_eq!(written.keys, [1]);
        assert_eq!(outbox.parts.durable.load(Ordering::SeqCst), 1);
        let event = NewEvent::new("Answered", &2).expect("serialises");
        let answered = outbox
            .write(
                [],
                move |tx| -> ConflictableTransactionResult<_, Infallible> {
                    Ok(tx.enqueue(&event)?)
                },
            )
            .await;
        assert!(answered.is_err(), "a write answered to a client is synced");
    }
}
