//! The second pass of an import: the validated lines appended in batches, made durable once
//! at the end.
//!
//! Three threads, one stage each, a batch flowing through them: this thread reads and
//! encodes, one inserts the records, one the index entries of the batches whose records are
//! in (so that no index entry is ever ahead of its event in sled's log, as the writer
//! keeps it), and the verified-head marker goes last. sled's inserts cost more than reading
//! a line (each clones the leaf it changes); the two trees take them in parallel.

use super::file::{ExportHeader, Lines};
use super::ImportError;
use crate::daemon::store::progress::Progress;
use crate::daemon::store::{encode, EventLog, NewRecord, RecordFields, SledLog, StoreError};
use serde::Deserialize;
use std::borrow::Cow;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Events in a batch: large enough that the hand-offs cost nothing, small enough to keep
/// memory flat (a few MB per batch, at most six batches on their way).
const BATCH: usize = 10_000;
/// Batches waiting between two stages.
const QUEUE: usize = 2;

/// Appends the events of `file` (validated) to `log`, then flushes: how many were written.
pub(super) fn write(
    file: &Path,
    header: &ExportHeader,
    log: &SledLog,
    progress: &dyn Progress,
) -> Result<u64, ImportError> {
    let (to_records, records_in) = sync_channel(QUEUE);
    let (to_index, index_in) = sync_channel(QUEUE);
    let (read, records, index) = std::thread::scope(|scope| {
        let records = std::thread::Builder::new()
            .name("import-records".into())
            .spawn_scoped(scope, move || insert_records(log, records_in, to_index));
        let index = std::thread::Builder::new()
            .name("import-index".into())
            .spawn_scoped(scope, move || insert_index_entries(log, index_in));
        let read = read_batches(file, header, to_records, progress);
        let join = |spawned: std::io::Result<std::thread::ScopedJoinHandle<'_, _>>| match spawned {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(StoreError::Corrupt("an import thread panicked".into()))),
            Err(e) => Err(StoreError::Corrupt(format!(
                "cannot start an import thread: {e}"
            ))),
        };
        (read, join(records), join(index))
    });
    // A failed stage stops the ones before it: its own error is the one to report.
    records?;
    index?;
    let written = read?;
    log.mark_verified(header.head)?;
    log.flush()?;
    progress.end();
    Ok(written)
}

/// Reads the lines into batches of records for the first stage.
fn read_batches(
    file: &Path,
    header: &ExportHeader,
    out: SyncSender<Vec<NewRecord>>,
    progress: &dyn Progress,
) -> Result<u64, ImportError> {
    let mut lines = Lines::open(file).map_err(|e| ImportError::read(file, e))?;
    lines.next_line().map_err(|e| ImportError::read(file, e))?;
    progress.begin("writing", header.events());
    let mut batch = Vec::with_capacity(BATCH);
    let mut next_seq = header.after + 1;
    while let Some((number, line)) = lines.next_line().map_err(|e| ImportError::read(file, e))? {
        let record = record(line).filter(|r| r.seq == next_seq && next_seq <= header.head);
        let record =
            record.ok_or_else(|| ImportError::line(number, "changed since it was validated"))?;
        batch.push(record);
        next_seq += 1;
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if out.send(full).is_err() {
                return Ok(0); // a stage failed: its error is reported
            }
            progress.advance_to(next_seq - 1 - header.after);
        }
    }
    if !batch.is_empty() && out.send(batch).is_err() {
        return Ok(0);
    }
    Ok(next_seq - 1 - header.after)
}

fn insert_records(
    log: &SledLog,
    batches: Receiver<Vec<NewRecord>>,
    out: SyncSender<Vec<NewRecord>>,
) -> Result<(), StoreError> {
    for batch in batches {
        log.insert_records(&batch)?;
        if out.send(batch).is_err() {
            break;
        }
    }
    Ok(())
}

fn insert_index_entries(
    log: &SledLog,
    batches: Receiver<Vec<NewRecord>>,
) -> Result<(), StoreError> {
    for batch in batches {
        log.insert_index_entries(&batch)?;
    }
    Ok(())
}

/// What the record of a line needs, borrowed from the line (`data` is skipped).
#[derive(Deserialize)]
struct Fields<'a> {
    seq: u64,
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow, rename = "type")]
    ty: Cow<'a, str>,
    #[serde(default, borrow)]
    stream: Option<Cow<'a, str>>,
    #[serde(default)]
    version: Option<u64>,
    #[serde(default, borrow)]
    source: Option<Cow<'a, str>>,
    #[serde(borrow)]
    time: Cow<'a, str>,
}

/// The stored record of a validated line (the line is the envelope exactly as served);
/// `None` if the line no longer reads.
fn record(line: &[u8]) -> Option<NewRecord> {
    let f: Fields<'_> = serde_json::from_slice(line).ok()?;
    let time_ms = chrono::DateTime::parse_from_rfc3339(&f.time)
        .ok()?
        .timestamp_millis();
    let fields = RecordFields {
        time_ms,
        version: f.version.unwrap_or(0),
        ty: &f.ty,
        stream: f.stream.as_deref().unwrap_or_default(),
        id: &f.id,
        source: f.source.as_deref().unwrap_or_default(),
    };
    Some(NewRecord {
        seq: f.seq,
        raw: encode(&fields, line),
        id: f.id.into_owned(),
        stream: f.stream.map(Cow::into_owned).zip(f.version),
    })
}
