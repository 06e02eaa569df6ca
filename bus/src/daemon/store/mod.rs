//! The event log: the trait the rest of the daemon uses, and its sled engine.
//!
//! The trait is small on purpose (append, read after a seq, get, by id, stream, head), so
//! that a second engine can sit behind it later. Every method is synchronous: reads are
//! cheap (sled's page cache), and the one writer calls `append` and `flush` from its own
//! thread.
//!
//! Beside it, the offline tools on a stopped bus's store: [`import`] (an export file into
//! an empty store, or one it continues) and [`check`] (the whole store verified).

pub mod check;
pub mod import;
mod progress;
mod record;
mod sled_log;

pub use progress::{Progress, Silent};
pub(crate) use record::StoredEvent;
pub use record::{encode, RecordFields};
pub use sled_log::SledLog;

/// What a store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The engine failed (I/O error, disk full, lock held by another process).
    #[error("the storage engine failed")]
    Engine(#[from] sled::Error),
    /// Making a flush durable (`fdatasync`) failed: what was written may not be on disk.
    #[error("cannot sync the log to disk: {0}")]
    SyncFailed(std::io::Error),
    /// An import into the store was stopped half-way (killed): what it wrote is not the
    /// exported log, and a store it continued is not what it was.
    #[error("an import into {} did not finish: {}", .dir.display(), match .continued {
        true => "restore it from its backup",
        false => "delete it and import again",
    })]
    ImportUnfinished {
        /// The data dir.
        dir: std::path::PathBuf,
        /// Whether the import continued a store (rather than creating it).
        continued: bool,
    },
    /// The dir holds another sled database (another service's data dir, say).
    #[error("{} holds a sled database that is not a bus store", .0.display())]
    NotABusStore(std::path::PathBuf),
    /// The data on disk is not what this version wrote; the message says what and where.
    #[error("store damaged: {0}")]
    Corrupt(String),
}

/// Whether opening a store failed because another process holds its lock. sled 0.34.7
/// has no error of its own for it: it wraps `flock`'s `EWOULDBLOCK` in an
/// `ErrorKind::Other` whose message says "could not acquire lock", so only the text tells.
pub(crate) fn is_locked(e: &StoreError) -> bool {
    matches!(e, StoreError::Engine(sled::Error::Io(io))
        if io.kind() == std::io::ErrorKind::WouldBlock
            || io.to_string().contains("could not acquire lock"))
}

/// Waits (at most 10 s) until nothing holds sled's lock on `lock_file`: the last handle of
/// a store can be gone while one of sled's threads still finishes a write.
fn wait_released(lock_file: &std::path::Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        match std::fs::File::open(lock_file) {
            Ok(file) if file.try_lock().is_err() => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            _ => return,
        }
    }
}

/// Which events a read returns.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Event types to keep; empty keeps all.
    pub types: Vec<String>,
    /// Keep only this stream's events.
    pub stream: Option<String>,
}

impl Filter {
    /// Does `event` pass?
    pub fn matches(&self, event: &StoredEvent) -> bool {
        (self.types.is_empty() || self.types.iter().any(|t| t == event.ty()))
            && self
                .stream
                .as_deref()
                .is_none_or(|s| event.stream() == Some(s))
    }
}

/// The result of a bounded scan.
#[derive(Debug, Default)]
pub struct Scan {
    /// Matching events in seq order.
    pub events: Vec<StoredEvent>,
    /// The last seq looked at (matching or not); the next scan starts after it.
    pub last_examined: u64,
}

/// One event ready to append: its seq, indexes and encoded record.
#[derive(Debug, Clone)]
pub struct NewRecord {
    /// The seq the writer assigned.
    pub seq: u64,
    /// The event id (unique).
    pub id: String,
    /// The stream and the version the writer assigned in it.
    pub stream: Option<(String, u64)>,
    /// The encoded record (see [`encode`]).
    pub raw: Vec<u8>,
}

/// The event log. See the module doc.
pub trait EventLog: Send + Sync + 'static {
    /// The UUID made when this store was created.
    fn log_id(&self) -> &str;
    /// The last seq in the log (applied, not necessarily flushed).
    fn last_seq(&self) -> Result<u64, StoreError>;
    /// One event.
    fn get(&self, seq: u64) -> Result<Option<StoredEvent>, StoreError>;
    /// The seq of the event with this id.
    fn seq_of_id(&self, id: &str) -> Result<Option<u64>, StoreError>;
    /// The current version of a stream (0 when it has no events).
    fn stream_version(&self, stream: &str) -> Result<u64, StoreError>;
    /// Events after `after` up to `up_to`, in seq order, passing `filter`: stops at
    /// `max_matches` matching events or `max_examined` examined ones.
    fn scan(
        &self,
        after: u64,
        up_to: u64,
        filter: &Filter,
        max_matches: usize,
        max_examined: usize,
    ) -> Result<Scan, StoreError>;
    /// A stream's events after `after_version`, in version order, with seq ≤ `up_to`.
    fn stream_events(
        &self,
        stream: &str,
        after_version: u64,
        up_to: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError>;
    /// Appends records (consecutive seqs after `last_seq`) and their index entries; the
    /// log's records before the index entries. Not durable until [`EventLog::flush`]; a
    /// crash may leave a prefix of the records, and index entries missing after the last
    /// complete append, which opening the store rebuilds. With `atomic` (the records hold
    /// an array publish), a crash leaves all of the records or none.
    fn append(&self, records: &[NewRecord], atomic: bool) -> Result<(), StoreError>;
    /// Makes everything appended so far durable: sled's flush, then `fdatasync` of its files.
    fn flush(&self) -> Result<(), StoreError>;
}
