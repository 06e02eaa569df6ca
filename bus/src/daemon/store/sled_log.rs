//! The sled engine of [`EventLog`].
//!
//! Trees: `events` (seq → record), `ids` (id → seq), `streams` (stream \0 version → seq),
//! `meta` (log id, format, and the *verified head*: the last seq whose index entries are
//! known to be complete, written last by each append).
//!
//! On open, only what the last run may have left half-done is checked: the tail after the
//! verified head must be gapless, and its index entries are rebuilt from the log if missing
//! (the log is the truth). Anything else wrong refuses the start; the full check of a store
//! is `minibus bus check`'s job.

mod offline;
mod recovery;

pub(super) use offline::Trees;

use super::{EventLog, Filter, NewRecord, Scan, StoreError, StoredEvent};
use crate::sled_store::DurableFiles;
use bytes::Bytes;
use std::path::Path;
use std::sync::Arc;

pub(super) const META_LOG_ID: &[u8] = b"log_id";
pub(super) const META_FORMAT: &[u8] = crate::sled_store::BUS_FORMAT_KEY;
pub(super) const META_VERIFIED_HEAD: &[u8] = b"verified_head";
pub(super) const FORMAT: &[u8] = b"minibus-log-1";
/// Present while an import writes into the store: [`IMPORT_CREATED`] or
/// [`IMPORT_CONTINUED`]. A store holding it is refused (the import was killed half-way).
pub(super) const META_IMPORT_INCOMPLETE: &[u8] = b"import_incomplete";
/// [`META_IMPORT_INCOMPLETE`]'s value when the import created the store.
pub(super) const IMPORT_CREATED: &[u8] = b"created";
/// [`META_IMPORT_INCOMPLETE`]'s value when the import continued a store.
pub(super) const IMPORT_CONTINUED: &[u8] = b"continued";

/// What opening the store found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The last seq in the log.
    pub head: u64,
    /// Whether this open created the store.
    pub created: bool,
    /// Events after the verified head that were checked.
    pub tail_checked: u64,
    /// Index entries rebuilt from the log.
    pub rebuilt: u64,
}

/// The event log in a sled database. Cheap to clone.
#[derive(Clone)]
pub struct SledLog {
    db: sled::Db,
    events: sled::Tree,
    ids: sled::Tree,
    streams: sled::Tree,
    meta: sled::Tree,
    log_id: String,
    /// sled's files, `fdatasync`ed after each flush (see `durable.rs` for why).
    durable: Arc<DurableFiles>,
    /// Test hook: called before every scan (a test makes some scans slow with it).
    #[cfg(test)]
    before_scan: Arc<std::sync::Mutex<Option<ScanHook>>>,
}

/// What a test runs before each scan, given the scan's filter.
#[cfg(test)]
type ScanHook = Arc<dyn Fn(&Filter) + Send + Sync>;

/// Refuses a sled database that holds data but is not a bus store (its meta tree has no
/// format key): another service's data dir, say, which opening its trees would change.
/// A blank database (every tree empty) passes: the store is created in it.
pub(super) fn refuse_other_databases(dir: &Path, db: &sled::Db) -> Result<(), StoreError> {
    if db.tree_names().iter().any(|name| name.as_ref() == b"meta") {
        let meta = db.open_tree("meta")?;
        if meta.get(META_FORMAT)?.is_some() {
            return Ok(());
        }
    }
    for name in db.tree_names() {
        if !db.open_tree(&name)?.is_empty() {
            return Err(StoreError::NotABusStore(dir.into()));
        }
    }
    Ok(())
}

pub(super) fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

pub(super) fn key_seq(key: &[u8]) -> Result<u64, StoreError> {
    key.try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| StoreError::Corrupt(format!("a key of {} bytes in a seq tree", key.len())))
}

pub(super) fn stream_key(stream: &str, version: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(stream.len() + 9);
    key.extend_from_slice(stream.as_bytes());
    key.push(0);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

fn stream_prefix(stream: &str) -> Vec<u8> {
    let mut key = stream.as_bytes().to_vec();
    key.push(0);
    key
}

pub(super) fn parse(seq: u64, value: sled::IVec) -> Result<StoredEvent, StoreError> {
    StoredEvent::parse(seq, Bytes::from_owner(value))
        .ok_or_else(|| StoreError::Corrupt(format!("event {seq} is not a readable record")))
}

impl SledLog {
    /// Opens (or creates) the store in `dir` with a page cache of `cache_mb` MiB, and
    /// recovers the tail the last run may have left half-done.
    ///
    /// Unfinished snapshots are removed first (see [`Self::remove_unfinished_snapshots`]).
    pub fn open(dir: &Path, cache_mb: u64) -> Result<(Self, Recovery), StoreError> {
        Self::open_as(dir, cache_mb, None)
    }

    /// [`Self::open`], giving a store this creates the log id `new_log_id` (an import
    /// keeps the exported log's) instead of a new UUID.
    pub(super) fn open_as(
        dir: &Path,
        cache_mb: u64,
        new_log_id: Option<&str>,
    ) -> Result<(Self, Recovery), StoreError> {
        Self::remove_unfinished_snapshots(dir).map_err(|e| StoreError::Engine(e.into()))?;
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_mb.saturating_mul(1024 * 1024))
            // Subscription cursors are written without a flush of their own: this bounds
            // how long one stays in memory only (DESIGN: durable within 100 ms).
            .flush_every_ms(Some(100))
            .open()?;
        let durable = DurableFiles::open(dir).map_err(StoreError::SyncFailed)?;
        Self::from_db(dir, db, Arc::new(durable), new_log_id)
    }

    /// Removes the snapshot files in `dir` that sled 0.34 would refuse to start on: a
    /// `snap.<lsn>.generating` (sled writes a snapshot there, syncs it, then renames it, so
    /// one left behind was never finished: a start that failed on a full disk leaves a
    /// 0-byte one) and a `snap.<lsn>` of 12 bytes or less (not even its length and CRC).
    /// sled reads only the newest snapshot and answers "Read corrupted data" for such a
    /// file, at every start; a snapshot is only where sled's replay of its log begins, so
    /// without it sled begins at an older snapshot, or at the start of the log.
    fn remove_unfinished_snapshots(dir: &Path) -> std::io::Result<()> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with("snap.") {
                continue;
            }
            let bytes = entry.metadata()?.len();
            if name.ends_with(".generating") || bytes <= 12 {
                std::fs::remove_file(entry.path())?;
                tracing::warn!(file = %entry.path().display(), bytes, "removed an unfinished sled snapshot");
            }
        }
        Ok(())
    }

    /// Makes every later flush fail (`true`) as a failing disk would, or work again.
    #[cfg(test)]
    pub(crate) fn fail_syncs(&self, fail: bool) {
        self.durable.fail_syncs(fail);
    }

    /// Runs `hook` before every later scan, with its filter (a disk that is slow for some
    /// reads).
    #[cfg(test)]
    pub(crate) fn before_scan(&self, hook: impl Fn(&Filter) + Send + Sync + 'static) {
        *self.before_scan.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(hook));
    }

    /// The sled database, for the other trees of the daemon (subscriptions).
    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    fn from_db(
        dir: &Path,
        db: sled::Db,
        durable: Arc<DurableFiles>,
        new_log_id: Option<&str>,
    ) -> Result<(Self, Recovery), StoreError> {
        refuse_other_databases(dir, &db)?;
        let events = db.open_tree("events")?;
        let meta = db.open_tree("meta")?;
        if let Some(unfinished) = meta.get(META_IMPORT_INCOMPLETE)? {
            return Err(StoreError::ImportUnfinished {
                dir: dir.into(),
                continued: unfinished == IMPORT_CONTINUED,
            });
        }
        let created = meta.get(META_LOG_ID)?.is_none();
        if created {
            if !events.is_empty() {
                return Err(StoreError::Corrupt(
                    "events are stored but the store has no log_id".into(),
                ));
            }
            // One batch: a crash cannot leave a log id without the other two.
            let log_id = new_log_id.map_or_else(|| uuid::Uuid::new_v4().to_string(), Into::into);
            let mut first = sled::Batch::default();
            first.insert(META_FORMAT, FORMAT);
            first.insert(META_VERIFIED_HEAD, &seq_key(0));
            first.insert(META_LOG_ID, log_id.as_bytes());
            if new_log_id.is_some() {
                // Only an import gives the log id: it removes this once it is done.
                first.insert(META_IMPORT_INCOMPLETE, IMPORT_CREATED);
            }
            meta.apply_batch(first)?;
            db.flush()?;
            durable.sync(&[]).map_err(StoreError::SyncFailed)?;
        }
        match meta.get(META_FORMAT)? {
            Some(f) if f == FORMAT => {}
            other => {
                return Err(StoreError::Corrupt(format!(
                    "unknown store format {:?}; is this a minibus bus data dir?",
                    other.map(|f| String::from_utf8_lossy(&f).into_owned())
                )))
            }
        }
        let log_id = meta
            .get(META_LOG_ID)?
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default();
        let log = Self {
            ids: db.open_tree("ids")?,
            streams: db.open_tree("streams")?,
            events,
            meta,
            db,
            log_id,
            durable,
            #[cfg(test)]
            before_scan: Arc::default(),
        };
        let mut recovery = log.recover_tail()?;
        recovery.created = created;
        Ok((log, recovery))
    }
}

impl EventLog for SledLog {
    fn log_id(&self) -> &str {
        &self.log_id
    }

    fn last_seq(&self) -> Result<u64, StoreError> {
        match self.events.last()? {
            Some((key, _)) => key_seq(&key),
            None => Ok(0),
        }
    }

    fn get(&self, seq: u64) -> Result<Option<StoredEvent>, StoreError> {
        self.events
            .get(seq_key(seq))?
            .map(|v| parse(seq, v))
            .transpose()
    }

    fn seq_of_id(&self, id: &str) -> Result<Option<u64>, StoreError> {
        self.ids.get(id)?.map(|v| key_seq(&v)).transpose()
    }

    fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        match self.streams.scan_prefix(stream_prefix(stream)).next_back() {
            Some(item) => {
                let (key, _) = item?;
                key_seq(&key[key.len() - 8..])
            }
            None => Ok(0),
        }
    }

    fn scan(
        &self,
        after: u64,
        up_to: u64,
        filter: &Filter,
        max_matches: usize,
        max_examined: usize,
    ) -> Result<Scan, StoreError> {
        #[cfg(test)]
        {
            let hook = self.before_scan.lock().map(|h| h.clone()).ok().flatten();
            if let Some(hook) = hook {
                hook(filter);
            }
        }
        let mut scan = Scan {
            events: Vec::new(),
            last_examined: after,
        };
        if after >= up_to {
            return Ok(scan);
        }
        for item in self
            .events
            .range(seq_key(after + 1)..=seq_key(up_to))
            .take(max_examined)
        {
            let (key, value) = item?;
            let event = parse(key_seq(&key)?, value)?;
            scan.last_examined = event.seq();
            if filter.matches(&event) {
                scan.events.push(event);
                if scan.events.len() >= max_matches {
                    break;
                }
            }
        }
        Ok(scan)
    }

    fn stream_events(
        &self,
        stream: &str,
        after_version: u64,
        up_to: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let start = stream_key(stream, after_version.saturating_add(1));
        let end = stream_key(stream, u64::MAX);
        let mut out = Vec::new();
        for item in self.streams.range(start..=end) {
            let (_, seq) = item?;
            let seq = key_seq(&seq)?;
            if seq > up_to || out.len() >= limit {
                break;
            }
            match self.get(seq)? {
                Some(event) => out.push(event),
                None => {
                    return Err(StoreError::Corrupt(format!(
                        "stream index points at missing event {seq}"
                    )))
                }
            }
        }
        Ok(out)
    }

    fn append(&self, records: &[NewRecord], atomic: bool) -> Result<(), StoreError> {
        let Some(last) = records.last() else {
            return Ok(());
        };
        // The log first, then the index entries, then the verified-head marker. sled makes
        // writes durable in log order, so a crash leaves a prefix of them: records after the
        // marker are checked, and their missing index entries rebuilt, when the store opens.
        //
        // Plain inserts, not `apply_batch`: every sled batch (and transaction) seals the IO
        // buffer before and after its manifest, i.e. two more writes and fsyncs, and one
        // batch per tree made ~4 of them per group commit. Only an array publish needs its
        // records all-or-nothing, and only then do the records go in one batch.
        if atomic {
            let mut batch = sled::Batch::default();
            for r in records {
                batch.insert(&seq_key(r.seq), r.raw.as_slice());
            }
            self.events.apply_batch(batch)?;
        } else {
            for r in records {
                self.events.insert(seq_key(r.seq), r.raw.as_slice())?;
            }
        }
        for r in records {
            let seq = seq_key(r.seq);
            self.ids.insert(r.id.as_bytes(), &seq)?;
            if let Some((stream, version)) = &r.stream {
                self.streams.insert(stream_key(stream, *version), &seq)?;
            }
        }
        self.meta.insert(META_VERIFIED_HEAD, &seq_key(last.seq))?;
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        // Blobs listed before the flush are complete after it (see durable.rs).
        let blobs = self
            .durable
            .unsynced_blobs()
            .map_err(StoreError::SyncFailed)?;
        self.db.flush()?;
        self.durable.sync(&blobs).map_err(StoreError::SyncFailed)
    }
}

#[cfg(test)]
mod tests;
