//! Opening a sled store, and making its flush mean "on disk".
//!
//! sled 0.34.7 takes an exclusive lock on its `db` file and lets go of it from its own
//! threads a moment after the last handle is dropped, so a store opened again in the same
//! process right after it was closed (a service restarted in-process, `minibus up`, tests)
//! can find it still locked. [`open`] waits that out, bounded; every other error is
//! returned at once.
//!
//! sled's own `flush()` does not survive a power cut (see `durable.rs`): a store whose
//! writes are answered to a client (the bus's log, the services' outboxes) is a
//! [`DurableDb`], whose [`DurableDb::flush`] also `fdatasync`s sled's files.

mod durable;

pub(crate) use durable::DurableFiles;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long [`open`] waits for a store just closed in this process to let go of its lock.
pub const LOCK_PATIENCE: Duration = Duration::from_secs(5);

/// Opens the store `config` names, retrying while its file is locked (for at most
/// [`LOCK_PATIENCE`]). Blocking: call it from a blocking task.
pub fn open(config: &sled::Config) -> sled::Result<sled::Db> {
    let deadline = Instant::now() + LOCK_PATIENCE;
    loop {
        match config.open() {
            Err(e) if is_locked(&e) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// Opens (or creates) a service's store in `dir` with a page cache of `cache_mb` MiB, as
/// [`open`] does. Blocking: call it from a blocking task.
pub fn open_dir(dir: &Path, cache_mb: u64) -> sled::Result<sled::Db> {
    let config = sled::Config::new()
        .path(dir)
        .cache_capacity(cache_mb.saturating_mul(1 << 20));
    let db = open(&config)?;
    refuse_a_bus_store(dir, &db)?;
    Ok(db)
}

/// Refuses the bus's own store (its `meta` tree holds the log's `format`): a service given
/// the bus's data dir by mistake would add its trees to the event log's database.
fn refuse_a_bus_store(dir: &Path, db: &sled::Db) -> sled::Result<()> {
    if !db.tree_names().iter().any(|name| name.as_ref() == b"meta") {
        return Ok(());
    }
    match db.open_tree("meta")?.get(BUS_FORMAT_KEY)? {
        Some(_) => Err(sled::Error::Unsupported(format!(
            "{} holds the bus's event log: give this service a data dir of its own",
            dir.display()
        ))),
        None => Ok(()),
    }
}

/// The key under which the bus's store keeps its format, in its `meta` tree
/// (`daemon::store::sled_log`'s `META_FORMAT` is this one).
pub(crate) const BUS_FORMAT_KEY: &[u8] = b"format";

/// A sled database whose [`flush`](Self::flush) makes what was written durable: sled's
/// flush, then `fdatasync` of its files. It derefs to the [`sled::Db`] for everything
/// else. Cheap to clone.
#[derive(Clone)]
pub struct DurableDb {
    db: sled::Db,
    files: Arc<DurableFiles>,
}

impl std::fmt::Debug for DurableDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableDb").finish_non_exhaustive()
    }
}

impl DurableDb {
    /// Opens (or creates) the store in `dir` with a page cache of `cache_mb` MiB, as
    /// [`open_dir`] does, and the files its flushes sync. Blocking: call it from a blocking
    /// task.
    pub fn open(dir: &Path, cache_mb: u64) -> sled::Result<Self> {
        let db = open_dir(dir, cache_mb)?;
        let files = DurableFiles::open(dir)?;
        Ok(Self {
            db,
            files: Arc::new(files),
        })
    }

    /// Makes everything written so far durable: sled's flush, then `fdatasync` of the blob
    /// files it wrote and of its log. Blocking.
    pub fn flush(&self) -> sled::Result<()> {
        // Blobs listed before the flush are complete after it (see durable.rs).
        let blobs = self.files.unsynced_blobs()?;
        self.db.flush()?;
        self.files.sync(&blobs)?;
        Ok(())
    }

    /// sled's flush alone: what was written survives the process's crash, not a power cut
    /// (see `durable.rs`). For writes that can be redone (a subscriber's, whose checkpoint
    /// goes back with them). Blocking.
    pub fn flush_without_sync(&self) -> sled::Result<()> {
        self.db.flush().map(drop)
    }

    /// Makes every later [`Self::flush`] fail (`true`) as a failing disk would, or work
    /// again (`false`).
    #[cfg(test)]
    pub(crate) fn fail_syncs(&self, fail: bool) {
        self.files.fail_syncs(fail);
    }
}

impl std::ops::Deref for DurableDb {
    type Target = sled::Db;

    fn deref(&self) -> &sled::Db {
        &self.db
    }
}

/// sled's error when another handle holds the store's file lock (its message, as sled
/// 0.34.7 words it: it has no variant of its own).
fn is_locked(error: &sled::Error) -> bool {
    matches!(error, sled::Error::Io(e) if e.to_string().contains("could not acquire lock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_held_open_elsewhere_is_waited_for_and_then_opened() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let config = sled::Config::new().path(dir.path());
        let held = config.open().expect("the first handle");
        let error = config.open().expect_err("locked while held");
        assert!(is_locked(&error), "{error}");
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(held);
        });
        open(&config).expect("opened once the first handle let go");
        release.join().expect("the releasing thread");
    }

    #[test]
    fn open_dir_refuses_the_bus_s_store() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let db = sled::Config::new().path(dir.path()).open().expect("sled");
        let meta = db.open_tree("meta").expect("meta");
        meta.insert(BUS_FORMAT_KEY, "minibus-log-1")
            .expect("insert");
        db.flush().expect("flush");
        drop((meta, db));
        let error = open_dir(dir.path(), 1).expect_err("the bus's store is no service's");
        assert!(
            error.to_string().contains("holds the bus's event log"),
            "{error}"
        );
        let error = DurableDb::open(dir.path(), 1).expect_err("nor through DurableDb");
        assert!(
            error.to_string().contains("a data dir of its own"),
            "{error}"
        );
    }

    #[test]
    fn open_dir_creates_the_store_and_opens_it_again() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("service");
        let db = open_dir(&path, 1).expect("created");
        db.insert("k", "v").expect("insert");
        db.flush().expect("flush");
        drop(db);
        let db = open_dir(&path, 1).expect("opened again at once");
        assert_eq!(db.get("k").expect("get").as_deref(), Some(&b"v"[..]));
    }

    #[test]
    fn a_durable_flush_fails_when_the_disk_does_and_works_again_after() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let db = DurableDb::open(dir.path(), 1).expect("created");
        db.insert("k", "v").expect("insert");
        db.flush().expect("flushed and synced");
        db.fail_syncs(true);
        db.insert("k", "w").expect("insert");
        let error = db.flush().expect_err("the sync fails");
        assert!(error.to_string().contains("fdatasync"), "{error}");
        db.fail_syncs(false);
        db.flush().expect("synced again");
        drop(db);
        let db = open(&sled::Config::new().path(dir.path())).expect("opened again");
        assert_eq!(db.get("k").expect("get").as_deref(), Some(&b"w"[..]));
    }
}
