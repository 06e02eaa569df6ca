//! Import, in-process on real sled stores in temp dirs: a round trip keeps every byte, and
//! every kind of bad file is refused, naming its line, with nothing left behind.

use super::*;
use crate::daemon::store::Silent;
use crate::envelope::{format_time, EnvelopeRef};
use serde_json::value::RawValue;

const LOG_ID: &str = "0193a1c2-0000-7000-8000-000000000001";
const T0: i64 = 1_764_000_000_000;

/// One event line as the bus serves it; `data` keeps a space and a key order of its own.
fn line(seq: u64, id: &str, stream: Option<(&str, u64)>, time_ms: i64) -> String {
    let data = RawValue::from_string(format!(r#"{{"z": {seq}, "a":"é"}}"#)).expect("raw");
    let time = format_time(time_ms);
    let envelope = EnvelopeRef {
        seq,
        id,
        ty: "Happened",
        data: &data,
        stream: stream.map(|(s, _)| s),
        version: stream.map(|(_, v)| v),
        source: Some("tests"),
        time: &time,
        correlation_id: None,
        causation_id: None,
    };
    String::from_utf8(envelope.to_json()).expect("utf-8")
}

/// `count` events after `after`, every third one on stream `s`, a millisecond apart.
fn lines(after: u64, count: u64) -> Vec<String> {
    (after + 1..=after + count)
        .map(|seq| {
            let stream = seq.is_multiple_of(3).then_some(("s", seq / 3));
            line(seq, &format!("id-{seq}"), stream, T0 + seq as i64)
        })
        .collect()
}

fn header(after: u64, head: u64) -> String {
    serde_json::to_string(&ExportHeader::new(LOG_ID, after, head)).expect("header")
}

/// A file of `header` then `lines`, in `dir`.
fn file(dir: &Path, header: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(format!("export-{}.ndjson", fastrand::u64(..)));
    let mut text = format!("{header}\n");
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    std::fs::write(&path, text).expect("write the file");
    path
}

/// Retries `attempt` while the store is locked: a store closed a moment ago in this
/// process can still be held by one of sled's threads.
fn when_free<T, E: std::fmt::Display>(
    is_locked: impl Fn(&E) -> bool,
    mut attempt: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match attempt() {
            Err(e) if is_locked(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn open_log(dir: &Path) -> SledLog {
    when_free(crate::daemon::store::is_locked, || SledLog::open(dir, 8))
        .expect("open")
        .0
}

fn import(
    dir: &Path,
    file: &Path,
    cache_mb: u64,
    progress: &dyn Progress,
) -> Result<Imported, ImportError> {
    when_free(
        |e| matches!(e, ImportError::Locked(_)),
        || super::import(dir, file, cache_mb, progress),
    )
}

fn stored_json(dir: &Path) -> Vec<String> {
    let log = open_log(dir);
    let scan = log
        .scan(0, u64::MAX, &Default::default(), usize::MAX, usize::MAX)
        .expect("scan");
    scan.events
        .iter()
        .map(|e| String::from_utf8(e.json().to_vec()).expect("utf-8"))
        .collect()
}

#[test]
fn an_import_keeps_every_byte_and_the_log_id() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let events = lines(0, 25);
    let path = file(tmp.path(), &header(0, 25), &events);
    let store = tmp.path().join("store");
    let imported = import(&store, &path, 8, &Silent).expect("import");
    assert_eq!(
        imported,
        Imported {
            events: 25,
            head: 25,
            log_id: LOG_ID.into(),
            created: true
        }
    );
    assert_eq!(stored_json(&store), events);
    let log = open_log(&store);
    assert_eq!(log.log_id(), LOG_ID);
    assert_eq!(log.seq_of_id("id-7").expect("id"), Some(7));
    assert_eq!(log.stream_version("s").expect("version"), 8);
    assert_eq!(
        log.get(25).expect("get").map(|e| e.time_ms()),
        Some(T0 + 25)
    );
}

/// A `data` published pretty-printed keeps its raw line breaks: its envelope is exported
/// over several lines, and imported as one, byte for byte; the lines after it keep their
/// numbers.
#[test]
fn an_event_whose_data_holds_line_breaks_is_imported_byte_for_byte() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut events = lines(0, 6);
    events[2] = events[2].replacen(
        r#"{"z": 3, "a":"é"}"#,
        "{\n  \"z\": 3,\n\n  \"a\":\"é\"\n}",
        1,
    );
    assert_eq!(events[2].lines().count(), 5, "{}", events[2]);
    let store = tmp.path().join("store");
    import(
        &store,
        &file(tmp.path(), &header(0, 6), &events),
        8,
        &Silent,
    )
    .expect("import");
    assert_eq!(stored_json(&store), events);

    let mut broken = events.clone();
    broken[4].truncate(40);
    let path = file(tmp.path(), &header(0, 6), &broken);
    let err = import(&tmp.path().join("new"), &path, 8, &Silent).expect_err("broken");
    assert!(matches!(err, ImportError::Line { line: 10, .. }), "{err}");
}

/// Each bad file is refused naming the line, and no store is left (neither a new dir nor
/// files in an empty one).
#[test]
fn a_bad_file_is_refused_naming_its_line_and_leaves_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let good = lines(0, 10);
    let mut gap = good.clone();
    gap.remove(4);
    let mut duplicate = good.clone();
    duplicate[6] = line(7, "id-3", None, T0 + 7);
    let mut back_in_time = good.clone();
    back_in_time[5] = line(6, "id-6", Some(("s", 2)), T0);
    let mut broken = good.clone();
    broken[2].truncate(40);
    let mut spaced = good.clone();
    spaced[8] = spaced[8].replacen(r#""seq":9,"#, r#""seq": 9,"#, 1);
    let mut version_gap = good.clone();
    version_gap[8] = line(9, "id-9", Some(("s", 4)), T0 + 9);
    let cases: [(&str, String, &[String], u64); 9] = [
        ("a gap", header(0, 10), &gap, 6),
        ("a duplicate id", header(0, 10), &duplicate, 8),
        ("a time going back", header(0, 10), &back_in_time, 7),
        ("a broken line", header(0, 10), &broken, 4),
        (
            "a line not as the bus serves it",
            header(0, 10),
            &spaced,
            10,
        ),
        ("a stream version gap", header(0, 10), &version_gap, 10),
        ("a file cut short", header(0, 11), &good, 11),
        ("a broken header", "{\"format\":".into(), &good, 1),
        (
            "a log id that is not a UUID",
            header(0, 10).replace(LOG_ID, "not-a-uuid"),
            &good,
            1,
        ),
    ];
    for (n, (case, header, lines, bad_line)) in cases.into_iter().enumerate() {
        let path = file(tmp.path(), &header, lines);
        let empty = tmp.path().join(format!("empty-{n}"));
        std::fs::create_dir(&empty).expect("an empty dir");
        for store in [tmp.path().join("new"), empty] {
            let err = import(&store, &path, 8, &Silent).expect_err(case);
            assert!(
                matches!(&err, ImportError::Line { line, .. } if *line == bad_line),
                "{case}: {err}"
            );
            let left = std::fs::read_dir(&store).map_or(0, |entries| entries.count());
            assert_eq!(
                left,
                0,
                "{case}: the import left files in {}",
                store.display()
            );
        }
    }
}

#[test]
fn an_import_into_a_store_it_does_not_continue_is_refused_and_changes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = tmp.path().join("store");
    let first = file(tmp.path(), &header(0, 10), &lines(0, 10));
    import(&store, &first, 8, &Silent).expect("first import");
    let before = stored_json(&store);
    let other_log = ExportHeader::new("another-log", 10, 15);
    let cases = [
        ("from seq 1 again", header(0, 10), lines(0, 10)),
        ("after a later seq", header(12, 15), lines(12, 3)),
        (
            "another log",
            serde_json::to_string(&other_log).expect("header"),
            lines(10, 5),
        ),
        (
            "an id already stored",
            header(10, 11),
            vec![line(11, "id-4", None, T0 + 11)],
        ),
    ];
    for (case, header, lines) in cases {
        let path = file(tmp.path(), &header, &lines);
        let err = import(&store, &path, 8, &Silent).expect_err(case);
        assert!(
            matches!(err, ImportError::Refused(_) | ImportError::Line { .. }),
            "{case}: {err}"
        );
        assert_eq!(stored_json(&store), before, "{case}: the store changed");
    }
}

/// A store holding the first 12 of `lines(0, 20)`: its temp dir, its path, the 20 lines.
fn store_of_the_first_12_of_20() -> (tempfile::TempDir, PathBuf, Vec<String>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = tmp.path().join("store");
    let all = lines(0, 20);
    import(
        &store,
        &file(tmp.path(), &header(0, 12), &all[..12]),
        8,
        &Silent,
    )
    .expect("first");
    (tmp, store, all)
}

#[test]
fn an_export_after_the_head_continues_the_store() {
    let (tmp, store, all) = store_of_the_first_12_of_20();
    let imported = import(
        &store,
        &file(tmp.path(), &header(12, 20), &all[12..]),
        8,
        &Silent,
    )
    .expect("the rest");
    assert_eq!((imported.events, imported.created), (8, false));
    assert_eq!(stored_json(&store), all);
}

#[test]
fn the_undo_of_a_failed_import_puts_the_store_back() {
    let (tmp, store, all) = store_of_the_first_12_of_20();
    let mut log = open_log(&store);
    // What a write that failed after some batches leaves, then what the import undoes.
    let part = file(tmp.path(), &header(12, 16), &all[12..16]);
    write::write(&part, &ExportHeader::new(LOG_ID, 12, 16), &log, &Silent).expect("write");
    assert_eq!(log.last_seq().expect("head"), 16);
    log.truncate_after(12).expect("undo");
    log.replace_log_id_if_empty(LOG_ID).expect("same id");
    drop(log);
    assert_eq!(stored_json(&store), all[..12]);
    let log = open_log(&store);
    assert_eq!(log.seq_of_id("id-14").expect("id"), None);
    assert_eq!(log.stream_version("s").expect("version"), 4);
}

/// A file that changes under the import once its second pass begins (after validation),
/// at a line past the first batches: what a write failure half-way looks like. With
/// `cut`, the file ends before that line instead.
struct ChangesBeforeWriting {
    file: PathBuf,
    bad_line: usize,
    cut: bool,
}

impl Progress for ChangesBeforeWriting {
    fn begin(&self, phase: &'static str, _total: u64) {
        if phase == "writing" {
            let text = std::fs::read_to_string(&self.file).expect("read");
            let mut lines: Vec<&str> = text.lines().collect();
            match self.cut {
                true => lines.truncate(self.bad_line - 1),
                false => lines[self.bad_line - 1] = "{\"seq\":",
            }
            std::fs::write(&self.file, lines.join("\n")).expect("write");
        }
    }
    fn advance_to(&self, _done: u64) {}
    fn end(&self) {}
}

#[test]
fn a_write_that_fails_half_way_leaves_no_new_store_and_puts_a_continued_one_back() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let all = lines(0, 30_000);
    let new_store = tmp.path().join("new");
    let changing = ChangesBeforeWriting {
        file: file(tmp.path(), &header(0, 25_000), &all[..25_000]),
        bad_line: 22_000,
        cut: false,
    };
    let err = import(&new_store, &changing.file, 8, &changing).expect_err("changed");
    assert!(
        matches!(err, ImportError::Line { line: 22_000, .. }),
        "{err}"
    );
    assert!(!new_store.exists(), "the new store was removed");

    let store = tmp.path().join("store");
    import(
        &store,
        &file(tmp.path(), &header(0, 5_000), &all[..5_000]),
        8,
        &Silent,
    )
    .expect("the first part");
    let changing = ChangesBeforeWriting {
        file: file(tmp.path(), &header(5_000, 30_000), &all[5_000..]),
        bad_line: 22_000,
        cut: false,
    };
    let err = import(&store, &changing.file, 8, &changing).expect_err("changed");
    assert!(
        matches!(err, ImportError::Line { line: 22_000, .. }),
        "{err}"
    );
    let log = open_log(&store);
    assert_eq!(log.last_seq().expect("head"), 5_000);
    assert_eq!(log.seq_of_id("id-5001").expect("id"), None);
    assert_eq!(log.stream_version("s").expect("version"), 5_000 / 3);
}

/// A file cut short after it was validated: the write stops at its end, and the import
/// fails (instead of marking the header's head verified), removing a new store and
/// putting a continued one back.
#[test]
fn a_file_cut_short_after_validation_fails_the_import_and_is_undone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let all = lines(0, 30_000);
    let new_store = tmp.path().join("new");
    let cut = ChangesBeforeWriting {
        file: file(tmp.path(), &header(0, 25_000), &all[..25_000]),
        bad_line: 22_000,
        cut: true,
    };
    let err = import(&new_store, &cut.file, 8, &cut).expect_err("cut");
    assert!(
        matches!(&err, ImportError::Refused(m) if m.contains("ends at seq 21998")),
        "{err}"
    );
    assert!(!new_store.exists(), "the new store was removed");

    let store = tmp.path().join("store");
    let first = file(tmp.path(), &header(0, 5_000), &all[..5_000]);
    import(&store, &first, 8, &Silent).expect("the first part");
    let cut = ChangesBeforeWriting {
        file: file(tmp.path(), &header(5_000, 30_000), &all[5_000..]),
        bad_line: 22_000,
        cut: true,
    };
    let err = import(&store, &cut.file, 8, &cut).expect_err("cut");
    assert!(matches!(err, ImportError::Refused(_)), "{err}");
    let log = open_log(&store);
    assert_eq!(log.last_seq().expect("head"), 5_000);
    assert_eq!(log.seq_of_id("id-5001").expect("id"), None);
}

mod refusals;
