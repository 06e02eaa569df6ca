//! The check on real sled stores: sound on a good store; on copies of it, each kind of
//! defect introduced (with sled, as a disk fault or a bug would leave it) is found.

use super::*;
use crate::daemon::store::sled_log::{seq_key, stream_key};
use crate::daemon::store::{encode, EventLog, NewRecord, RecordFields, Silent, SledLog};
use crate::envelope::{format_time, EnvelopeRef};
use crate::wire::SubscriptionSpec;
use serde_json::value::RawValue;

const T0: i64 = 1_764_000_000_000;

/// Event `seq`'s stream and version: every second event is on stream `s`.
fn stream_of(seq: u64) -> Option<(String, u64)> {
    seq.is_multiple_of(2).then(|| ("s".to_string(), seq / 2))
}

/// Event `seq`'s envelope JSON, as the writer makes it.
fn envelope_json(seq: u64) -> Vec<u8> {
    let id = format!("id-{seq}");
    let stream = stream_of(seq);
    let time = format_time(T0 + seq as i64);
    let data = RawValue::from_string(format!(r#"{{"n":{seq}}}"#)).expect("raw");
    EnvelopeRef {
        seq,
        id: &id,
        ty: "Happened",
        data: &data,
        stream: stream.as_ref().map(|(s, _)| s.as_str()),
        version: stream.as_ref().map(|(_, v)| *v),
        source: None,
        time: &time,
        correlation_id: None,
        causation_id: None,
    }
    .to_json()
}

/// Event `seq` as the writer stores it, with type `ty` in its record's header.
fn record_typed(seq: u64, ty: &str) -> NewRecord {
    let id = format!("id-{seq}");
    let stream = stream_of(seq);
    let fields = RecordFields {
        time_ms: T0 + seq as i64,
        version: stream.as_ref().map_or(0, |(_, v)| *v),
        ty,
        stream: stream.as_ref().map_or("", |(s, _)| s.as_str()),
        id: &id,
        source: "",
    };
    NewRecord {
        seq,
        raw: encode(&fields, &envelope_json(seq)),
        id,
        stream,
    }
}

fn record(seq: u64) -> NewRecord {
    record_typed(seq, "Happened")
}

/// A store of 20 events and one subscription at seq 10, closed.
fn good_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) = SledLog::open(dir.path(), 8).expect("open");
    let records: Vec<_> = (1..=20).map(record).collect();
    log.append(&records, false).expect("append");
    put_subscription(log.db(), "reader", 10);
    log.flush().expect("flush");
    drop(log);
    released(dir.path());
    dir
}

/// Stores subscription `name` with its cursor at `after`, as the subscription store does.
fn put_subscription(db: &sled::Db, name: &str, after: u64) {
    let sub = serde_json::json!({ "spec": SubscriptionSpec::new("http://127.0.0.1:1/events") });
    let settings = serde_json::to_vec(&sub).expect("json");
    db.open_tree("subscriptions")
        .expect("tree")
        .insert(name, settings)
        .expect("insert");
    let cursor: Vec<u8> = [1, after, 0]
        .iter()
        .flat_map(|w: &u64| w.to_be_bytes())
        .collect();
    db.open_tree("cursors")
        .expect("tree")
        .insert(name, cursor)
        .expect("insert");
}

/// Waits until sled's threads let go of the store in `dir`.
fn released(dir: &Path) {
    crate::daemon::store::wait_released(&dir.join("db"));
}

/// A copy of `original` with `damage` done to it through sled.
fn damaged_copy(original: &Path, damage: impl FnOnce(&Trees)) -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("tempdir");
    copy_dir(original, copy.path());
    let trees = Trees::open(copy.path(), 8).expect("open the copy");
    damage(&trees);
    trees.db.flush().expect("flush");
    drop(trees);
    released(copy.path());
    copy
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// What a test does to a copy of a store.
type Damage = Box<dyn FnOnce(&Trees)>;

fn kinds(dir: &Path) -> Vec<DefectKind> {
    let report = check(dir, 8, 10, &Silent).expect("check");
    report.counts.keys().copied().collect()
}

#[test]
fn a_good_store_is_sound() {
    let store = good_store();
    let report = check(store.path(), 8, 10, &Silent).expect("check");
    assert!(report.is_sound(), "{:?}", report.defects);
    assert_eq!(
        (report.head, report.verified_head, report.events),
        (20, 20, 20)
    );
    assert_eq!((report.streams, report.subscriptions), (1, 1));
    assert!(!report.log_id.is_empty());
}

#[test]
fn each_kind_of_defect_introduced_is_found() {
    let store = good_store();
    let cases: Vec<(&str, Damage, Vec<DefectKind>)> = vec![
        (
            "a missing id entry",
            Box::new(|t| drop(t.ids.remove("id-5").expect("remove"))),
            vec![DefectKind::IdNotIndexed],
        ),
        (
            "a wrong id entry",
            Box::new(|t| drop(t.ids.insert("id-5", &seq_key(6)).expect("insert"))),
            vec![DefectKind::IdIndexWrong],
        ),
        (
            "an extra id entry",
            Box::new(|t| drop(t.ids.insert("id-99", &seq_key(3)).expect("insert"))),
            vec![DefectKind::IdIndexExtra],
        ),
        (
            "a missing stream entry",
            Box::new(|t| drop(t.streams.remove(stream_key("s", 3)).expect("remove"))),
            vec![DefectKind::StreamNotIndexed],
        ),
        (
            "a wrong stream entry",
            Box::new(|t| {
                drop(
                    t.streams
                        .insert(stream_key("s", 3), &seq_key(8))
                        .expect("insert"),
                )
            }),
            vec![DefectKind::StreamIndexWrong],
        ),
        (
            "a gap",
            Box::new(|t| drop(t.events.remove(seq_key(7)).expect("remove"))),
            vec![DefectKind::Gap, DefectKind::IdIndexExtra],
        ),
        (
            "a gap in a stream",
            Box::new(|t| drop(t.events.remove(seq_key(8)).expect("remove"))),
            vec![
                DefectKind::Gap,
                DefectKind::IdIndexExtra,
                DefectKind::StreamIndexExtra,
                DefectKind::StreamVersionGap,
            ],
        ),
        (
            "a cursor beyond the head",
            Box::new(|t| put_subscription(&t.db, "ahead", 21)),
            vec![DefectKind::CursorBeyondHead],
        ),
        (
            "a marker beyond the head",
            Box::new(|t| {
                drop(
                    t.meta
                        .insert("verified_head", &seq_key(25))
                        .expect("insert"),
                )
            }),
            vec![DefectKind::Meta],
        ),
        (
            "an unreadable record",
            Box::new(|t| {
                drop(
                    t.events
                        .insert(seq_key(5), b"garbage".as_slice())
                        .expect("insert"),
                )
            }),
            vec![DefectKind::UnreadableRecord, DefectKind::IdIndexExtra],
        ),
        (
            "a record whose JSON is not its header's",
            Box::new(|t| {
                drop(
                    t.events
                        .insert(seq_key(9), record_typed(9, "Other").raw)
                        .expect("insert"),
                )
            }),
            vec![DefectKind::EnvelopeMismatch],
        ),
        (
            "a time going back",
            Box::new(|t| {
                let mut late = record(12);
                late.raw[1..9].copy_from_slice(&T0.to_be_bytes());
                drop(t.events.insert(seq_key(12), late.raw).expect("insert"));
            }),
            vec![DefectKind::EnvelopeMismatch, DefectKind::TimeDecreasing],
        ),
    ];
    for (case, damage, expected) in cases {
        let copy = damaged_copy(store.path(), damage);
        assert_eq!(kinds(copy.path()), expected, "{case}");
    }
    assert!(kinds(store.path()).is_empty(), "the original is untouched");
}

#[test]
fn only_the_first_defects_of_a_kind_are_kept_but_all_are_counted() {
    let store = good_store();
    let copy = damaged_copy(store.path(), |t| {
        for seq in 1..=20 {
            t.ids.remove(format!("id-{seq}")).expect("remove");
        }
    });
    let report = check(copy.path(), 8, 3, &Silent).expect("check");
    assert_eq!(report.defects.len(), 3);
    assert_eq!(report.counts.get(&DefectKind::IdNotIndexed), Some(&20));
    assert_eq!(report.defect_total(), 20);
}

#[test]
fn a_dir_without_a_store_is_refused_and_left_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(matches!(
        check(dir.path(), 8, 10, &Silent),
        Err(CheckError::NoStore(_))
    ));
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
}

/// Index entries missing after the verified-head marker are what a crash between the log
/// write and the index write leaves, which the next start rebuilds: counted, not defects.
#[test]
fn index_entries_missing_after_the_verified_head_are_not_defects() {
    let store = good_store();
    let copy = damaged_copy(store.path(), |t| {
        t.meta
            .insert("verified_head", &seq_key(15))
            .expect("marker");
        t.ids.remove("id-17").expect("remove");
        t.ids.remove("id-18").expect("remove");
        t.streams.remove(stream_key("s", 9)).expect("remove");
    });
    let report = check(copy.path(), 8, 10, &Silent).expect("check");
    assert!(report.is_sound(), "{:?}", report.defects);
    assert_eq!((report.verified_head, report.to_index), (15, 2));
}

/// A store an import did not finish is refused at the next start, not recovered: its
/// missing index entries are not promised a rebuild, and the report says what to do.
#[test]
fn an_unfinished_import_is_reported_as_such_and_promised_no_rebuild() {
    let store = good_store();
    for (mark, says) in [
        ("created", "delete it and import again"),
        ("continued", "restore it from its backup"),
    ] {
        let copy = damaged_copy(store.path(), |t| {
            t.meta
                .insert("verified_head", &seq_key(15))
                .expect("marker");
            t.ids.remove("id-17").expect("remove");
            t.meta.insert("import_incomplete", mark).expect("mark");
        });
        let report = check(copy.path(), 8, 10, &Silent).expect("check");
        assert_eq!(report.to_index, 0, "{mark}");
        let advice = report.unfinished_import.expect("reported");
        assert!(advice.contains(says), "{mark}: {advice}");
        assert!(report.counts.contains_key(&DefectKind::ImportUnfinished));
    }
}
