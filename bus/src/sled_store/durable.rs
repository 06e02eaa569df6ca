//! Making sled's flush mean "on disk": `fdatasync` on sled's own files.
//!
//! sled 0.34.7 ends each write of its log on Linux with `sync_file_range(WAIT_BEFORE |
//! WRITE | WAIT_AFTER)` (`pagecache/iobuf.rs`, `IoBufs::write_to_log`). That waits until
//! the pages are handed to the device, but it neither flushes the device's volatile write
//! cache nor persists the file's size (`man 2 sync_file_range`: it "does not flush disk
//! write caches and thus does not provide any guarantees about data integrity on power
//! failure"). Upstream: spacejam/sled#1452 ("Data is not written durably") and #1351, both
//! open, fixed only on an unreleased branch. Pages too large for a log buffer (over
//! ~128 KiB, i.e. a leaf holding a large event) go to files under `blobs/`, written with no
//! sync at all. So `Db::flush()` returns before the data survives a power cut, and this
//! machine kind's disk has a "write back" cache (`../shared/background/LIMITS.md`).
//!
//! The bus acknowledges a publish only once it is on disk (and posts and comments answer a
//! write only once it and its outbox entries are), so the store's flush lists the
//! blob files it has not synced yet, calls sled's `flush()`, then `fdatasync`s
//! (`File::sync_data`) those blobs and the `blobs/` directory (for their names), and last
//! sled's log file, through a descriptor of its own. `fsync` acts on the file, not on the
//! descriptor: it writes back and makes durable everything any descriptor wrote, and since
//! Linux 4.13 it reports a writeback error to every descriptor open when the error
//! happened, ours included.
//!
//! What this cannot cover without changing sled: between two of our flushes, sled's own
//! background flusher (every `flush_every_ms`) also `fsync`s its log, and may make durable
//! a log entry whose blob (a page sled rewrote on its own, e.g. consolidating a leaf that
//! holds a large event) we have not synced yet; a power cut in that window can leave that
//! page unreadable. It needs a page over ~128 KiB, i.e. events of that size.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// sled's files in one data dir, synced after each flush.
pub(crate) struct DurableFiles {
    /// sled's log (`<dir>/db`), opened read-only: fsync needs no write access.
    log: File,
    blobs_dir: PathBuf,
    /// Blob files synced since the store opened and still present at the last listing.
    synced_blobs: Mutex<HashSet<OsString>>,
    /// Test hook: while set, every sync fails as a failing disk would.
    #[cfg(test)]
    fail: std::sync::atomic::AtomicBool,
}

impl DurableFiles {
    /// Opens sled's log file in `dir` (sled has created it), and makes the directory
    /// entries sled created durable.
    pub(crate) fn open(dir: &Path) -> io::Result<Self> {
        let log = File::open(dir.join("db"))?;
        sync_dir(dir)?;
        Ok(Self {
            log,
            blobs_dir: dir.join("blobs"),
            synced_blobs: Mutex::new(HashSet::new()),
            #[cfg(test)]
            fail: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The blob files not synced yet. Take this before `Db::flush()`: sled writes a blob
    /// before the log entry that points at it, and its flush waits for every entry
    /// reserved so far, so every blob listed here is complete once the flush returns. A
    /// blob listed after the flush could still be half written (its writer is another
    /// thread), and would never be synced again.
    pub(crate) fn unsynced_blobs(&self) -> io::Result<Vec<OsString>> {
        let entries = match std::fs::read_dir(&self.blobs_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut present = HashSet::new();
        for entry in entries {
            present.insert(entry?.file_name());
        }
        let mut synced = self.synced_blobs.lock().unwrap_or_else(|e| e.into_inner());
        // Forget names sled has removed, so that the set does not grow without end.
        synced.retain(|name| present.contains(name));
        Ok(present
            .into_iter()
            .filter(|n| !synced.contains(n))
            .collect())
    }

    /// Makes what sled wrote up to its last flush durable: the `blobs` (from
    /// [`DurableFiles::unsynced_blobs`], taken before that flush) and their directory
    /// first, then the log, so that no durable log entry points at a blob that is not.
    pub(crate) fn sync(&self, blobs: &[OsString]) -> io::Result<()> {
        #[cfg(test)]
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(io::Error::other("injected fdatasync failure"));
        }
        self.sync_blobs(blobs)?;
        self.log.sync_data()
    }

    fn sync_blobs(&self, blobs: &[OsString]) -> io::Result<()> {
        if blobs.is_empty() {
            return Ok(());
        }
        let mut synced = Vec::with_capacity(blobs.len());
        for name in blobs {
            match File::open(self.blobs_dir.join(name)) {
                Ok(file) => file.sync_data()?,
                // Removed by sled's blob collection since the listing: nothing to keep.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
            synced.push(name.clone());
        }
        sync_dir(&self.blobs_dir)?;
        self.synced_blobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(synced);
        Ok(())
    }

    /// Makes every later [`DurableFiles::sync`] fail (`true`) or work again (`false`).
    #[cfg(test)]
    pub(crate) fn fail_syncs(&self, fail: bool) {
        self.fail.store(fail, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(test)]
impl DurableFiles {
    /// The blob files synced so far.
    pub(crate) fn synced_blobs(&self) -> usize {
        self.synced_blobs.lock().map_or(0, |s| s.len())
    }
}

/// `fsync` on a directory makes the names in it durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
