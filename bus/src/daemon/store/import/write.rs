//! The second pass of an import: the validated lines appended in large batches, made
//! durable once at the end.

use super::file::{parse_event, EventLine, ExportHeader, Lines};
use super::ImportError;
use crate::daemon::store::progress::Progress;
use crate::daemon::store::{encode, EventLog, NewRecord, RecordFields, SledLog};
use std::path::Path;

/// Events appended at a time: large enough that sled's per-call costs vanish, small enough
/// to keep memory flat (~3 MB of records).
const BATCH: usize = 10_000;

/// Appends the events of `file` (validated) to `log`, then flushes: how many were written.
pub(super) fn write(
    file: &Path,
    header: &ExportHeader,
    log: &SledLog,
    progress: &dyn Progress,
) -> Result<u64, ImportError> {
    let mut lines = Lines::open(file).map_err(|e| ImportError::read(file, e))?;
    lines.next_line().map_err(|e| ImportError::read(file, e))?;
    progress.begin("writing", header.events());
    let mut batch = Vec::with_capacity(BATCH);
    let mut next_seq = header.after + 1;
    while let Some((number, line)) = lines.next_line().map_err(|e| ImportError::read(file, e))? {
        let event = parse_event(line)
            .ok()
            .filter(|e| e.envelope.seq == next_seq && next_seq <= header.head);
        let event =
            event.ok_or_else(|| ImportError::line(number, "changed since it was validated"))?;
        batch.push(record(&event, line));
        next_seq += 1;
        if batch.len() == BATCH {
            log.append(&batch, false)?;
            batch.clear();
            progress.advance_to(next_seq - 1 - header.after);
        }
    }
    log.append(&batch, false)?;
    log.flush()?;
    progress.end();
    Ok(next_seq - 1 - header.after)
}

/// The stored record of a validated line: the line is the envelope exactly as served.
fn record(event: &EventLine, line: &[u8]) -> NewRecord {
    let e = &event.envelope;
    let fields = RecordFields {
        time_ms: event.time_ms,
        version: e.version.unwrap_or(0),
        ty: &e.ty,
        stream: e.stream.as_deref().unwrap_or_default(),
        id: &e.id,
        source: e.source.as_deref().unwrap_or_default(),
    };
    NewRecord {
        seq: e.seq,
        id: e.id.clone(),
        stream: e.stream.clone().zip(e.version),
        raw: encode(&fields, line),
    }
}
