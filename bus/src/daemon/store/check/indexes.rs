//! The index pass of a check: entries that no event accounts for. The log pass has matched
//! every event's entries; only when an index holds more entries than that does this pass
//! read it whole to name the extra ones.

use super::defects::{DefectKind, Defects};
use super::log::LogFacts;
use crate::daemon::store::sled_log::{key_seq, parse, seq_key, Trees};
use crate::daemon::store::{StoreError, StoredEvent};

/// Reports the index entries that point at no event of theirs.
pub(super) fn check_extra_entries(
    trees: &Trees,
    facts: &LogFacts,
    defects: &mut Defects,
) -> Result<(), StoreError> {
    if trees.ids.len() as u64 > facts.id_entries_seen {
        extra_ids(trees, facts, defects)?;
    }
    if trees.streams.len() as u64 > facts.stream_entries_seen {
        extra_stream_entries(trees, facts, defects)?;
    }
    Ok(())
}

fn extra_ids(trees: &Trees, facts: &LogFacts, defects: &mut Defects) -> Result<(), StoreError> {
    for item in trees.ids.iter() {
        let (key, at) = item?;
        let id = String::from_utf8_lossy(&key);
        if facts.wrong_ids.contains(&*id) {
            continue;
        }
        let event = event_at(trees, &at)?;
        if event.as_ref().is_some_and(|e| e.id() == id) {
            continue;
        }
        defects.add(DefectKind::IdIndexExtra, || {
            format!("id {id:?} points at {}", describe(&at, event.as_ref()))
        });
    }
    Ok(())
}

fn extra_stream_entries(
    trees: &Trees,
    facts: &LogFacts,
    defects: &mut Defects,
) -> Result<(), StoreError> {
    for item in trees.streams.iter() {
        let (key, at) = item?;
        if facts.wrong_stream_keys.contains(key.as_ref()) {
            continue;
        }
        let (stream, version) = split_stream_key(&key);
        let event = event_at(trees, &at)?;
        let matches = |e: &StoredEvent| e.stream() == Some(&*stream) && e.version() == version;
        if event.as_ref().is_some_and(matches) {
            continue;
        }
        defects.add(DefectKind::StreamIndexExtra, || {
            let version = version.map_or_else(|| "?".into(), |v| v.to_string());
            format!(
                "stream {stream:?} version {version} points at {}",
                describe(&at, event.as_ref())
            )
        });
    }
    Ok(())
}

/// The event an index entry's value names, if it names a readable one.
fn event_at(trees: &Trees, at: &[u8]) -> Result<Option<StoredEvent>, StoreError> {
    let Ok(seq) = key_seq(at) else {
        return Ok(None);
    };
    Ok(trees
        .events
        .get(seq_key(seq))?
        .and_then(|value| parse(seq, value).ok()))
}

fn describe(at: &[u8], event: Option<&StoredEvent>) -> String {
    match (key_seq(at), event) {
        (Err(_), _) => "an unreadable seq".into(),
        (Ok(seq), None) => format!("seq {seq}, which holds no readable event"),
        (Ok(seq), Some(e)) => format!("seq {seq}, which holds id {:?}", e.id()),
    }
}

/// A stream index key's stream and version (`stream \0 version`, the version 8 bytes).
fn split_stream_key(key: &[u8]) -> (String, Option<u64>) {
    match key.len().checked_sub(9) {
        Some(cut) if key[cut] == 0 => (
            String::from_utf8_lossy(&key[..cut]).into_owned(),
            key_seq(&key[cut + 1..]).ok(),
        ),
        _ => (String::from_utf8_lossy(key).into_owned(), None),
    }
}
