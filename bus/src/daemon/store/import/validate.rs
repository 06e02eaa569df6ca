//! The first pass of an import: every line checked against the lines before it and the
//! store it continues, before anything is written.

use super::file::{parse_event, EventLine, ExportHeader, Lines};
use super::seen_ids::SeenIds;
use super::ImportError;
use crate::daemon::store::progress::{Progress, REPORT_EVERY};
use crate::daemon::store::{EventLog, SledLog, StoreError};
use std::collections::HashMap;
use std::path::Path;

/// Why a line is refused: what is wrong with it, or the store failed while checking it,
/// or reading an earlier line again failed.
enum Problem {
    Line(String),
    Store(StoreError),
    Read(std::io::Error),
}

impl Problem {
    fn at(self, line: u64, file: &Path) -> ImportError {
        match self {
            Problem::Line(problem) => ImportError::line(line, problem),
            Problem::Store(e) => e.into(),
            Problem::Read(e) => ImportError::read(file, e),
        }
    }
}

/// What the lines read so far must be continued by.
struct Validator<'a> {
    /// The store the file continues, if any: ids and streams are checked against it too.
    store: Option<&'a SledLog>,
    next_seq: u64,
    /// The header's head: no seq beyond it.
    head: u64,
    last_time_ms: i64,
    /// Every id of the file so far (~20 bytes an event).
    ids: SeenIds,
    /// Each stream's version so far (in the store, then in the file).
    streams: HashMap<Box<str>, u64>,
}

/// Checks every event line of `file` (its header already read as `header`) against the
/// ones before it and against `store`, the store the file continues (its head is
/// `header.after`). The error names the first bad line.
pub(super) fn validate(
    file: &Path,
    header: &ExportHeader,
    store: Option<&SledLog>,
    progress: &dyn Progress,
) -> Result<(), ImportError> {
    let last_time_ms = match store {
        Some(log) => log.get(header.after)?.map_or(i64::MIN, |e| e.time_ms()),
        None => i64::MIN,
    };
    let mut validator = Validator {
        store,
        next_seq: header.after + 1,
        head: header.head,
        last_time_ms,
        ids: SeenIds::new(file),
        streams: HashMap::new(),
    };
    let mut lines = Lines::open(file).map_err(|e| ImportError::read(file, e))?;
    lines.next_line().map_err(|e| ImportError::read(file, e))?;
    progress.begin("validating", header.events());
    let mut last_line = 1;
    while let Some((number, line)) = lines
        .next_record()
        .map_err(|e| ImportError::read(file, e))?
    {
        last_line = number;
        let event = parse_event(line).map_err(|problem| ImportError::line(number, problem))?;
        validator
            .admit(&event, lines.record_offset())
            .map_err(|problem| problem.at(number, file))?;
        if number.is_multiple_of(REPORT_EVERY) {
            progress.advance_to(number - 1);
        }
    }
    progress.end();
    validator.finish(header, last_line)
}

impl Validator<'_> {
    /// Checks `event` (the record at byte `offset` of the file) against the events before
    /// it, and remembers it.
    fn admit(&mut self, event: &EventLine, offset: u64) -> Result<(), Problem> {
        let e = &event.envelope;
        if e.seq != self.next_seq {
            let why = if e.seq > self.next_seq {
                "a gap"
            } else {
                "out of order"
            };
            let expected = self.next_seq;
            return Err(Problem::Line(format!(
                "seq {} where {expected} was expected ({why})",
                e.seq
            )));
        }
        if e.seq > self.head {
            return Err(Problem::Line(format!(
                "seq {} is past the header's head {}",
                e.seq, self.head
            )));
        }
        if event.time_ms < self.last_time_ms {
            return Err(Problem::Line(format!(
                "time {} is before the previous event's",
                e.time
            )));
        }
        self.check_id(&e.id, offset)?;
        if let (Some(stream), Some(version)) = (&e.stream, e.version) {
            self.check_version(stream, version)?;
        }
        self.next_seq += 1;
        self.last_time_ms = event.time_ms;
        Ok(())
    }

    fn check_id(&mut self, id: &str, offset: u64) -> Result<(), Problem> {
        if let Some(seq) = self.stored(|log| log.seq_of_id(id))? {
            return Err(Problem::Line(format!(
                "id {id:?} is already in the store (seq {seq})"
            )));
        }
        match self.ids.insert(id, offset) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Problem::Line(format!(
                "id {id:?} is already on an earlier line"
            ))),
            Err(e) => Err(Problem::Read(e)),
        }
    }

    fn check_version(&mut self, stream: &str, version: u64) -> Result<(), Problem> {
        let current = match self.streams.get(stream) {
            Some(v) => *v,
            None => self
                .stored(|log| log.stream_version(stream).map(Some))?
                .unwrap_or(0),
        };
        if version != current + 1 {
            return Err(Problem::Line(format!(
                "version {version} of stream {stream:?}, whose version is {current} before it"
            )));
        }
        self.streams.insert(stream.into(), version);
        Ok(())
    }

    /// What the store says, when the file continues one.
    fn stored<T>(
        &self,
        ask: impl FnOnce(&SledLog) -> Result<Option<T>, StoreError>,
    ) -> Result<Option<T>, Problem> {
        match self.store {
            Some(log) => ask(log).map_err(Problem::Store),
            None => Ok(None),
        }
    }

    /// The file must end where its header says.
    fn finish(self, header: &ExportHeader, last_line: u64) -> Result<(), ImportError> {
        let last_seq = self.next_seq - 1;
        if last_seq != header.head {
            return Err(ImportError::line(
                last_line,
                format!(
                    "the file ends at seq {last_seq} but its header says {} (cut short?)",
                    header.head
                ),
            ));
        }
        Ok(())
    }
}
