//! What the offline tools (`minibus bus import`, `minibus bus check`) need of a stopped
//! store beyond the daemon's [`EventLog`](super::EventLog): its trees as they are on disk,
//! with no tail recovered (for the check), and, for an import, giving an empty store the
//! exported log id and undoing the events an import appended.

use super::{key_seq, parse, seq_key, stream_key, SledLog, META_LOG_ID, META_VERIFIED_HEAD};
use crate::daemon::store::StoreError;
use std::path::Path;

/// The trees of a store, opened as they are: nothing created, nothing recovered.
pub(in crate::daemon::store) struct Trees {
    /// The database (the subscription trees are in it too).
    pub(in crate::daemon::store) db: sled::Db,
    /// seq → record.
    pub(in crate::daemon::store) events: sled::Tree,
    /// id → seq.
    pub(in crate::daemon::store) ids: sled::Tree,
    /// stream \0 version → seq.
    pub(in crate::daemon::store) streams: sled::Tree,
    /// log id, format, verified head.
    pub(in crate::daemon::store) meta: sled::Tree,
}

impl Trees {
    /// Opens the sled database in `dir` (which must hold one: sled would create it) with a
    /// page cache of `cache_mb` MiB.
    pub(in crate::daemon::store) fn open(dir: &Path, cache_mb: u64) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_mb.saturating_mul(1024 * 1024))
            .open()?;
        Ok(Self {
            events: db.open_tree("events")?,
            ids: db.open_tree("ids")?,
            streams: db.open_tree("streams")?,
            meta: db.open_tree("meta")?,
            db,
        })
    }
}

impl SledLog {
    /// Gives this store the log id `log_id` (an import keeps the exported log's), which only
    /// a store that holds no event may change. Not durable until the next flush.
    pub(in crate::daemon::store) fn replace_log_id_if_empty(
        &mut self,
        log_id: &str,
    ) -> Result<(), StoreError> {
        if self.log_id == log_id {
            return Ok(());
        }
        if !self.events.is_empty() {
            return Err(StoreError::Corrupt(
                "the log id of a store that holds events cannot change".into(),
            ));
        }
        self.meta.insert(META_LOG_ID, log_id.as_bytes())?;
        self.log_id = log_id.into();
        Ok(())
    }

    /// Removes the events after `head` and their index entries, and sets the verified head
    /// back to `head`: undoes an import that failed half-way. Made durable here.
    pub(in crate::daemon::store) fn truncate_after(&self, head: u64) -> Result<(), StoreError> {
        for item in self.events.range(seq_key(head + 1)..) {
            let (key, value) = item?;
            let seq = key_seq(&key)?;
            // A record too damaged to read has no index entries we could find.
            if let Ok(event) = parse(seq, value) {
                if self.ids.get(event.id())?.as_deref() == Some(&seq_key(seq)[..]) {
                    self.ids.remove(event.id())?;
                }
                if let (Some(stream), Some(version)) = (event.stream(), event.version()) {
                    self.streams.remove(stream_key(stream, version))?;
                }
            }
            self.events.remove(key)?;
        }
        self.meta.insert(META_VERIFIED_HEAD, &seq_key(head))?;
        super::EventLog::flush(self)
    }
}
