//! Admission: whether a publish goes in, and as what.
//!
//! Each publish of a group is checked in turn against the log and against the publishes
//! admitted before it in the same group (which are not in the log yet): idempotency first,
//! then `expected_version`. An admitted publish gets its seqs, versions and time, and its
//! records are encoded into the group; a refused one uses no seq.

use super::{PublishOutcome, Rejection};
use crate::daemon::store::{encode, EventLog, NewRecord, RecordFields, StoreError};
use crate::envelope::{format_time, EnvelopeRef, NewEvent};
use crate::wire::PublishReply;
use std::collections::HashMap;
use std::sync::Arc;

/// What the group being built already holds, for checks against it, and its records.
#[derive(Default)]
pub(super) struct Group {
    /// The ids admitted so far, with what idempotency compares.
    ids: HashMap<String, Admitted>,
    /// Each stream's version after the events admitted so far.
    streams: HashMap<String, u64>,
    /// The records to append, in seq order.
    pub(super) records: Vec<NewRecord>,
    /// An array of several events is among the records: they go in all-or-nothing.
    pub(super) has_array: bool,
}

/// An event already stored or admitted: what a repeat of its id is compared with.
#[derive(Clone)]
struct Admitted {
    seq: u64,
    version: Option<u64>,
    ty: String,
    stream: Option<String>,
    source: Option<String>,
}

impl Admitted {
    /// Whether `event` is a repeat of this one (same type, stream and source).
    fn is_repeated_by(&self, event: &NewEvent) -> bool {
        self.ty == event.ty && self.stream == event.stream && self.source == event.source
    }
}

/// The writer's side of admission: the next seq and the clock, over the log.
pub(super) struct Admission {
    log: Arc<dyn EventLog>,
    next_seq: u64,
    /// The time of the last event admitted: times never decrease along seq.
    last_time_ms: i64,
    /// `last_time_ms` formatted, reused while the clock stays on the same millisecond.
    time_text: String,
}

impl Admission {
    /// Admission after the last event of `log`.
    pub(super) fn new(log: Arc<dyn EventLog>) -> Result<Self, StoreError> {
        let head = log.last_seq()?;
        let last_time_ms = log.get(head)?.map_or(0, |event| event.time_ms());
        Ok(Self {
            log,
            next_seq: head + 1,
            last_time_ms,
            time_text: format_time(last_time_ms),
        })
    }

    /// The last seq admitted.
    pub(super) fn head(&self) -> u64 {
        self.next_seq - 1
    }

    /// Checks one publish against the log and the group, and adds its records to the group.
    pub(super) fn admit(
        &mut self,
        events: &[NewEvent],
        group: &mut Group,
    ) -> Result<PublishOutcome, StoreError> {
        if let Some(decided) = self.check_ids(events, group)? {
            return Ok(decided);
        }
        let versions = match self.versions(events, group)? {
            Ok(versions) => versions,
            Err(rejection) => return Ok(PublishOutcome::Rejected(rejection)),
        };
        group.has_array |= events.len() > 1;
        let replies = events
            .iter()
            .zip(versions)
            .map(|(event, version)| self.add_to(group, event, version))
            .collect();
        Ok(PublishOutcome::Appended(replies))
    }

    /// Idempotency: a duplicate (every id stored, as the same events), a conflict, or
    /// `None` when every id is new.
    fn check_ids(
        &self,
        events: &[NewEvent],
        group: &Group,
    ) -> Result<Option<PublishOutcome>, StoreError> {
        let mut originals = Vec::new();
        for event in events {
            let id = event.id.as_deref().unwrap_or_default();
            let Some(existing) = self.existing(id, group)? else {
                continue;
            };
            if !existing.is_repeated_by(event) {
                let conflict = Rejection::IdConflict { id: id.into() };
                return Ok(Some(PublishOutcome::Rejected(conflict)));
            }
            originals.push(PublishReply {
                seq: existing.seq,
                id: id.into(),
                version: existing.version,
            });
        }
        if originals.is_empty() {
            return Ok(None);
        }
        if originals.len() == events.len() {
            return Ok(Some(PublishOutcome::Duplicate(originals)));
        }
        let ids = originals.into_iter().map(|r| r.id).collect();
        let partial = Rejection::PartialDuplicate { ids };
        Ok(Some(PublishOutcome::Rejected(partial)))
    }

    /// The event stored or admitted with `id`, if any.
    fn existing(&self, id: &str, group: &Group) -> Result<Option<Admitted>, StoreError> {
        if let Some(admitted) = group.ids.get(id) {
            return Ok(Some(admitted.clone()));
        }
        let Some(seq) = self.log.seq_of_id(id)? else {
            return Ok(None);
        };
        let event = self
            .log
            .get(seq)?
            .ok_or_else(|| StoreError::Corrupt(format!("id {id} points at missing event {seq}")))?;
        Ok(Some(Admitted {
            seq,
            version: event.version(),
            ty: event.ty().into(),
            stream: event.stream().map(Into::into),
            source: event.source().map(Into::into),
        }))
    }

    /// The version each event gets in its stream, or the `expected_version` it fails.
    #[allow(clippy::type_complexity)]
    fn versions(
        &self,
        events: &[NewEvent],
        group: &Group,
    ) -> Result<Result<Vec<Option<u64>>, Rejection>, StoreError> {
        let mut reached: HashMap<&str, u64> = HashMap::new();
        let mut versions = Vec::with_capacity(events.len());
        for (index, event) in events.iter().enumerate() {
            let Some(stream) = event.stream.as_deref() else {
                versions.push(None);
                continue;
            };
            let actual = match reached.get(stream).or_else(|| group.streams.get(stream)) {
                Some(v) => *v,
                None => self.log.stream_version(stream)?,
            };
            if let Some(expected) = event.expected_version.filter(|e| *e != actual) {
                return Ok(Err(Rejection::WrongExpectedVersion {
                    stream: stream.into(),
                    expected,
                    actual,
                    index,
                    after_earlier_events: reached.contains_key(stream),
                }));
            }
            reached.insert(stream, actual + 1);
            versions.push(Some(actual + 1));
        }
        Ok(Ok(versions))
    }

    /// Gives `event` the next seq and the time, and adds its record to `group`.
    fn add_to(
        &mut self,
        group: &mut Group,
        event: &NewEvent,
        version: Option<u64>,
    ) -> PublishReply {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.tick();
        let id = event.id.clone().unwrap_or_default();
        let stream = event.stream.clone().zip(version);
        if let Some((name, version)) = &stream {
            group.streams.insert(name.clone(), *version);
        }
        let admitted = Admitted {
            seq,
            version,
            ty: event.ty.clone(),
            stream: event.stream.clone(),
            source: event.source.clone(),
        };
        group.ids.insert(id.clone(), admitted);
        let raw = self.encode(event, seq, version);
        group.records.push(NewRecord {
            seq,
            id: id.clone(),
            stream,
            raw,
        });
        PublishReply { seq, id, version }
    }

    /// Moves the clock to now, unless now is earlier than the last event's time.
    fn tick(&mut self) {
        let now = chrono::Utc::now().timestamp_millis();
        if now > self.last_time_ms {
            self.last_time_ms = now;
            self.time_text = format_time(now);
        }
    }

    /// The stored record of `event`: the index fields and the envelope's JSON.
    fn encode(&self, event: &NewEvent, seq: u64, version: Option<u64>) -> Vec<u8> {
        let json = EnvelopeRef::appended(event, seq, version, &self.time_text).to_json();
        let fields = RecordFields {
            time_ms: self.last_time_ms,
            version: version.unwrap_or(0),
            ty: &event.ty,
            stream: event.stream.as_deref().unwrap_or_default(),
            id: event.id.as_deref().unwrap_or_default(),
            source: event.source.as_deref().unwrap_or_default(),
        };
        encode(&fields, &json)
    }
}
