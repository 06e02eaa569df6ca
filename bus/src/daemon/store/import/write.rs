//! The second pass of an import: the validated lines appended in batches, made durable once
//! at the end.
//!
//! A batch flows through four threads, one stage each: this thread reads and encodes, one
//! inserts the records, then two insert the `ids` and the `streams` entries of the batches
//! whose records are in (so that no index entry is ever ahead of its event in sled's log,
//! as the writer keeps it); the verified-head marker goes last. sled's inserts cost more
//! than reading a line (each clones the leaf it changes); the three trees take them in
//! parallel.

use super::file::{ExportHeader, Lines};
use super::ImportError;
use crate::daemon::store::progress::Progress;
use crate::daemon::store::{encode, EventLog, NewRecord, RecordFields, SledLog, StoreError};
use serde::Deserialize;
use std::borrow::Cow;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::{Scope, ScopedJoinHandle};

/// Events in a batch: large enough that the hand-offs cost nothing, small enough to keep
/// memory flat (a few MB per batch, at most eight batches on their way).
pub const BATCH: usize = 10_000;
/// Batches waiting between two stages.
const QUEUE: usize = 2;

/// Appends the events of `file` (validated) to `log`, then flushes: how many were written.
pub(super) fn write(
    file: &Path,
    header: &ExportHeader,
    log: &SledLog,
    progress: &dyn Progress,
) -> Result<u64, ImportError> {
    let written = insert_batches(log, |out| read_batches(file, header, out, progress))?;
    if written != header.events() {
        let last = header.after + written;
        return Err(ImportError::Refused(format!(
            "the file ends at seq {last}: it changed since it was validated"
        )));
    }
    log.mark_verified(header.head)?;
    log.flush()?;
    progress.end();
    Ok(written)
}

/// Inserts the batches that `produce` sends (consecutive seqs after the log's last, each
/// batch at most [`BATCH`] records) through the stage threads, and returns what `produce`
/// returns (how many it sent) once every batch is in. Neither the verified-head marker
/// nor a flush: the caller's. `cargo bench --bench import_floor` times it on batches built
/// in memory: the import's write pass without its file.
pub fn insert_batches(
    log: &SledLog,
    produce: impl FnOnce(SyncSender<Vec<NewRecord>>) -> Result<u64, ImportError>,
) -> Result<u64, ImportError> {
    let (to_records, records_in) = sync_channel(QUEUE);
    let (to_ids, ids_in) = sync_channel(QUEUE);
    let (to_streams, streams_in) = sync_channel(QUEUE);
    let (produced, records, ids, streams) = std::thread::scope(|scope| {
        let records = spawn_stage(scope, "import-records", move || {
            insert_records(log, records_in, [to_ids, to_streams])
        });
        let ids = spawn_stage(scope, "import-ids", move || {
            insert_entries(ids_in, |b| log.insert_id_entries(b))
        });
        let streams = spawn_stage(scope, "import-streams", move || {
            insert_entries(streams_in, |b| log.insert_stream_entries(b))
        });
        let produced = produce(to_records);
        (produced, join(records), join(ids), join(streams))
    });
    // A failed stage stops the ones before it: its own error is the one to report.
    records?;
    ids?;
    streams?;
    produced
}

/// A stage of the pass on a thread of its own, named in `/proc` and profiles.
fn spawn_stage<'scope>(
    scope: &'scope Scope<'scope, '_>,
    name: &str,
    stage: impl FnOnce() -> Result<(), StoreError> + Send + 'scope,
) -> std::io::Result<ScopedJoinHandle<'scope, Result<(), StoreError>>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn_scoped(scope, stage)
}

/// How a stage ended.
fn join(
    spawned: std::io::Result<ScopedJoinHandle<'_, Result<(), StoreError>>>,
) -> Result<(), ImportError> {
    match spawned {
        Ok(handle) => match handle.join() {
            Ok(stage) => stage.map_err(ImportError::from),
            Err(_) => Err(ImportError::Thread("it panicked".into())),
        },
        Err(e) => Err(ImportError::Thread(format!("it could not start: {e}"))),
    }
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
    while let Some((number, line)) = lines
        .next_record()
        .map_err(|e| ImportError::read(file, e))?
    {
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

/// A batch on its way, shared by the index stages once its records are in.
type Batch = Arc<Vec<NewRecord>>;

fn insert_records(
    log: &SledLog,
    batches: Receiver<Vec<NewRecord>>,
    index_stages: [SyncSender<Batch>; 2],
) -> Result<(), StoreError> {
    for batch in batches {
        log.insert_records(&batch)?;
        let batch = Arc::new(batch);
        for stage in &index_stages {
            if stage.send(batch.clone()).is_err() {
                return Ok(()); // that stage failed: its error is reported
            }
        }
    }
    Ok(())
}

fn insert_entries(
    batches: Receiver<Batch>,
    insert: impl Fn(&[NewRecord]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    for batch in batches {
        insert(&batch)?;
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
