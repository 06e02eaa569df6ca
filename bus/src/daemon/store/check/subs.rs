//! The subscription pass of a check: settings and cursors readable, cursors ≤ the head.

use super::defects::{DefectKind, Defects};
use crate::daemon::subs::SubStore;

/// Checks every stored subscription against the log's `head`; returns how many there are.
pub(super) fn check_subscriptions(db: &sled::Db, head: u64, defects: &mut Defects) -> u64 {
    let all = SubStore::open(db).and_then(|store| store.all());
    let subs = match all {
        Ok(subs) => subs,
        Err(e) => {
            defects.add(DefectKind::Subscriptions, || e.to_string());
            return 0;
        }
    };
    for (name, _, cursor) in &subs {
        if cursor.after > head {
            defects.add(DefectKind::CursorBeyondHead, || {
                format!(
                    "subscription {name:?}: cursor at {}, head {head}",
                    cursor.after
                )
            });
        }
    }
    subs.len() as u64
}
