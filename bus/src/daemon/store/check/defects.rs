//! The defects a check can find, and their collection: all counted, the first few of each
//! kind kept.

use std::collections::BTreeMap;

/// A kind of defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DefectKind {
    /// A meta entry (format, log id, verified-head marker) missing or wrong.
    Meta,
    /// An import into the store did not finish (it was killed half-way).
    ImportUnfinished,
    /// Seqs missing from the log.
    Gap,
    /// A record (or key) the store cannot read.
    UnreadableRecord,
    /// A record whose envelope JSON says other than its header.
    EnvelopeMismatch,
    /// An event's time before the previous event's.
    TimeDecreasing,
    /// An event whose id has no index entry.
    IdNotIndexed,
    /// An event whose id's index entry points at another seq.
    IdIndexWrong,
    /// An id index entry that no event has.
    IdIndexExtra,
    /// An event on a stream with no stream index entry.
    StreamNotIndexed,
    /// A stream index entry pointing at another seq than its event's.
    StreamIndexWrong,
    /// A stream index entry that no event has.
    StreamIndexExtra,
    /// A stream version that does not follow the stream's previous one.
    StreamVersionGap,
    /// A subscription's cursor past the log's head.
    CursorBeyondHead,
    /// The subscription trees cannot be read.
    Subscriptions,
}

impl DefectKind {
    /// A short name for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Meta => "meta entry",
            Self::ImportUnfinished => "unfinished import",
            Self::Gap => "gap in the log",
            Self::UnreadableRecord => "unreadable record",
            Self::EnvelopeMismatch => "envelope not matching its record",
            Self::TimeDecreasing => "time going back",
            Self::IdNotIndexed => "event missing from the id index",
            Self::IdIndexWrong => "wrong id index entry",
            Self::IdIndexExtra => "id index entry without its event",
            Self::StreamNotIndexed => "event missing from the stream index",
            Self::StreamIndexWrong => "wrong stream index entry",
            Self::StreamIndexExtra => "stream index entry without its event",
            Self::StreamVersionGap => "stream version gap",
            Self::CursorBeyondHead => "cursor beyond the head",
            Self::Subscriptions => "unreadable subscriptions",
        }
    }
}

impl std::fmt::Display for DefectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// One defect: its kind, and what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defect {
    /// Its kind.
    pub kind: DefectKind,
    /// What is wrong, and where (a seq, an id, a stream, a subscription).
    pub detail: String,
}

/// The defects found so far.
pub(super) struct Defects {
    max_per_kind: usize,
    kept: Vec<Defect>,
    counts: BTreeMap<DefectKind, u64>,
}

impl Defects {
    pub(super) fn new(max_per_kind: usize) -> Self {
        Self {
            max_per_kind,
            kept: Vec::new(),
            counts: BTreeMap::new(),
        }
    }

    /// Counts a defect of `kind`; `detail` is made only for one that is kept.
    pub(super) fn add(&mut self, kind: DefectKind, detail: impl FnOnce() -> String) {
        let count = self.counts.entry(kind).or_default();
        *count += 1;
        if *count <= self.max_per_kind as u64 {
            self.kept.push(Defect {
                kind,
                detail: detail(),
            });
        }
    }

    pub(super) fn into_parts(self) -> (Vec<Defect>, BTreeMap<DefectKind, u64>) {
        (self.kept, self.counts)
    }
}
