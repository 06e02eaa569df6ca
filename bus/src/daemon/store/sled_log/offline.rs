//! What the offline tools (`minibus bus import`, `minibus bus check`) need of a stopped
//! store beyond the daemon's [`EventLog`](super::EventLog): its trees as they are on disk,
//! with no tail recovered (for the check), and, for an import, giving an empty store the
//! exported log id and undoing the events an import appended.

use super::{
    key_seq, parse, seq_key, stream_key, SledLog, IMPORT_CONTINUED, META_IMPORT_INCOMPLETE,
    META_LOG_ID, META_VERIFIED_HEAD,
};
use crate::daemon::store::{NewRecord, StoreError};
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
    /// page cache of `cache_mb` MiB; refuses one that is not a bus store.
    pub(in crate::daemon::store) fn open(dir: &Path, cache_mb: u64) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_mb.saturating_mul(1024 * 1024))
            .open()?;
        super::refuse_other_databases(dir, &db)?;
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

    /// Marks the store as being continued by an import, before its first event: a store
    /// left so by a killed import is refused at its next open. (sled makes writes durable
    /// in log order: no event of the import is on disk without the mark.)
    pub(in crate::daemon::store) fn begin_import(&self) -> Result<(), StoreError> {
        self.meta.insert(META_IMPORT_INCOMPLETE, IMPORT_CONTINUED)?;
        Ok(())
    }

    /// Removes the mark of an unfinished import (once its events are all in, or undone),
    /// and makes it durable.
    pub(in crate::daemon::store) fn end_import(&self) -> Result<(), StoreError> {
        self.meta.remove(META_IMPORT_INCOMPLETE)?;
        super::EventLog::flush(self)
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

/// An import's writes, split so that threads can share them: the records of a batch first,
/// then (once they are written) its index entries, so that no index entry is ever ahead of
/// its event in sled's log; the verified-head marker last.
impl SledLog {
    /// Inserts the records of `records` (consecutive seqs after the log's last).
    pub(in crate::daemon::store) fn insert_records(
        &self,
        records: &[NewRecord],
    ) -> Result<(), StoreError> {
        for r in records {
            self.events.insert(seq_key(r.seq), r.raw.as_slice())?;
        }
        Ok(())
    }

    /// Inserts the `ids` entries of `records`, whose records are inserted.
    pub(in crate::daemon::store) fn insert_id_entries(
        &self,
        records: &[NewRecord],
    ) -> Result<(), StoreError> {
        for r in records {
            self.ids.insert(r.id.as_bytes(), &seq_key(r.seq))?;
        }
        Ok(())
    }

    /// Inserts the `streams` entries of `records`, whose records are inserted.
    pub(in crate::daemon::store) fn insert_stream_entries(
        &self,
        records: &[NewRecord],
    ) -> Result<(), StoreError> {
        for r in records {
            if let Some((stream, version)) = &r.stream {
                self.streams
                    .insert(stream_key(stream, *version), &seq_key(r.seq))?;
            }
        }
        Ok(())
    }

    /// Sets the verified-head marker: every index entry up to `head` is written.
    pub(in crate::daemon::store) fn mark_verified(&self, head: u64) -> Result<(), StoreError> {
        self.meta.insert(META_VERIFIED_HEAD, &seq_key(head))?;
        Ok(())
    }
}
