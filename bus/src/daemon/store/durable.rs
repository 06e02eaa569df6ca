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
//! The bus acknowledges a publish only once it is on disk, so after each `flush()` the store
//! calls `fdatasync` (`File::sync_data`) on sled's log file, through a descriptor of its own,
//! and on every blob file it has not synced yet (and then on the `blobs/` directory, for
//! their names). `fsync` acts on the file, not on the descriptor: it writes back and makes
//! durable everything any descriptor wrote, and since Linux 4.13 it reports a writeback
//! error to every descriptor open when the error happened, ours included.
//!
//! What this does not cover: the order in which the device makes sled's writes durable
//! between two of our syncs (a power cut then may keep a log entry whose blob is lost; such
//! an event was never acknowledged). sled's own background flusher also `fsync`s the log
//! every `flush_every_ms`.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// sled's files in one data dir, synced after each flush.
pub(super) struct DurableFiles {
    /// sled's log (`<dir>/db`), opened read-only: fsync needs no write access.
    log: File,
    blobs_dir: PathBuf,
    /// Blob files synced since the store opened; rebuilt from each listing, so names sled
    /// has removed do not pile up.
    synced_blobs: Mutex<HashSet<OsString>>,
    /// Test hook: while set, every sync fails as a failing disk would.
    #[cfg(test)]
    fail: std::sync::atomic::AtomicBool,
}

impl DurableFiles {
    /// Opens sled's log file in `dir` (sled has created it), and makes the directory
    /// entries sled created durable.
    pub(super) fn open(dir: &Path) -> io::Result<Self> {
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

    /// Makes everything sled has written so far durable. Call after `Db::flush()`.
    pub(super) fn sync(&self) -> io::Result<()> {
        #[cfg(test)]
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(io::Error::other("injected fdatasync failure"));
        }
        self.log.sync_data()?;
        self.sync_new_blobs()
    }

    fn sync_new_blobs(&self) -> io::Result<()> {
        let entries = match std::fs::read_dir(&self.blobs_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut synced = self.synced_blobs.lock().unwrap_or_else(|e| e.into_inner());
        let mut present = HashSet::with_capacity(synced.len());
        let mut new = false;
        for entry in entries {
            let name = entry?.file_name();
            if !synced.contains(&name) {
                match File::open(self.blobs_dir.join(&name)) {
                    Ok(file) => file.sync_data()?,
                    // Removed by sled's blob collection since the listing: nothing to keep.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                }
                new = true;
            }
            present.insert(name);
        }
        if new {
            sync_dir(&self.blobs_dir)?;
        }
        *synced = present;
        Ok(())
    }

    /// Makes every later [`DurableFiles::sync`] fail (`true`) or work again (`false`).
    #[cfg(test)]
    pub(super) fn fail_syncs(&self, fail: bool) {
        self.fail.store(fail, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(test)]
impl DurableFiles {
    /// The blob files synced so far.
    pub(super) fn synced_blobs(&self) -> usize {
        self.synced_blobs.lock().map_or(0, |s| s.len())
    }
}

/// `fsync` on a directory makes the names in it durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
