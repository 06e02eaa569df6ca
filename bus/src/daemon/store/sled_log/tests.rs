//! The sled engine against a real store in a temp dir: appends, reads, reopening, the
//! recovery of the tail, failed syncs, blob files.

use super::*;
use crate::daemon::store::{encode, RecordFields};

fn record(seq: u64, id: &str, stream: Option<(&str, u64)>) -> NewRecord {
    let (s, version) = stream.unwrap_or(("", 0));
    let raw = encode(
        &RecordFields {
            time_ms: 0,
            version,
            ty: "T",
            stream: s,
            id,
            source: "",
        },
        format!(r#"{{"seq":{seq}}}"#).as_bytes(),
    );
    NewRecord {
        seq,
        id: id.into(),
        stream: stream.map(|(s, v)| (s.to_string(), v)),
        raw,
    }
}

/// Opens the store in `dir` again, once the dropped one's sled threads have let go of
/// its file lock (a reopen right after a drop can meet the lock still held).
fn reopen(dir: &Path) -> Result<(SledLog, Recovery), StoreError> {
    crate::daemon::store::wait_released(&dir.join("db"));
    SledLog::open(dir, 8)
}

#[test]
fn append_read_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, recovery) = SledLog::open(dir.path(), 8).expect("open");
    assert!(recovery.created);
    let log_id = log.log_id().to_string();
    log.append(
        &[
            record(1, "a", Some(("s", 1))),
            record(2, "b", Some(("s", 2))),
        ],
        true,
    )
    .expect("append");
    log.append(&[record(3, "c", None)], false).expect("append");
    log.flush().expect("flush");
    assert_eq!(log.last_seq().expect("head"), 3);
    assert_eq!(log.seq_of_id("b").expect("id"), Some(2));
    assert_eq!(log.stream_version("s").expect("version"), 2);
    assert_eq!(log.stream_version("t").expect("version"), 0);
    let scan = log.scan(1, 3, &Filter::default(), 10, 10).expect("scan");
    assert_eq!(
        scan.events.iter().map(|e| e.seq()).collect::<Vec<_>>(),
        [2, 3]
    );
    let stream = log.stream_events("s", 1, 3, 10).expect("stream");
    assert_eq!(stream.iter().map(|e| e.seq()).collect::<Vec<_>>(), [2]);
    drop(log);
    let (log, recovery) = reopen(dir.path()).expect("reopen");
    assert!(!recovery.created);
    assert_eq!(recovery.head, 3);
    assert_eq!(log.log_id(), log_id);
}

#[test]
fn a_missing_index_entry_after_the_verified_head_is_rebuilt() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (log, _) = SledLog::open(dir.path(), 8).expect("open");
        log.append(&[record(1, "a", None)], false).expect("append");
        // What a crash between the log write and the index write would leave.
        log.events
            .insert(seq_key(2), record(2, "b", Some(("s", 1))).raw)
            .expect("insert");
        log.flush().expect("flush");
    }
    let (log, recovery) = reopen(dir.path()).expect("reopen");
    assert_eq!(recovery.head, 2);
    assert_eq!(recovery.tail_checked, 1);
    assert_eq!(recovery.rebuilt, 2);
    assert_eq!(log.seq_of_id("b").expect("id"), Some(2));
    assert_eq!(log.stream_version("s").expect("version"), 1);
}

#[test]
fn a_gap_refuses_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (log, _) = SledLog::open(dir.path(), 8).expect("open");
        log.append(&[record(1, "a", None)], false).expect("append");
        log.events
            .insert(seq_key(3), record(3, "c", None).raw)
            .expect("insert");
        log.flush().expect("flush");
    }
    let err = reopen(dir.path()).err().expect("refused");
    assert!(matches!(err, StoreError::Corrupt(m) if m.contains("seq 2")));
}

#[test]
fn a_failed_sync_fails_the_flush() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) = SledLog::open(dir.path(), 8).expect("open");
    log.append(&[record(1, "a", None)], false).expect("append");
    log.fail_syncs(true);
    assert!(matches!(log.flush(), Err(StoreError::SyncFailed(_))));
    log.fail_syncs(false);
    log.flush().expect("flush once the disk is back");
}

#[test]
fn pages_too_large_for_the_log_go_to_blob_files_that_the_flush_syncs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) = SledLog::open(dir.path(), 8).expect("open");
    let mut big = record(1, "big", None);
    big.raw.extend(std::iter::repeat_n(b' ', 300 * 1024));
    log.append(&[big], false).expect("append");
    log.flush().expect("flush");
    let blobs = std::fs::read_dir(dir.path().join("blobs"))
        .expect("blobs dir")
        .count();
    assert!(blobs > 0, "sled stored the 300 KiB page as a blob");
    assert!(
        log.durable.synced_blobs() >= 1,
        "the flush synced the blob files"
    );
}
