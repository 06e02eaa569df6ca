//! The log pass of a check: every record in seq order, with its index entries looked up,
//! and the meta entries.

use super::defects::{DefectKind, Defects};
use crate::daemon::store::progress::{Progress, REPORT_EVERY};
use crate::daemon::store::sled_log::{
    key_seq, parse, seq_key, stream_key, Trees, FORMAT, IMPORT_CONTINUED, META_FORMAT,
    META_IMPORT_INCOMPLETE, META_LOG_ID, META_VERIFIED_HEAD,
};
use crate::daemon::store::{StoreError, StoredEvent};
use crate::envelope::{format_time, Envelope};
use std::collections::{HashMap, HashSet};

/// What the log pass learnt, for the passes after it.
#[derive(Debug, Default)]
pub(super) struct LogFacts {
    /// The last seq in the log.
    pub(super) head: u64,
    /// Events in the log.
    pub(super) events: u64,
    /// Distinct streams.
    pub(super) streams: u64,
    /// Index entries accounted for by the log: matching their event, or reported wrong.
    pub(super) id_entries_seen: u64,
    /// Stream index entries accounted for the same way.
    pub(super) stream_entries_seen: u64,
    /// Ids whose entry was reported wrong (not to report it again as extra).
    pub(super) wrong_ids: HashSet<Box<str>>,
    /// Stream index keys reported wrong.
    pub(super) wrong_stream_keys: HashSet<Vec<u8>>,
    /// Events after the verified-head marker missing an index entry: what a crash leaves
    /// and the next start rebuilds, so not a defect.
    pub(super) to_index: u64,
}

/// The log pass's state.
struct LogCheck<'a> {
    trees: &'a Trees,
    defects: &'a mut Defects,
    facts: LogFacts,
    next_seq: u64,
    last_time_ms: i64,
    /// Each stream's last version so far.
    versions: HashMap<Box<str>, u64>,
    /// The verified-head marker: index entries missing after it are not defects.
    verified_head: u64,
    /// Whether the record being checked misses an index entry after the marker.
    missing_in_tail: bool,
}

/// Reads the whole log in seq order, checking each record and its index entries.
pub(super) fn check_log(
    trees: &Trees,
    defects: &mut Defects,
    progress: &dyn Progress,
) -> Result<LogFacts, StoreError> {
    let last = trees
        .events
        .last()?
        .map(|(key, _)| key_seq(&key).unwrap_or(0));
    progress.begin("checking", last.unwrap_or(0));
    let mut check = LogCheck {
        trees,
        defects,
        facts: LogFacts::default(),
        next_seq: 1,
        last_time_ms: i64::MIN,
        versions: HashMap::new(),
        verified_head: read_verified_head(trees)?.unwrap_or(0),
        missing_in_tail: false,
    };
    for item in trees.events.iter() {
        let (key, value) = item?;
        check.record(&key, value)?;
        if check.facts.events.is_multiple_of(REPORT_EVERY) {
            progress.advance_to(check.facts.events);
        }
    }
    progress.end();
    check.facts.head = check.next_seq - 1;
    check.facts.streams = check.versions.len() as u64;
    Ok(check.facts)
}

impl LogCheck<'_> {
    fn record(&mut self, key: &[u8], value: sled::IVec) -> Result<(), StoreError> {
        self.facts.events += 1;
        let Ok(seq) = key_seq(key) else {
            let len = key.len();
            self.defects.add(DefectKind::UnreadableRecord, || {
                format!("a key of {len} bytes in the log")
            });
            return Ok(());
        };
        if seq != self.next_seq {
            let from = self.next_seq;
            self.defects.add(DefectKind::Gap, || {
                format!("seqs {from}..={} are missing", seq - 1)
            });
        }
        self.next_seq = seq + 1;
        let Ok(event) = parse(seq, value) else {
            self.defects
                .add(DefectKind::UnreadableRecord, || format!("seq {seq}"));
            return Ok(());
        };
        self.envelope(&event);
        if event.time_ms() < self.last_time_ms {
            self.defects.add(DefectKind::TimeDecreasing, || {
                format!(
                    "seq {seq}: {} is before the previous event's time",
                    format_time(event.time_ms())
                )
            });
        }
        self.last_time_ms = event.time_ms();
        self.missing_in_tail = false;
        self.id_entry(&event)?;
        if let (Some(stream), Some(version)) = (event.stream(), event.version()) {
            self.stream_entry(&event, stream, version)?;
        }
        self.facts.to_index += u64::from(self.missing_in_tail);
        Ok(())
    }

    /// The record's JSON must be the envelope its header describes.
    fn envelope(&mut self, event: &StoredEvent) {
        let seq = event.seq();
        let json = event.json();
        let Ok(e) = serde_json::from_slice::<Envelope>(&json) else {
            self.defects.add(DefectKind::EnvelopeMismatch, || {
                format!("seq {seq}: its JSON is not an envelope")
            });
            return;
        };
        let differs = [
            ("seq", e.seq != seq),
            ("id", e.id != event.id()),
            ("type", e.ty != event.ty()),
            ("stream", e.stream.as_deref() != event.stream()),
            ("version", e.version != event.version()),
            ("source", e.source.as_deref() != event.source()),
            ("time", e.time != format_time(event.time_ms())),
        ];
        if let Some((field, _)) = differs.iter().find(|(_, differs)| *differs) {
            self.defects.add(DefectKind::EnvelopeMismatch, || {
                format!("seq {seq}: its JSON's `{field}` is not its record's")
            });
        }
    }

    fn id_entry(&mut self, event: &StoredEvent) -> Result<(), StoreError> {
        let (seq, id) = (event.seq(), event.id());
        match self.trees.ids.get(id)? {
            None if seq > self.verified_head => self.missing_in_tail = true,
            None => self
                .defects
                .add(DefectKind::IdNotIndexed, || format!("seq {seq}: id {id:?}")),
            Some(at) if at != seq_key(seq) => {
                self.facts.id_entries_seen += 1;
                self.facts.wrong_ids.insert(id.into());
                let at = key_seq(&at)
                    .map_or_else(|_| "an unreadable seq".into(), |s| format!("seq {s}"));
                self.defects.add(DefectKind::IdIndexWrong, || {
                    format!("id {id:?} points at {at}, its event is seq {seq}")
                });
            }
            Some(_) => self.facts.id_entries_seen += 1,
        }
        Ok(())
    }

    fn stream_entry(
        &mut self,
        event: &StoredEvent,
        stream: &str,
        version: u64,
    ) -> Result<(), StoreError> {
        let seq = event.seq();
        let previous = self.versions.get(stream).copied().unwrap_or(0);
        if version != previous + 1 {
            self.defects.add(DefectKind::StreamVersionGap, || {
                format!("seq {seq}: stream {stream:?} version {version} after {previous}")
            });
        }
        self.versions.insert(stream.into(), version);
        let key = stream_key(stream, version);
        match self.trees.streams.get(&key)? {
            None if seq > self.verified_head => self.missing_in_tail = true,
            None => self.defects.add(DefectKind::StreamNotIndexed, || {
                format!("seq {seq}: stream {stream:?} version {version}")
            }),
            Some(at) if at != seq_key(seq) => {
                self.facts.stream_entries_seen += 1;
                self.facts.wrong_stream_keys.insert(key);
                let at = key_seq(&at)
                    .map_or_else(|_| "an unreadable seq".into(), |s| format!("seq {s}"));
                self.defects.add(DefectKind::StreamIndexWrong, || {
                    format!("stream {stream:?} version {version} points at {at}, its event is seq {seq}")
                });
            }
            Some(_) => self.facts.stream_entries_seen += 1,
        }
        Ok(())
    }
}

/// Checks the meta entries: the format, the log id and the verified-head marker (at most
/// the head; behind it after a crash, which the next start recovers). Returns the log id
/// and the marker.
pub(super) fn check_meta(
    trees: &Trees,
    head: u64,
    defects: &mut Defects,
) -> Result<(String, u64), StoreError> {
    if trees.meta.get(META_FORMAT)?.as_deref() != Some(FORMAT) {
        defects.add(DefectKind::Meta, || {
            "the format entry is missing or unknown".into()
        });
    }
    if let Some(unfinished) = trees.meta.get(META_IMPORT_INCOMPLETE)? {
        defects.add(DefectKind::ImportUnfinished, || {
            match unfinished == IMPORT_CONTINUED {
                true => "an import continuing the store was stopped: restore it from its backup",
                false => "the import that created the store was stopped: delete it, import again",
            }
            .into()
        });
    }
    let log_id = match trees.meta.get(META_LOG_ID)? {
        Some(id) => String::from_utf8_lossy(&id).into_owned(),
        None => {
            defects.add(DefectKind::Meta, || "the log id is missing".into());
            String::new()
        }
    };
    let verified = match read_verified_head(trees)? {
        Some(verified) => verified,
        None => {
            defects.add(DefectKind::Meta, || {
                "the verified-head marker is missing or unreadable".into()
            });
            0
        }
    };
    if verified > head {
        defects.add(DefectKind::Meta, || {
            format!("the verified-head marker is at {verified} but the log ends at {head}")
        });
    }
    Ok((log_id, verified))
}

/// The verified-head marker; `None` if it is missing or unreadable.
fn read_verified_head(trees: &Trees) -> Result<Option<u64>, StoreError> {
    let marker = trees.meta.get(META_VERIFIED_HEAD)?;
    Ok(marker.as_deref().and_then(|m| key_seq(m).ok()))
}
