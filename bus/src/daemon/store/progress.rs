//! How the offline tools report how far they are: the binary draws progress bars from it,
//! tests and scripts pass [`Silent`].

/// What a long offline operation (an import's two passes, a check) reports as it goes.
pub trait Progress {
    /// A phase begins (`"validating"`, `"writing"`, `"checking"`): `total` events of it.
    fn begin(&self, phase: &'static str, total: u64);
    /// `done` events of the current phase are done so far.
    fn advance_to(&self, done: u64);
    /// The current phase is over.
    fn end(&self);
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn begin(&self, _phase: &'static str, _total: u64) {}
    fn advance_to(&self, _done: u64) {}
    fn end(&self) {}
}

/// How many events go by between two reports: often enough for a bar, rarely enough to cost
/// nothing.
pub(super) const REPORT_EVERY: u64 = 4096;
