//! The export file: NDJSON, a header line ([`ExportHeader`]), then one envelope per line
//! in seq order, each exactly as the bus serves it (`minibus events export` writes it,
//! `minibus bus import` reads it).

use crate::daemon::BusConfig;
use crate::envelope::{
    check_data, format_time, is_valid_event_type, is_valid_stream_name, Envelope,
};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

/// The `format` of an export file's header.
pub const FORMAT: &str = "minibus-export";
/// The version of the export file's format this build writes and reads.
pub const VERSION: u32 = 1;

/// The first line of an export file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportHeader {
    /// Always [`FORMAT`]: what tells an export from any other NDJSON.
    pub format: String,
    /// [`VERSION`] when written by this build.
    pub version: u32,
    /// The exported log's id, which an import keeps.
    pub log_id: String,
    /// The file holds the events after this seq (0: from the first).
    pub after: u64,
    /// … up to this one: the bus's durable head when the export began.
    pub head: u64,
}

impl ExportHeader {
    /// The header of an export of `log_id`'s events after `after` up to `head`.
    pub fn new(log_id: &str, after: u64, head: u64) -> Self {
        Self {
            format: FORMAT.into(),
            version: VERSION,
            log_id: log_id.into(),
            after,
            head,
        }
    }

    /// How many events the file holds.
    pub fn events(&self) -> u64 {
        self.head.saturating_sub(self.after)
    }

    /// Reads a header line; the error says what is wrong with it.
    pub(super) fn parse(line: &[u8]) -> Result<Self, String> {
        let header: Self = serde_json::from_slice(line)
            .map_err(|e| format!("not an export header ({e}); is this a minibus export?"))?;
        if header.format != FORMAT {
            return Err(format!("format {:?}, not {FORMAT:?}", header.format));
        }
        if header.version != VERSION {
            return Err(format!(
                "export format version {}; this build reads version {VERSION}",
                header.version
            ));
        }
        if header.head < header.after {
            return Err(format!(
                "head {} is before `after` {}",
                header.head, header.after
            ));
        }
        if uuid::Uuid::parse_str(&header.log_id).is_err() {
            return Err(format!("log_id {:?} is not a UUID", header.log_id));
        }
        // Seqs are counted with `+ 1` from `after` to one past `head`.
        if header.head.checked_add(1).is_none() {
            return Err(format!("head {} is past the largest seq", header.head));
        }
        Ok(header)
    }
}

/// The lines of a file, numbered from 1, without their `\n`; or its records, a record being
/// a JSON text that may span several lines.
pub(super) struct Lines {
    reader: BufReader<File>,
    number: u64,
    buf: Vec<u8>,
    /// The byte offset of the next line in the file.
    offset: u64,
    /// The byte offset of the last record returned.
    record_offset: u64,
}

impl Lines {
    /// Opens `path` at its first line.
    pub(super) fn open(path: &Path) -> io::Result<Self> {
        Ok(Self {
            reader: BufReader::with_capacity(1 << 20, File::open(path)?),
            number: 0,
            buf: Vec::with_capacity(4096),
            offset: 0,
            record_offset: 0,
        })
    }

    /// Opens `path` at byte `offset`, the start of a line (its numbers count from there);
    /// for reading one earlier record again.
    pub(super) fn open_at(path: &Path, offset: u64) -> io::Result<Self> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(offset))?;
        Ok(Self {
            reader: BufReader::with_capacity(1 << 16, file),
            number: 0,
            buf: Vec::with_capacity(4096),
            offset,
            record_offset: offset,
        })
    }

    /// The byte offset in the file of the last record [`Self::next_record`] returned.
    pub(super) fn record_offset(&self) -> u64 {
        self.record_offset
    }

    /// Reads up to the next `\n` (included) onto the buffer: how many bytes.
    fn read_line_onto_buf(&mut self) -> io::Result<usize> {
        let read = self.reader.read_until(b'\n', &mut self.buf)?;
        self.offset += read as u64;
        Ok(read)
    }

    /// The next line and its number; `None` at the end of the file.
    pub(super) fn next_line(&mut self) -> io::Result<Option<(u64, &[u8])>> {
        self.buf.clear();
        if self.read_line_onto_buf()? == 0 {
            return Ok(None);
        }
        self.number += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        }
        Ok(Some((self.number, &self.buf)))
    }

    /// The next record and the number of its first line; `None` at the end of the file.
    ///
    /// The bus keeps `data` byte for byte, so an event published with a pretty-printed
    /// `data` is served with raw line breaks in it, and exported over several lines. A raw
    /// line break inside JSON can only be whitespace between tokens, so a line that is the
    /// start of a JSON text is joined with the next ones (with their `\n`) until the text
    /// is whole: the joined bytes are the envelope as the bus serves it. A line that is
    /// broken otherwise is returned as it is, for the caller's parse to name.
    pub(super) fn next_record(&mut self) -> io::Result<Option<(u64, &[u8])>> {
        self.record_offset = self.offset;
        if self.next_line()?.is_none() {
            return Ok(None);
        }
        let first = self.number;
        while !is_whole_json(&self.buf) && is_cut_short(&self.buf) {
            self.buf.push(b'\n');
            if self.read_line_onto_buf()? == 0 {
                self.buf.pop();
                break;
            }
            self.number += 1;
            if self.buf.last() == Some(&b'\n') {
                self.buf.pop();
            }
        }
        Ok(Some((first, &self.buf)))
    }
}

/// Whether `text`'s brackets outside strings are balanced and no string is left open: the
/// cheap test that a line is a whole JSON text (exact for valid JSON), so that the line
/// is parsed only once when it is.
fn is_whole_json(text: &[u8]) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0i64, false, false);
    for &b in text {
        match (in_string, b) {
            (true, _) if escaped => escaped = false,
            (true, b'\\') => escaped = true,
            (true, b'"') => in_string = false,
            (true, _) => {}
            (false, b'"') => in_string = true,
            (false, b'{' | b'[') => depth += 1,
            (false, b'}' | b']') => depth -= 1,
            (false, _) => {}
        }
    }
    !in_string && depth <= 0
}

/// Whether `text` is the start of a JSON text that the following bytes could finish.
fn is_cut_short(text: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(text).is_err_and(|e| e.is_eof())
}

/// One event line, read and checked on its own (its neighbours are the validator's job).
pub(super) struct EventLine {
    /// The envelope.
    pub(super) envelope: Envelope,
    /// Its `time` in milliseconds since the Unix epoch.
    pub(super) time_ms: i64,
}

/// The longest event line: the bus's default `--max-event-bytes` (what a publisher may
/// send) and room for what the bus adds to it (`seq`, `version`, `time`).
pub(super) const MAX_LINE_BYTES: usize = BusConfig::DEFAULT_MAX_EVENT_BYTES + 256;

/// Reads an event line: an envelope exactly as the bus writes it (field order, no spaces,
/// absent fields left out, `time` to the millisecond), whose fields follow DESIGN's rules,
/// and which the bus's publish path would take (its size, its `data`).
pub(super) fn parse_event(line: &[u8]) -> Result<EventLine, String> {
    if line.len() > MAX_LINE_BYTES {
        return Err(format!(
            "{} bytes: larger than the bus takes for an event ({} bytes)",
            line.len(),
            BusConfig::DEFAULT_MAX_EVENT_BYTES
        ));
    }
    let envelope: Envelope =
        serde_json::from_slice(line).map_err(|e| format!("not a JSON envelope: {e}"))?;
    check_fields(&envelope)?;
    check_data(envelope.data.get()).map_err(|reason| format!("`data` {reason}"))?;
    let time_ms = chrono::DateTime::parse_from_rfc3339(&envelope.time)
        .map_err(|e| format!("time {:?} is not RFC 3339: {e}", envelope.time))?
        .timestamp_millis();
    if format_time(time_ms) != envelope.time {
        return Err(format!(
            "time {:?} is not as the bus writes it ({:?})",
            envelope.time,
            format_time(time_ms)
        ));
    }
    // What the store keeps and serves is the envelope as the bus writes it; a line that
    // differs (extra fields, spaces, another order) would not be served back as it is.
    if envelope.to_ref().to_json() != line {
        return Err(
            "not an envelope exactly as the bus serves it (extra fields, spaces or another order)"
                .into(),
        );
    }
    Ok(EventLine { envelope, time_ms })
}

/// DESIGN's rules on the envelope's fields.
fn check_fields(e: &Envelope) -> Result<(), String> {
    if e.seq == 0 {
        return Err("seq 0 (seqs start at 1)".into());
    }
    let texts = [
        ("id", Some(e.id.as_str())),
        ("type", Some(e.ty.as_str())),
        ("source", e.source.as_deref()),
        ("correlation_id", e.correlation_id.as_deref()),
        ("causation_id", e.causation_id.as_deref()),
    ];
    for (field, value) in texts {
        if value.is_some_and(|v| !is_valid_event_type(v)) {
            return Err(format!(
                "`{field}` breaks its rule (1–200 characters, no control characters)"
            ));
        }
    }
    match (&e.stream, e.version) {
        (Some(stream), _) if !is_valid_stream_name(stream) => {
            Err(format!("stream {stream:?} is not a valid stream name"))
        }
        (Some(_), None) => Err("a stream without a version".into()),
        (None, Some(_)) => Err("a version without a stream".into()),
        (Some(_), Some(0)) => Err("version 0 (versions start at 1)".into()),
        _ => Ok(()),
    }
}
