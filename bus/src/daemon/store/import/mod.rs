//! `minibus bus import --data-dir DIR FILE`: an export file into a stopped bus's store,
//! keeping every seq, id, stream, version, time, `data` byte and the log id.
//!
//! Two passes. The first validates the whole file against itself and the store (gapless
//! from 1 or from the store's head + 1, no id twice, times never decreasing, stream
//! versions consecutive, every line an envelope as the bus serves it) and names the first
//! bad line; nothing is written before it passes. The second appends in large batches and
//! flushes once. If the second pass fails, a store it created is removed, and a store it
//! continued is cut back to where it was.
//!
//! The target is an empty or absent data dir (or an empty store), or a store the file
//! continues: the same log id, and the file's `after` is the store's head.

mod file;
mod seen_ids;
mod validate;
/// The second pass; its inserts are also `bench::import_insert_batches`.
pub(in crate::daemon) mod write;

pub use file::{ExportHeader, FORMAT, VERSION};

use super::progress::Progress;
use super::{EventLog, SledLog, StoreError};
use std::path::{Path, PathBuf};

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// Events written.
    pub events: u64,
    /// The store's head after the import.
    pub head: u64,
    /// The store's log id (the exported one).
    pub log_id: String,
    /// Whether the import created the store.
    pub created: bool,
}

/// Why an import wrote nothing (or undid what it wrote).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A line of the file is wrong: what, and where (lines count from 1, the header is 1).
    #[error("line {line}: {problem}")]
    Line {
        /// The line's number.
        line: u64,
        /// What is wrong with it.
        problem: String,
    },
    /// The file does not fit the store (it does not continue it, or the dir holds other
    /// files); the message says why.
    #[error("{0}")]
    Refused(String),
    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The store is in use: a bus (or another tool) runs on it.
    #[error("the store in {0} is in use (is a bus running on it?): stop it first")]
    Locked(PathBuf),
    /// A thread of the second pass could not start (out of threads or memory), or
    /// panicked (a bug).
    #[error("an import thread failed: {0}")]
    Thread(String),
    /// The store failed (opening, reading or writing it).
    #[error("the store failed")]
    Store(#[from] StoreError),
}

impl ImportError {
    fn line(line: u64, problem: impl Into<String>) -> Self {
        Self::Line {
            line,
            problem: problem.into(),
        }
    }

    fn read(path: &Path, source: std::io::Error) -> Self {
        Self::Read {
            path: path.into(),
            source,
        }
    }
}

/// Imports the export `file` into the store in `dir` (page cache `cache_mb` MiB). See the
/// module doc.
pub fn import(
    dir: &Path,
    file: &Path,
    cache_mb: u64,
    progress: &dyn Progress,
) -> Result<Imported, ImportError> {
    if dir.is_file() {
        return Err(ImportError::Refused(format!(
            "{} is a file: the data dir must be a directory",
            dir.display()
        )));
    }
    let header = read_header(file)?;
    match open_existing(dir, cache_mb)? {
        Some(log) => {
            check_continues(&log, &header)?;
            validate::validate(file, &header, Some(&log), progress)?;
            continue_store(log, file, &header, progress)
        }
        None => {
            refuse_a_continuation(&header)?;
            validate::validate(file, &header, None, progress)?;
            create_store(dir, file, &header, cache_mb, progress)
        }
    }
}

fn read_header(file: &Path) -> Result<ExportHeader, ImportError> {
    let mut lines = file::Lines::open(file).map_err(|e| ImportError::read(file, e))?;
    match lines.next_line().map_err(|e| ImportError::read(file, e))? {
        Some((number, line)) => {
            ExportHeader::parse(line).map_err(|problem| ImportError::line(number, problem))
        }
        None => Err(ImportError::line(1, "the file is empty")),
    }
}

/// The store in `dir`, if it holds one; `None` for an absent or empty dir.
fn open_existing(dir: &Path, cache_mb: u64) -> Result<Option<SledLog>, ImportError> {
    if dir.join("db").exists() {
        return match SledLog::open(dir, cache_mb) {
            Ok((log, _)) => Ok(Some(log)),
            Err(e) if super::is_locked(&e) => Err(ImportError::Locked(dir.into())),
            Err(e) => Err(e.into()),
        };
    }
    let holds_files = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if holds_files {
        return Err(ImportError::Refused(format!(
            "{} holds files but no bus store: import into an empty or new data dir",
            dir.display()
        )));
    }
    Ok(None)
}

/// Whether the file continues `log`: the same log from the store's head (or the store is
/// empty and the file starts at seq 1).
fn check_continues(log: &SledLog, header: &ExportHeader) -> Result<(), ImportError> {
    let head = log.last_seq()?;
    let refused = |why: String| Err(ImportError::Refused(why));
    if head == 0 {
        return refuse_a_continuation(header);
    }
    if header.after == 0 {
        return refused(format!(
            "the store already holds {head} events and the file starts at seq 1: import into an empty data dir, or export with --after {head}"
        ));
    }
    if log.log_id() != header.log_id {
        return refused(format!(
            "the file continues log {} but the store holds log {}",
            header.log_id,
            log.log_id()
        ));
    }
    if head != header.after {
        return refused(format!(
            "the file continues from seq {} but the store's head is {head}",
            header.after + 1
        ));
    }
    Ok(())
}

/// A file exported with `--after N` (N > 0) continues a store that holds seqs 1..=N: into
/// a new or empty one it would make a log that does not start at seq 1.
fn refuse_a_continuation(header: &ExportHeader) -> Result<(), ImportError> {
    match header.after {
        0 => Ok(()),
        after => Err(ImportError::Refused(format!(
            "this export continues a store after seq {after}; import it into that store"
        ))),
    }
}

/// The second pass into an existing store, which is put back as it was if it fails.
fn continue_store(
    mut log: SledLog,
    file: &Path,
    header: &ExportHeader,
    progress: &dyn Progress,
) -> Result<Imported, ImportError> {
    let old_log_id = log.log_id().to_string();
    let result = log
        .begin_import()
        .and_then(|()| log.replace_log_id_if_empty(&header.log_id))
        .map_err(ImportError::from)
        .and_then(|()| write::write(file, header, &log, progress))
        .and_then(|events| Ok(log.end_import().map(|()| events)?));
    match result {
        Ok(events) => Ok(imported(events, header, false)),
        Err(e) => {
            // Said before the undo, which may fail too and would then be what is returned.
            tracing::error!(error = %crate::kit::error_chain(&e), "the import failed: undoing it");
            log.truncate_after(header.after)?;
            log.replace_log_id_if_empty(&old_log_id)?;
            log.end_import()?;
            Err(e)
        }
    }
}

/// The second pass into a new store, removed if it fails.
fn create_store(
    dir: &Path,
    file: &Path,
    header: &ExportHeader,
    cache_mb: u64,
    progress: &dyn Progress,
) -> Result<Imported, ImportError> {
    let created_dir = !dir.exists();
    let result = std::fs::create_dir_all(dir)
        .map_err(|e| ImportError::Store(StoreError::Engine(e.into())))
        .and_then(|()| {
            let (log, _) = SledLog::open_as(dir, cache_mb, Some(&header.log_id))?;
            let events = write::write(file, header, &log, progress)?;
            log.end_import()?;
            Ok(events)
        });
    match result {
        Ok(events) => Ok(imported(events, header, true)),
        Err(e) => {
            remove_store(dir, created_dir);
            Err(e)
        }
    }
}

/// Removes what a failed import created in `dir` (the dir itself, if it made it), once
/// sled's threads have let go of it.
fn remove_store(dir: &Path, created_dir: bool) {
    super::wait_released(&dir.join("db"));
    let removed = if created_dir {
        std::fs::remove_dir_all(dir)
    } else {
        std::fs::read_dir(dir).and_then(|entries| {
            entries
                .flatten()
                .try_for_each(|entry| match entry.file_type()?.is_dir() {
                    true => std::fs::remove_dir_all(entry.path()),
                    false => std::fs::remove_file(entry.path()),
                })
        })
    };
    if let Err(e) = removed {
        tracing::error!(dir = %dir.display(), %e, "cannot remove the store a failed import left");
    }
}

fn imported(events: u64, header: &ExportHeader, created: bool) -> Imported {
    Imported {
        events,
        head: header.head,
        log_id: header.log_id.clone(),
        created,
    }
}

#[cfg(test)]
mod tests;
