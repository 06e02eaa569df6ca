//! `minibus bus check --data-dir DIR`: the whole store of a stopped bus verified, without
//! changing it (no tail recovery, unlike a start).
//!
//! What is checked: the meta entries (format, log id, the verified-head marker, which must
//! not be past the head); the log (gapless seqs from 1, every record readable, its JSON the
//! envelope its header describes, times never decreasing); the `ids` and `streams` indexes
//! (every event indexed, every entry pointing at the event it names, no entry without one;
//! stream versions gapless from 1); the subscriptions (readable, cursors ≤ the head).
//! Each defect found is counted by kind; the first few of each kind are kept with what and
//! where.

mod defects;
mod indexes;
mod log;
mod subs;

pub use defects::{Defect, DefectKind};

use super::progress::Progress;
use super::sled_log::{Trees, IMPORT_CONTINUED, META_IMPORT_INCOMPLETE};
use super::StoreError;
use defects::Defects;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a check found.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// The store's log id (empty if it has none).
    pub log_id: String,
    /// The last seq in the log.
    pub head: u64,
    /// The verified-head marker (0 if it is missing).
    pub verified_head: u64,
    /// Events in the log.
    pub events: u64,
    /// Events after the verified-head marker whose index entries are missing: what a crash
    /// leaves, which the next start rebuilds (not a defect). 0 for an unfinished import,
    /// which the next start refuses instead.
    pub to_index: u64,
    /// What to do with the store, when it is an import that did not finish (its
    /// `import_incomplete` mark is there, also a defect): the bus refuses to start on it.
    pub unfinished_import: Option<String>,
    /// Distinct streams.
    pub streams: u64,
    /// Stored subscriptions.
    pub subscriptions: u64,
    /// The first defects of each kind, in the order found.
    pub defects: Vec<Defect>,
    /// How many defects of each kind were found.
    pub counts: BTreeMap<DefectKind, u64>,
}

impl CheckReport {
    /// Whether no defect was found.
    pub fn is_sound(&self) -> bool {
        self.counts.is_empty()
    }

    /// How many defects were found, of every kind.
    pub fn defect_total(&self) -> u64 {
        self.counts.values().sum()
    }
}

/// Why a check could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The data dir is a file.
    #[error("{0} is a file: the data dir must be a directory")]
    NotADir(PathBuf),
    /// The dir holds no bus store.
    #[error("{0} holds no bus store")]
    NoStore(PathBuf),
    /// The store is in use: a bus (or another tool) runs on it.
    #[error("the store in {0} is in use (is a bus running on it?): stop it first")]
    Locked(PathBuf),
    /// The store could not be opened or read.
    #[error("the store failed")]
    Store(#[from] StoreError),
}

/// Checks the store in `dir` (page cache `cache_mb` MiB), keeping the first
/// `max_per_kind` defects of each kind. See the module doc.
pub fn check(
    dir: &Path,
    cache_mb: u64,
    max_per_kind: usize,
    progress: &dyn Progress,
) -> Result<CheckReport, CheckError> {
    if dir.is_file() {
        return Err(CheckError::NotADir(dir.into()));
    }
    if !dir.join("db").exists() {
        return Err(CheckError::NoStore(dir.into()));
    }
    let trees = Trees::open(dir, cache_mb).map_err(|e| match super::is_locked(&e) {
        true => CheckError::Locked(dir.into()),
        false => e.into(),
    })?;
    let mut defects = Defects::new(max_per_kind);
    let facts = log::check_log(&trees, &mut defects, progress)?;
    indexes::check_extra_entries(&trees, &facts, &mut defects)?;
    let (log_id, verified_head) = log::check_meta(&trees, facts.head, &mut defects)?;
    let subscriptions = subs::check_subscriptions(&trees.db, facts.head, &mut defects);
    let unfinished_import = unfinished_import(&trees)?;
    let (defects, counts) = defects.into_parts();
    Ok(CheckReport {
        log_id,
        head: facts.head,
        verified_head,
        events: facts.events,
        to_index: match unfinished_import {
            Some(_) => 0,
            None => facts.to_index,
        },
        unfinished_import,
        streams: facts.streams,
        subscriptions,
        defects,
        counts,
    })
}

/// What to do with the store in `trees` if an import into it did not finish.
fn unfinished_import(trees: &Trees) -> Result<Option<String>, StoreError> {
    let mark = trees.meta.get(META_IMPORT_INCOMPLETE)?;
    Ok(mark.map(|mark| {
        match mark == IMPORT_CONTINUED {
            true => {
                "the store holds an unfinished import that continued it: restore it from its backup"
            }
            false => "the store is an unfinished import: delete it and import again",
        }
        .into()
    }))
}

#[cfg(test)]
mod tests;
