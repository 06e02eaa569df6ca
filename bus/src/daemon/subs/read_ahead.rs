//! `ReadAhead`: the matching events a loop has read past its cursor, so that one trip to
//! the read pool serves many deliveries (a `batch: 1` subscription would otherwise make
//! one per event).
//!
//! It is bounded ([`READ_AHEAD_EVENTS`], [`READ_AHEAD_BYTES`]) and describes exactly the
//! matching events after `from` up to `last_examined`, for one [`Settings`] value: a loop
//! uses it only while its cursor is at `from` and its settings are that same value, so a
//! rewind, a skip or a PUT makes it read again. Events never change once durable, so
//! nothing else can make it stale.

use super::subscription::Settings;
use crate::daemon::store::{Scan, StoredEvent};
use std::collections::VecDeque;
use std::sync::Arc;

/// Matching events read at once when `batch` is smaller.
pub(crate) const READ_AHEAD_EVENTS: usize = 64;
/// Most bytes of event JSON held, unless one request's `batch_max_bytes` is larger (at
/// least one event is always held).
pub(crate) const READ_AHEAD_BYTES: u64 = 1024 * 1024;

/// The events of one request and where its acknowledgement moves the cursor.
#[derive(Debug)]
pub(crate) struct Request {
    /// At least one event, in seq order; none when nothing after the cursor matched.
    pub(crate) events: Vec<StoredEvent>,
    /// The cursor after the request: its last event, or further when the events after it
    /// up to there do not match `types`.
    pub(crate) up_to: u64,
}

/// The matching events read past a loop's cursor (see the module doc).
#[derive(Default)]
pub(crate) struct ReadAhead {
    /// The settings whose filter read the events.
    read_for: Option<Arc<Settings>>,
    /// The cursor the events follow.
    from: u64,
    events: VecDeque<StoredEvent>,
    /// The last seq examined: every match up to it is in `events`.
    last_examined: u64,
}

impl ReadAhead {
    /// Whether it holds what follows cursor `after` for `settings` (else read again).
    pub(crate) fn serves(&self, settings: &Arc<Settings>, after: u64) -> bool {
        self.read_for
            .as_ref()
            .is_some_and(|read_for| Arc::ptr_eq(read_for, settings))
            && self.from == after
            && self.last_examined > after
    }

    /// Replaces what it holds by `scan`, read after `after` for `settings`, cut to
    /// `max_bytes` (at least [`READ_AHEAD_BYTES`]).
    pub(crate) fn fill(&mut self, settings: Arc<Settings>, after: u64, scan: Scan, max_bytes: u64) {
        let (events, cut) = cut(scan.events, max_bytes.max(READ_AHEAD_BYTES));
        self.last_examined = match events.last() {
            Some(last) if cut => last.seq(),
            _ => scan.last_examined,
        };
        self.events = events.into();
        self.from = after;
        self.read_for = Some(settings);
    }

    /// The next request (without taking it out: [`ReadAhead::advance`] does, once the
    /// cursor moved): up to `max` events within `max_bytes` of body, at least one.
    pub(crate) fn next_request(&self, max: usize, max_bytes: u64) -> Request {
        let taken: Vec<StoredEvent> = self.events.iter().take(max).cloned().collect();
        let (events, cut) = cut(taken, max_bytes);
        let up_to = match events.last() {
            Some(last) if cut || events.len() < self.events.len() => last.seq(),
            _ => self.last_examined,
        };
        Request { events, up_to }
    }

    /// Drops what the cursor moved past: it now follows `after`.
    pub(crate) fn advance(&mut self, after: u64) {
        while self.events.front().is_some_and(|e| e.seq() <= after) {
            self.events.pop_front();
        }
        self.from = after;
    }

    /// Forgets everything (after a failed step).
    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }
}

/// Cuts `events` so their bodies fit `max_bytes` (keeping at least one); `true` if cut.
fn cut(mut events: Vec<StoredEvent>, max_bytes: u64) -> (Vec<StoredEvent>, bool) {
    let mut total = 2u64;
    let keep = events
        .iter()
        .position(|e| {
            total += e.json().len() as u64 + 1;
            total > max_bytes
        })
        .map_or(events.len(), |i| i.max(1));
    let was_cut = keep < events.len();
    events.truncate(keep);
    (events, was_cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::store::{encode, RecordFields};
    use crate::daemon::subs::store::StoredSub;
    use crate::wire::SubscriptionSpec;

    fn event(seq: u64) -> StoredEvent {
        let fields = RecordFields {
            time_ms: 0,
            version: 0,
            ty: "T",
            stream: "",
            id: "id",
            source: "",
        };
        // 10 bytes of JSON each.
        let raw = encode(&fields, br#"{"a":1234}"#);
        StoredEvent::parse(seq, raw.into()).expect("a record")
    }

    fn settings() -> Arc<Settings> {
        Arc::new(Settings::new(StoredSub {
            spec: SubscriptionSpec::new("http://127.0.0.1:1/"),
            paused: None,
            blocked: None,
            blocked_after: None,
        }))
    }

    /// Read ahead after cursor 0: matches at 2, 5 and 9, examined up to 12.
    fn filled(settings: &Arc<Settings>) -> ReadAhead {
        let mut ahead = ReadAhead::default();
        let scan = Scan {
            events: vec![event(2), event(5), event(9)],
            last_examined: 12,
        };
        ahead.fill(settings.clone(), 0, scan, 1024);
        ahead
    }

    fn seqs(request: &Request) -> Vec<u64> {
        request.events.iter().map(StoredEvent::seq).collect()
    }

    #[test]
    fn requests_take_up_to_batch_and_the_last_one_passes_the_examined_tail() {
        let settings = settings();
        let mut ahead = filled(&settings);
        assert!(ahead.serves(&settings, 0));
        let first = ahead.next_request(2, 1024);
        assert_eq!((seqs(&first), first.up_to), (vec![2, 5], 5));
        ahead.advance(first.up_to);
        assert!(ahead.serves(&settings, 5));
        let second = ahead.next_request(2, 1024);
        assert_eq!((seqs(&second), second.up_to), (vec![9], 12));
        ahead.advance(second.up_to);
        assert!(!ahead.serves(&settings, 12), "used up: read again");
    }

    #[test]
    fn a_request_is_cut_to_batch_max_bytes_but_keeps_one_event() {
        let settings = settings();
        let ahead = filled(&settings);
        // `[` + 10 + `,` + 10 + `]`: two events need 23 bytes.
        let cut = ahead.next_request(3, 22);
        assert_eq!((seqs(&cut), cut.up_to), (vec![2], 2));
        let one = ahead.next_request(3, 1);
        assert_eq!(seqs(&one), [2]);
    }

    #[test]
    fn it_serves_only_the_settings_and_cursor_it_was_read_for() {
        let settings = settings();
        let ahead = filled(&settings);
        assert!(
            !ahead.serves(&self::settings(), 0),
            "settings changed (a PUT)"
        );
        assert!(
            !ahead.serves(&settings, 3),
            "cursor moved (a rewind, a skip)"
        );
        assert!(!ReadAhead::default().serves(&settings, 0));
    }
}
