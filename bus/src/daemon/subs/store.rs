//! Subscriptions in sled: settings, cursors and dead letters, in trees of their own beside
//! the event log.
//!
//! A cursor is 24 bytes, `generation | after | delivered`, and changes only by
//! compare-and-swap, so a delivery's verdict is stored only if neither a rewind (new
//! generation) nor a skip (moved cursor) nor a delete happened while it was in flight.
//! Cursor writes become durable with the writer's next group commit, or within 100 ms
//! (sled's background flush, set in `SledLog::open`); with `delivery: "at_most_once"` the
//! loop flushes the cursor and the seqs in flight itself before it sends (`in_flight.rs`).

mod in_flight;

pub(crate) use in_flight::OUTCOME_UNKNOWN;

use crate::wire::{DeadLetter, SubscriptionSpec};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

/// A subscription as stored: its settings (secret included) and whether it is paused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredSub {
    /// The settings, `reset` always false.
    pub(crate) spec: SubscriptionSpec,
    /// Why it is paused, when it is.
    #[serde(default)]
    pub(crate) paused: Option<String>,
    /// The last error, when delivery stopped in `blocked` (`on_exhausted: "block"`): kept
    /// across a restart until a resume, skip, rewind or reset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) blocked: Option<String>,
    /// The failed attempts that blocked it, shown again after a restart with `blocked`
    /// (stores of earlier versions have none: 0 attempts then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) blocked_after: Option<BlockedAfter>,
}

/// What the attempts that stopped delivery in `blocked` came to, beside their last error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BlockedAfter {
    /// How many attempts failed (the status's `attempts`).
    pub(crate) attempts: u32,
    /// The last one's HTTP status, if an answer came (a skip's dead letter keeps it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_status: Option<u16>,
}

/// Where a subscription is, as stored: the value every compare-and-swap compares whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoredCursor {
    /// Raised by create, reset and rewind, so that a verdict from before one of them
    /// no longer matches.
    pub(crate) generation: u64,
    /// The last seq examined (delivered, parked, or passed over by `types`): delivery goes
    /// on after it.
    pub(crate) after: u64,
    /// Events the subscriber acknowledged, over the subscription's life (its status's
    /// `delivered`).
    pub(crate) delivered: u64,
}

impl StoredCursor {
    fn encode(&self) -> [u8; 24] {
        let mut out = [0; 24];
        out[..8].copy_from_slice(&self.generation.to_be_bytes());
        out[8..16].copy_from_slice(&self.after.to_be_bytes());
        out[16..].copy_from_slice(&self.delivered.to_be_bytes());
        out
    }

    fn decode(raw: &[u8]) -> Option<Self> {
        let word = |i: usize| Some(u64::from_be_bytes(raw.get(i..i + 8)?.try_into().ok()?));
        Some(Self {
            generation: word(0)?,
            after: word(8)?,
            delivered: word(16)?,
        })
    }
}

/// What a subscription store operation can fail with. Every variant is an internal failure
/// (the API answers `500 internal` and logs it).
#[derive(Debug, thiserror::Error)]
pub(crate) enum SubStoreError {
    /// sled failed (I/O error, disk full).
    #[error("the subscription store failed")]
    Engine(#[from] sled::Error),
    /// A stored value is not what this version writes; the message says which.
    #[error("unreadable value in the subscription store: {0}")]
    Unreadable(String),
    /// A value could not be encoded as JSON (a bug: the stored types always can be).
    #[error("cannot encode a value for the subscription store")]
    Encode(#[from] serde_json::Error),
}

/// Whether a transaction that aborts only when its expected state is gone committed.
fn committed(result: Result<(), TransactionError<()>>) -> Result<bool, SubStoreError> {
    match result {
        Ok(()) => Ok(true),
        Err(TransactionError::Abort(())) => Ok(false),
        Err(TransactionError::Storage(e)) => Err(e.into()),
    }
}

/// The value of a transaction that never aborts.
fn committed_value<T>(result: Result<T, TransactionError<()>>) -> Result<T, SubStoreError> {
    result.map_err(|e| match e {
        TransactionError::Storage(e) => e.into(),
        TransactionError::Abort(()) => {
            SubStoreError::Unreadable("a transaction that never aborts aborted".into())
        }
    })
}

/// The subscription trees. Cheap to clone.
#[derive(Clone)]
pub(crate) struct SubStore {
    /// name → the last generation a deleted subscription of that name reached, so that a
    /// new one starts above it and no late verdict of the old one can match its cursor.
    retired: sled::Tree,
    subs: sled::Tree,
    cursors: sled::Tree,
    dead: sled::Tree,
    /// name → the seqs sent with `delivery: "at_most_once"` and not settled yet.
    in_flight: sled::Tree,
}

fn dead_key(name: &str, seq: u64) -> Vec<u8> {
    let mut key = dead_prefix(name);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn dead_prefix(name: &str) -> Vec<u8> {
    let mut key = name.as_bytes().to_vec();
    key.push(0);
    key
}

fn decode_letter(name: &str, raw: &[u8]) -> Result<DeadLetter, SubStoreError> {
    serde_json::from_slice(raw)
        .map_err(|e| SubStoreError::Unreadable(format!("a dead letter of {name}: {e}")))
}

impl SubStore {
    /// Opens (or creates) the subscription trees in `db`.
    pub(crate) fn open(db: &sled::Db) -> Result<Self, SubStoreError> {
        Ok(Self {
            retired: db.open_tree("retired_generations")?,
            subs: db.open_tree("subscriptions")?,
            cursors: db.open_tree("cursors")?,
            dead: db.open_tree("dead_letters")?,
            in_flight: db.open_tree("in_flight")?,
        })
    }

    /// Every stored subscription with its cursor.
    pub(crate) fn all(&self) -> Result<Vec<(String, StoredSub, StoredCursor)>, SubStoreError> {
        let mut out = Vec::new();
        for item in self.subs.iter() {
            let (key, value) = item?;
            let name = String::from_utf8_lossy(&key).into_owned();
            let sub = serde_json::from_slice(&value)
                .map_err(|e| SubStoreError::Unreadable(format!("settings of {name}: {e}")))?;
            let cursor = self.cursor(&name)?.ok_or_else(|| {
                SubStoreError::Unreadable(format!("subscription {name} has no cursor"))
            })?;
            out.push((name, sub, cursor));
        }
        Ok(out)
    }

    /// Stores settings (and, for a new subscription, the cursor) in one write; `false`, and
    /// nothing written, when updating (`cursor` `None`) a subscription deleted meanwhile.
    pub(crate) fn save(
        &self,
        name: &str,
        sub: &StoredSub,
        cursor: Option<StoredCursor>,
    ) -> Result<bool, SubStoreError> {
        let value = serde_json::to_vec(sub)?;
        let result = (&self.subs, &self.cursors).transaction(|(subs, cursors)| {
            match cursor {
                Some(c) => cursors.insert(name.as_bytes(), &c.encode()).map(drop)?,
                // Settings without a cursor would make the next start fail.
                None if cursors.get(name.as_bytes())?.is_none() => {
                    return Err(ConflictableTransactionError::Abort(()))
                }
                None => {}
            }
            subs.insert(name.as_bytes(), value.as_slice())?;
            Ok(())
        });
        committed(result)
    }

    /// The generation a new subscription called `name` starts at: above any that a deleted
    /// one of the same name reached.
    pub(crate) fn first_generation(&self, name: &str) -> Result<u64, SubStoreError> {
        let retired = self
            .retired
            .get(name)?
            .and_then(|raw| raw.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0);
        Ok(retired + 1)
    }

    /// The stored cursor of `name`; `None` once it is deleted.
    pub(crate) fn cursor(&self, name: &str) -> Result<Option<StoredCursor>, SubStoreError> {
        match self.cursors.get(name)? {
            Some(raw) => StoredCursor::decode(&raw)
                .map(Some)
                .ok_or_else(|| SubStoreError::Unreadable(format!("cursor of {name}"))),
            None => Ok(None),
        }
    }

    /// Replaces `expected` by `new`; `false` if the stored cursor is no longer `expected`.
    pub(crate) fn swap_cursor(
        &self,
        name: &str,
        expected: StoredCursor,
        new: StoredCursor,
    ) -> Result<bool, SubStoreError> {
        Ok(self
            .cursors
            .compare_and_swap(name, Some(&expected.encode()[..]), Some(&new.encode()[..]))?
            .is_ok())
    }

    /// Parks `letter` and moves the cursor from `expected` to `new`, atomically; `false`
    /// (and nothing parked) if the cursor is no longer `expected`.
    pub(crate) fn park(
        &self,
        name: &str,
        expected: StoredCursor,
        new: StoredCursor,
        letter: &DeadLetter,
    ) -> Result<bool, SubStoreError> {
        let value = serde_json::to_vec(letter)?;
        let result = (&self.cursors, &self.dead).transaction(|(cursors, dead)| {
            if cursors.get(name.as_bytes())?.as_deref() != Some(&expected.encode()[..]) {
                return Err(ConflictableTransactionError::Abort(()));
            }
            cursors.insert(name.as_bytes(), &new.encode())?;
            dead.insert(dead_key(name, letter.seq), value.as_slice())?;
            Ok(())
        });
        committed(result)
    }

    /// Stores a dead letter as it is now (after a retry that failed again).
    pub(crate) fn put_dead_letter(
        &self,
        name: &str,
        letter: &DeadLetter,
    ) -> Result<(), SubStoreError> {
        let value = serde_json::to_vec(letter)?;
        self.dead.insert(dead_key(name, letter.seq), value)?;
        Ok(())
    }

    /// The dead letter of `name` at `seq`, if that event is parked.
    pub(crate) fn dead_letter(
        &self,
        name: &str,
        seq: u64,
    ) -> Result<Option<DeadLetter>, SubStoreError> {
        self.dead
            .get(dead_key(name, seq))?
            .map(|v| decode_letter(name, &v))
            .transpose()
    }

    /// The dead letters of `name`, in seq order.
    pub(crate) fn dead_letters(&self, name: &str) -> Result<Vec<DeadLetter>, SubStoreError> {
        self.dead
            .scan_prefix(dead_prefix(name))
            .map(|item| {
                let (_, v) = item?;
                decode_letter(name, &v)
            })
            .collect()
    }

    /// How many dead letters `name` has.
    pub(crate) fn dead_letter_count(&self, name: &str) -> u64 {
        self.dead.scan_prefix(dead_prefix(name)).keys().count() as u64
    }

    /// Removes one dead letter; `false` if there was none.
    pub(crate) fn remove_dead_letter(&self, name: &str, seq: u64) -> Result<bool, SubStoreError> {
        Ok(self.dead.remove(dead_key(name, seq))?.is_some())
    }

    /// Removes a subscription, its cursor, its seqs in flight and its dead letters.
    pub(crate) fn delete(&self, name: &str) -> Result<(), SubStoreError> {
        // Never aborts: the bool says nothing here.
        let trees = (&self.subs, &self.cursors, &self.retired, &self.in_flight);
        committed(trees.transaction(|(subs, cursors, retired, in_flight)| {
            subs.remove(name.as_bytes())?;
            in_flight.remove(name.as_bytes())?;
            if let Some(c) = cursors
                .remove(name.as_bytes())?
                .and_then(|raw| StoredCursor::decode(&raw))
            {
                retired.insert(name.as_bytes(), &c.generation.to_be_bytes())?;
            }
            Ok::<_, ConflictableTransactionError<()>>(())
        }))?;
        for key in self.dead.scan_prefix(dead_prefix(name)).keys() {
            self.dead.remove(key?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> SubStore {
        let db = sled::Config::new().temporary(true).open().unwrap();
        SubStore::open(&db).unwrap()
    }

    fn sub() -> StoredSub {
        StoredSub {
            spec: SubscriptionSpec::new("http://127.0.0.1:1/events"),
            paused: None,
            blocked: None,
            blocked_after: None,
        }
    }

    const START: StoredCursor = StoredCursor {
        generation: 1,
        after: 0,
        delivered: 0,
    };

    #[test]
    fn an_update_after_a_delete_does_not_store_settings_without_a_cursor() {
        let store = store();
        assert!(store.save("s", &sub(), Some(START)).unwrap());
        assert!(store.save("s", &sub(), None).unwrap(), "an update");
        store.delete("s").unwrap();
        let paused = StoredSub {
            paused: Some("gone".into()),
            ..sub()
        };
        assert!(!store.save("s", &paused, None).unwrap());
        assert!(store.all().unwrap().is_empty());
    }

    #[test]
    fn cursors_move_only_from_the_expected_value() {
        let store = store();
        store.save("s", &sub(), Some(START)).unwrap();
        let next = StoredCursor {
            after: 5,
            delivered: 5,
            ..START
        };
        assert!(store.swap_cursor("s", START, next).unwrap());
        assert!(!store.swap_cursor("s", START, next).unwrap(), "stale");
        let letter = DeadLetter {
            seq: 6,
            reason: "test".into(),
            attempts: 1,
            last_status: Some(422),
            last_error: None,
            time: "2026-01-01T00:00:00.000Z".into(),
        };
        let parked = StoredCursor { after: 6, ..next };
        assert!(!store.park("s", START, parked, &letter).unwrap(), "stale");
        assert!(store.dead_letters("s").unwrap().is_empty());
        assert!(store.park("s", next, parked, &letter).unwrap());
        assert_eq!(store.cursor("s").unwrap(), Some(parked));
        assert_eq!(store.dead_letter_count("s"), 1);
        store.delete("s").unwrap();
        assert_eq!(store.cursor("s").unwrap(), None);
        assert_eq!(store.dead_letter_count("s"), 0);
        assert!(!store.swap_cursor("s", parked, next).unwrap(), "deleted");
    }
}
