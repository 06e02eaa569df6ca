//! Start-up recovery of a [`SledLog`]: only what the last run may have left half-done is
//! checked. The tail after the verified head must be gapless, and its index entries are
//! rebuilt from the log if missing (the log is the truth); anything else wrong refuses the
//! start.

use super::{key_seq, parse, seq_key, stream_key, Recovery, SledLog, META_VERIFIED_HEAD};
use crate::daemon::store::{EventLog, StoreError, StoredEvent};

impl SledLog {
    pub(super) fn verified_head(&self) -> Result<u64, StoreError> {
        match self.meta.get(META_VERIFIED_HEAD)? {
            Some(v) => key_seq(&v),
            None => Err(StoreError::Corrupt(
                "the verified head marker is missing".into(),
            )),
        }
    }

    /// Checks the events after the verified head and rebuilds their missing index entries.
    pub(super) fn recover_tail(&self) -> Result<Recovery, StoreError> {
        let verified = self.verified_head()?;
        let head = self.last_seq()?;
        if let Some((first, _)) = self.events.first()? {
            if key_seq(&first)? != 1 {
                return Err(StoreError::Corrupt(
                    "the log does not start at seq 1".into(),
                ));
            }
        }
        if verified > head {
            return Err(StoreError::Corrupt(format!(
                "the verified head is {verified} but the log ends at {head}"
            )));
        }
        if verified > 0 && self.events.get(seq_key(verified))?.is_none() {
            return Err(StoreError::Corrupt(format!("event {verified} is missing")));
        }
        let mut recovery = Recovery {
            head,
            created: false,
            tail_checked: 0,
            rebuilt: 0,
        };
        for (expected, item) in (verified + 1..).zip(self.events.range(seq_key(verified + 1)..)) {
            let (key, value) = item?;
            let seq = key_seq(&key)?;
            if seq != expected {
                return Err(StoreError::Corrupt(format!("seq {expected} is missing")));
            }
            recovery.rebuilt += self.rebuild_indexes(&parse(seq, value)?)?;
            recovery.tail_checked += 1;
        }
        if head > verified {
            self.meta.insert(META_VERIFIED_HEAD, &seq_key(head))?;
            self.flush()?;
        }
        Ok(recovery)
    }

    fn rebuild_indexes(&self, event: &StoredEvent) -> Result<u64, StoreError> {
        let seq = seq_key(event.seq());
        let mut rebuilt = 0;
        match self.ids.get(event.id())? {
            Some(s) if s == seq => {}
            Some(s) => {
                return Err(StoreError::Corrupt(format!(
                    "id {} is indexed at seq {} and stored again at {}",
                    event.id(),
                    key_seq(&s)?,
                    event.seq()
                )))
            }
            None => {
                self.ids.insert(event.id(), &seq)?;
                rebuilt += 1;
            }
        }
        if let (Some(stream), Some(version)) = (event.stream(), event.version()) {
            let key = stream_key(stream, version);
            if self.streams.get(&key)?.is_none() {
                self.streams.insert(key, &seq)?;
                rebuilt += 1;
            }
        }
        Ok(rebuilt)
    }
}
