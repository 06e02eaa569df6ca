//! The on-disk record of one event: a small binary header, then the envelope JSON.
//!
//! The header holds what the log needs without parsing JSON: filtering by type or stream
//! on reads, the idempotency check (type, stream, source), index rebuilds (id, version),
//! and `lag_seconds` (time). The JSON after it is the envelope exactly as served, so a read
//! copies bytes and never re-serialises.
//!
//! ```text
//! u8 format (1) | i64 time_ms | u64 version (0 = none) | u16+type | u16+stream | u16+id | u16+source | envelope JSON
//! ```

use bytes::Bytes;
use std::ops::Range;

const FORMAT: u8 = 1;
const FIXED: usize = 1 + 8 + 8;

/// The fields of a record, borrowed, for encoding.
pub struct RecordFields<'a> {
    /// Append time, milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// Stream version, 0 when the event has no stream.
    pub version: u64,
    /// Event type.
    pub ty: &'a str,
    /// Stream, `""` for none.
    pub stream: &'a str,
    /// Event id.
    pub id: &'a str,
    /// Source, `""` for none.
    pub source: &'a str,
}

/// Encodes a record: header, then `json`.
pub fn encode(fields: &RecordFields<'_>, json: &[u8]) -> Vec<u8> {
    let strings = [fields.ty, fields.stream, fields.id, fields.source];
    let len = FIXED + strings.iter().map(|s| 2 + s.len()).sum::<usize>() + json.len();
    let mut out = Vec::with_capacity(len);
    out.push(FORMAT);
    out.extend_from_slice(&fields.time_ms.to_be_bytes());
    out.extend_from_slice(&fields.version.to_be_bytes());
    for s in strings {
        // Every string is at most 200 characters (800 bytes), validated before this.
        let n = u16::try_from(s.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(&s.as_bytes()[..usize::from(n)]);
    }
    out.extend_from_slice(json);
    out
}

/// One stored event: its seq and its record, parsed lazily (cheap to clone, zero-copy).
#[derive(Clone)]
pub struct StoredEvent {
    seq: u64,
    raw: Bytes,
    time_ms: i64,
    version: u64,
    ty: Range<usize>,
    stream: Range<usize>,
    id: Range<usize>,
    source: Range<usize>,
    json_start: usize,
}

impl std::fmt::Debug for StoredEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredEvent")
            .field("seq", &self.seq)
            .field("id", &self.id())
            .field("type", &self.ty())
            .finish()
    }
}

impl StoredEvent {
    /// Parses a record; `None` when it is not a record this version can read.
    pub fn parse(seq: u64, raw: Bytes) -> Option<Self> {
        if raw.len() < FIXED || raw[0] != FORMAT {
            return None;
        }
        let time_ms = i64::from_be_bytes(raw[1..9].try_into().ok()?);
        let version = u64::from_be_bytes(raw[9..17].try_into().ok()?);
        let mut at = FIXED;
        let mut next = || -> Option<Range<usize>> {
            let n = usize::from(u16::from_be_bytes(raw.get(at..at + 2)?.try_into().ok()?));
            let range = at + 2..at + 2 + n;
            std::str::from_utf8(raw.get(range.clone())?).ok()?;
            at = range.end;
            Some(range)
        };
        let (ty, stream, id, source) = (next()?, next()?, next()?, next()?);
        // The envelope JSON is an object: a record cut short does not end with its `}`.
        if raw.get(at) != Some(&b'{') || raw.last() != Some(&b'}') {
            return None;
        }
        Some(Self {
            seq,
            time_ms,
            version,
            ty,
            stream,
            id,
            source,
            json_start: at,
            raw,
        })
    }

    fn str_at(&self, range: &Range<usize>) -> &str {
        // Checked to be UTF-8 in `parse`.
        std::str::from_utf8(&self.raw[range.clone()]).unwrap_or_default()
    }

    /// The event's seq.
    pub fn seq(&self) -> u64 {
        self.seq
    }
    /// Append time in milliseconds since the Unix epoch.
    pub fn time_ms(&self) -> i64 {
        self.time_ms
    }
    /// Stream version, when the event has a stream.
    pub fn version(&self) -> Option<u64> {
        (self.version > 0).then_some(self.version)
    }
    /// Event type.
    pub fn ty(&self) -> &str {
        self.str_at(&self.ty)
    }
    /// Stream, if any.
    pub fn stream(&self) -> Option<&str> {
        Some(self.str_at(&self.stream)).filter(|s| !s.is_empty())
    }
    /// Event id.
    pub fn id(&self) -> &str {
        self.str_at(&self.id)
    }
    /// Source, if any.
    pub fn source(&self) -> Option<&str> {
        Some(self.str_at(&self.source)).filter(|s| !s.is_empty())
    }
    /// The envelope JSON, exactly as served.
    pub fn json(&self) -> Bytes {
        self.raw.slice(self.json_start..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let fields = RecordFields {
            time_ms: 1_700_000_000_123,
            version: 3,
            ty: "CommentCreated",
            stream: "comment-c1",
            id: "id-1",
            source: "",
        };
        let raw = encode(&fields, br#"{"seq":9}"#);
        let event = StoredEvent::parse(9, Bytes::from(raw)).expect("parses");
        assert_eq!(event.seq(), 9);
        assert_eq!(event.time_ms(), 1_700_000_000_123);
        assert_eq!(event.version(), Some(3));
        assert_eq!(event.ty(), "CommentCreated");
        assert_eq!(event.stream(), Some("comment-c1"));
        assert_eq!(event.id(), "id-1");
        assert_eq!(event.source(), None);
        assert_eq!(&event.json()[..], br#"{"seq":9}"#);
    }

    #[test]
    fn garbage_is_refused() {
        assert!(StoredEvent::parse(1, Bytes::from_static(b"{}")).is_none());
        assert!(StoredEvent::parse(1, Bytes::from_static(&[1; 20])).is_none());
    }

    fn sample() -> Vec<u8> {
        let fields = RecordFields {
            time_ms: 1,
            version: 1,
            ty: "T",
            stream: "s",
            id: "id-1",
            source: "src",
        };
        // As the writer makes it: the envelope always ends with its `time` (or ids) string.
        let json = br#"{"seq":1,"id":"id-1","type":"T","data":{"a":[1,2]},"stream":"s","version":1,"source":"src","time":"1970-01-01T00:00:00.001Z"}"#;
        encode(&fields, json)
    }

    #[test]
    fn a_record_cut_short_is_refused() {
        let raw = sample();
        let event = StoredEvent::parse(1, Bytes::from(raw.clone())).expect("the whole record");
        let json_start = raw.len() - event.json().len();
        // Anywhere in the header, or right after the JSON's first byte.
        for len in 0..=json_start + 1 {
            let cut = Bytes::copy_from_slice(&raw[..len]);
            assert!(StoredEvent::parse(1, cut).is_none(), "cut to {len} bytes");
        }
        // Without the JSON's closing brace. (The JSON is not parsed again on every read:
        // sled's page checksums guard it; a cut inside `data` that happens to leave a `}`
        // last is not caught by this check.)
        let cut = Bytes::copy_from_slice(&raw[..raw.len() - 1]);
        assert!(StoredEvent::parse(1, cut).is_none());
    }

    #[test]
    fn a_record_of_another_format_or_with_broken_fields_is_refused() {
        let mut other_format = sample();
        other_format[0] = other_format[0].wrapping_add(1);
        let mut bad_utf8 = sample();
        // The type's one byte ("T") follows the fixed header and its 2-byte length.
        bad_utf8[FIXED + 2] = 0xff;
        let mut long_length = sample();
        long_length[FIXED..FIXED + 2].copy_from_slice(&u16::MAX.to_be_bytes());
        for (case, raw) in [
            ("another format", other_format),
            ("a type that is not UTF-8", bad_utf8),
            ("a length past the end", long_length),
        ] {
            assert!(StoredEvent::parse(1, Bytes::from(raw)).is_none(), "{case}");
        }
    }

    #[test]
    fn every_field_of_a_record_reads_back() {
        let event = StoredEvent::parse(1, Bytes::from(sample())).expect("parses");
        assert_eq!(event.version(), Some(1));
        assert_eq!(event.stream(), Some("s"));
        assert_eq!(event.source(), Some("src"));
    }

    #[test]
    fn an_event_without_stream_or_source_has_no_version_stream_or_source() {
        let fields = RecordFields {
            time_ms: 1,
            version: 0,
            ty: "T",
            stream: "",
            id: "id-1",
            source: "",
        };
        let raw = encode(&fields, br#"{"seq":1}"#);
        let event = StoredEvent::parse(1, Bytes::from(raw)).expect("parses");
        assert_eq!(event.version(), None);
        assert_eq!(event.stream(), None);
        assert_eq!(event.source(), None);
    }

    #[test]
    fn a_record_is_built_in_one_allocation_of_its_exact_size() {
        // `Vec::with_capacity(n)` allocates exactly `n`: a wrong size shows as a larger
        // capacity, or as one grown by a reallocation.
        let raw = sample();
        assert_eq!(raw.capacity(), raw.len());
    }

    #[test]
    fn debug_output_names_seq_id_and_type() {
        let event = StoredEvent::parse(7, Bytes::from(sample())).expect("parses");
        assert_eq!(
            format!("{event:?}"),
            r#"StoredEvent { seq: 7, id: "id-1", type: "T" }"#
        );
    }
}
