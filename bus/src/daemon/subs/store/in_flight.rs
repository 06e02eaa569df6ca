//! The seqs a subscription with `delivery: "at_most_once"` has sent and has no verdict for
//! yet, in a tree of their own (`in_flight`: name → `generation | seq…`).
//!
//! They are written in one transaction with the cursor moved past them, and made durable
//! (the caller flushes) before the request goes out; settling the verdict removes them in
//! one transaction with the cursor or dead letters it stores. Whatever is still there at
//! start was in flight when the bus stopped without an answer: it is parked as
//! [`OUTCOME_UNKNOWN`], so that nothing is sent twice and nothing is lost silently.

use super::{committed_value, dead_key, StoredCursor, SubStore, SubStoreError};
use crate::envelope::format_time;
use crate::wire::DeadLetter;
use sled::transaction::{ConflictableTransactionError, Transactional};

/// The reason of a dead letter for a seq the bus sent and never saw answered.
pub(crate) const OUTCOME_UNKNOWN: &str = "outcome_unknown";

/// Seqs in flight as stored: the generation they were sent in, then each seq.
fn encode(generation: u64, seqs: &[u64]) -> Vec<u8> {
    std::iter::once(generation)
        .chain(seqs.iter().copied())
        .flat_map(u64::to_be_bytes)
        .collect()
}

/// The generation and the seqs of a stored in-flight record.
fn decode(raw: &[u8]) -> Option<(u64, Vec<u64>)> {
    if raw.len() < 8 || !raw.len().is_multiple_of(8) {
        return None;
    }
    let mut words = raw
        .chunks_exact(8)
        .map(|w| w.try_into().map(u64::from_be_bytes));
    let generation = words.next()?.ok()?;
    Some((generation, words.collect::<Result<_, _>>().ok()?))
}

fn unreadable(name: &str) -> SubStoreError {
    SubStoreError::Unreadable(format!("the seqs in flight of {name}"))
}

impl SubStore {
    /// Moves the cursor from `expected` to `sent` (past the events about to be sent) and
    /// records `seqs` as in flight, atomically; `false` (nothing written) if the cursor is
    /// no longer `expected`. Not durable until the caller flushes.
    pub(crate) fn send_in_flight(
        &self,
        name: &str,
        expected: StoredCursor,
        sent: StoredCursor,
        seqs: &[u64],
    ) -> Result<bool, SubStoreError> {
        let record = encode(sent.generation, seqs);
        let result = (&self.cursors, &self.in_flight).transaction(|(cursors, in_flight)| {
            if cursors.get(name.as_bytes())?.as_deref() != Some(&expected.encode()[..]) {
                return Ok(false);
            }
            cursors.insert(name.as_bytes(), &sent.encode())?;
            in_flight.insert(name.as_bytes(), record.as_slice())?;
            Ok::<_, ConflictableTransactionError<()>>(true)
        });
        committed_value(result)
    }

    /// Settles the request sent with [`SubStore::send_in_flight`] at cursor `sent`: if the
    /// cursor is still `sent`, stores `new` (when given) and parks `letters`; in any case
    /// removes the in-flight record of `sent`'s generation. `false` when an operator (a
    /// rewind, reset, skip or delete) moved the cursor meanwhile: the verdict is thrown away.
    pub(crate) fn settle_in_flight(
        &self,
        name: &str,
        sent: StoredCursor,
        new: Option<StoredCursor>,
        letters: &[DeadLetter],
    ) -> Result<bool, SubStoreError> {
        let values = letters
            .iter()
            .map(|l| Ok((dead_key(name, l.seq), serde_json::to_vec(l)?)))
            .collect::<Result<Vec<_>, SubStoreError>>()?;
        let trees = (&self.cursors, &self.dead, &self.in_flight);
        let result = trees.transaction(|(cursors, dead, in_flight)| {
            let record = in_flight.get(name.as_bytes())?;
            if record.and_then(|raw| decode(&raw)).map(|(g, _)| g) == Some(sent.generation) {
                in_flight.remove(name.as_bytes())?;
            }
            if cursors.get(name.as_bytes())?.as_deref() != Some(&sent.encode()[..]) {
                return Ok(false);
            }
            if let Some(new) = new {
                cursors.insert(name.as_bytes(), &new.encode())?;
            }
            for (key, value) in &values {
                dead.insert(key.as_slice(), value.as_slice())?;
            }
            Ok::<_, ConflictableTransactionError<()>>(true)
        });
        committed_value(result)
    }

    /// The seqs `name` has in flight, if any.
    pub(crate) fn in_flight(&self, name: &str) -> Result<Vec<u64>, SubStoreError> {
        match self.in_flight.get(name)? {
            Some(raw) => Ok(decode(&raw).ok_or_else(|| unreadable(name))?.1),
            None => Ok(Vec::new()),
        }
    }

    /// At start: parks every seq `name` had in flight when the bus stopped, as
    /// [`OUTCOME_UNKNOWN`] (the subscriber may or may not have processed it), and removes
    /// the record; the seqs parked.
    pub(crate) fn park_in_flight(&self, name: &str) -> Result<Vec<u64>, SubStoreError> {
        let seqs = self.in_flight(name)?;
        if seqs.is_empty() {
            return Ok(seqs);
        }
        let time = format_time(chrono::Utc::now().timestamp_millis());
        let letters = seqs
            .iter()
            .map(|&seq| {
                let letter = DeadLetter {
                    seq,
                    reason: OUTCOME_UNKNOWN.into(),
                    attempts: 1,
                    last_status: None,
                    last_error: Some(
                        "sent with delivery at_most_once; the bus stopped before an answer came"
                            .into(),
                    ),
                    time: time.clone(),
                };
                Ok((dead_key(name, seq), serde_json::to_vec(&letter)?))
            })
            .collect::<Result<Vec<_>, SubStoreError>>()?;
        let result = (&self.dead, &self.in_flight).transaction(|(dead, in_flight)| {
            for (key, value) in &letters {
                dead.insert(key.as_slice(), value.as_slice())?;
            }
            in_flight.remove(name.as_bytes())?;
            Ok::<_, ConflictableTransactionError<()>>(())
        });
        committed_value(result)?;
        Ok(seqs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::subs::store::StoredSub;
    use crate::wire::SubscriptionSpec;

    const START: StoredCursor = StoredCursor {
        generation: 1,
        after: 0,
        delivered: 0,
    };
    const SENT: StoredCursor = StoredCursor { after: 3, ..START };

    /// A store holding `s` at [`START`].
    fn store() -> SubStore {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let store = SubStore::open(&db).unwrap();
        let sub = StoredSub {
            spec: SubscriptionSpec::new("http://127.0.0.1:1/events"),
            paused: None,
            blocked: None,
            blocked_after: None,
        };
        assert!(store.save("s", &sub, Some(START)).unwrap());
        store
    }

    fn letter(seq: u64) -> DeadLetter {
        DeadLetter {
            seq,
            reason: "test".into(),
            attempts: 1,
            last_status: Some(500),
            last_error: None,
            time: "2026-01-01T00:00:00.000Z".into(),
        }
    }

    #[test]
    fn a_request_moves_the_cursor_and_is_in_flight_until_settled() {
        let store = store();
        assert!(
            !store.send_in_flight("s", SENT, SENT, &[2, 3]).unwrap(),
            "stale"
        );
        assert!(store.in_flight("s").unwrap().is_empty());
        assert!(store.send_in_flight("s", START, SENT, &[2, 3]).unwrap());
        assert_eq!(store.cursor("s").unwrap(), Some(SENT));
        assert_eq!(store.in_flight("s").unwrap(), [2, 3]);

        let failed = [letter(2), letter(3)];
        assert!(store.settle_in_flight("s", SENT, None, &failed).unwrap());
        assert!(store.in_flight("s").unwrap().is_empty());
        assert_eq!(store.cursor("s").unwrap(), Some(SENT), "already past them");
        assert_eq!(store.dead_letter_count("s"), 2);
        assert!(
            store.park_in_flight("s").unwrap().is_empty(),
            "nothing left"
        );
    }

    #[test]
    fn a_verdict_after_an_operator_moved_the_cursor_only_clears_the_record() {
        let store = store();
        assert!(store.send_in_flight("s", START, SENT, &[3]).unwrap());
        let rewound = StoredCursor {
            generation: 2,
            ..START
        };
        assert!(store.swap_cursor("s", SENT, rewound).unwrap());
        let acked = StoredCursor {
            delivered: 1,
            ..SENT
        };
        assert!(!store
            .settle_in_flight("s", SENT, Some(acked), &[letter(3)])
            .unwrap());
        assert_eq!(store.cursor("s").unwrap(), Some(rewound));
        assert_eq!(store.dead_letter_count("s"), 0);
        assert!(store.in_flight("s").unwrap().is_empty());
    }

    #[test]
    fn a_record_of_another_generation_is_left_alone() {
        let store = store();
        let next = StoredCursor {
            generation: 2,
            ..SENT
        };
        assert!(store.send_in_flight("s", START, next, &[3]).unwrap());
        // A late verdict of generation 1 (a loop of a deleted namesake).
        assert!(!store.settle_in_flight("s", SENT, None, &[]).unwrap());
        assert_eq!(store.in_flight("s").unwrap(), [3]);
    }

    #[test]
    fn what_was_in_flight_at_start_is_parked_as_outcome_unknown() {
        let store = store();
        assert!(store.send_in_flight("s", START, SENT, &[1, 3]).unwrap());
        assert_eq!(store.park_in_flight("s").unwrap(), [1, 3]);
        let letters = store.dead_letters("s").unwrap();
        assert_eq!(letters.iter().map(|l| l.seq).collect::<Vec<_>>(), [1, 3]);
        assert!(letters
            .iter()
            .all(|l| l.reason == OUTCOME_UNKNOWN && l.last_status.is_none()));
        assert!(store.in_flight("s").unwrap().is_empty());
        assert_eq!(store.cursor("s").unwrap(), Some(SENT));
    }

    #[test]
    fn a_delete_removes_the_record() {
        let store = store();
        assert!(store.send_in_flight("s", START, SENT, &[3]).unwrap());
        store.delete("s").unwrap();
        assert!(store.in_flight("s").unwrap().is_empty());
    }

    #[test]
    fn records_round_trip_and_damaged_ones_are_refused() {
        let raw = encode(3, &[5, 7, 9]);
        assert_eq!(decode(&raw), Some((3, vec![5, 7, 9])));
        assert_eq!(decode(&encode(3, &[])), Some((3, vec![])));
        assert_eq!(decode(&raw[..raw.len() - 1]), None, "cut short");
        assert_eq!(decode(&[]), None, "no generation");
    }
}
