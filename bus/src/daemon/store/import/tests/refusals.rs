//! What an import (and the tools around it) must refuse, each with one clear error: a
//! store in use, a data dir that is a file, an `--after` export into a new store, a store
//! a killed import left, another service's sled database, events the bus would not take
//! on publish.

use super::*;

/// A store held open (as a running bus holds it) is named as in use by both tools; sled
/// 0.34.7 says so only in its error's text.
#[test]
fn a_store_in_use_is_refused_as_such_by_import_and_check() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = tmp.path().join("store");
    let held = open_log(&store);
    let path = file(tmp.path(), &header(0, 3), &lines(0, 3));
    let err = super::import(&store, &path, 8, &Silent).expect_err("in use");
    assert!(matches!(err, ImportError::Locked(_)), "{err}");
    let err = crate::daemon::store::check::check(&store, 8, 10, &Silent).expect_err("in use");
    assert!(
        matches!(err, crate::daemon::store::check::CheckError::Locked(_)),
        "{err}"
    );
    drop(held);
}

/// A data dir that is a file is refused up front; a file that cannot be read is named
/// once, its cause left to the error's chain.
#[test]
fn a_data_dir_that_is_a_file_and_a_missing_file_are_one_clear_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = file(tmp.path(), &header(0, 3), &lines(0, 3));
    let err = import(&path, &path, 8, &Silent).expect_err("a file");
    assert!(
        matches!(&err, ImportError::Refused(m) if m.contains("is a file")),
        "{err}"
    );
    let err = crate::daemon::store::check::check(&path, 8, 10, &Silent).expect_err("a file");
    assert!(err.to_string().contains("is a file"), "{err}");
    let missing = tmp.path().join("nofile.ndjson");
    let err = import(&tmp.path().join("store"), &missing, 8, &Silent).expect_err("missing");
    assert_eq!(
        err.to_string(),
        format!("cannot read {}", missing.display())
    );
}

/// What a killed import leaves (the mark it writes first, removed last) is refused by the
/// daemon's open, saying what to do, and reported by a check; a finished import leaves no
/// mark.
#[test]
fn a_store_left_by_a_killed_import_is_refused_and_reported() {
    use crate::daemon::store::check::{check, DefectKind};
    let tmp = tempfile::tempdir().expect("tempdir");
    let created = tmp.path().join("created");
    std::fs::create_dir(&created).expect("dir");
    drop(SledLog::open_as(&created, 8, Some(LOG_ID)).expect("an import's first write"));
    let err = when_free(crate::daemon::store::is_locked, || {
        SledLog::open(&created, 8)
    })
    .err()
    .expect("refused");
    assert!(
        err.to_string()
            .contains("did not finish: delete it and import again"),
        "{err}"
    );
    let report = check(&created, 8, 10, &Silent).expect("check");
    assert_eq!(report.counts.get(&DefectKind::ImportUnfinished), Some(&1));

    let continued = tmp.path().join("continued");
    let path = file(tmp.path(), &header(0, 3), &lines(0, 3));
    import(&continued, &path, 8, &Silent).expect("a finished import");
    let log = open_log(&continued);
    log.begin_import().expect("an import's first write");
    log.flush().expect("flush");
    drop(log);
    let err = when_free(crate::daemon::store::is_locked, || {
        SledLog::open(&continued, 8)
    })
    .err()
    .expect("refused");
    assert!(
        err.to_string().contains("restore it from its backup"),
        "{err}"
    );
}

/// Another service's sled data dir is refused by import, check and the daemon's open, and
/// left without the bus's trees.
#[test]
fn a_sled_database_that_is_not_a_bus_store_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let other = tmp.path().join("posts");
    {
        let db = sled::open(&other).expect("another service's store");
        db.open_tree("posts")
            .expect("tree")
            .insert("p1", "x")
            .expect("insert");
        db.flush().expect("flush");
    }
    let path = file(tmp.path(), &header(0, 3), &lines(0, 3));
    let not_a_bus_store = |e: &StoreError| matches!(e, StoreError::NotABusStore(_));
    let err = import(&other, &path, 8, &Silent).expect_err("import");
    assert!(
        matches!(&err, ImportError::Store(e) if not_a_bus_store(e)),
        "{err}"
    );
    let err = crate::daemon::store::check::check(&other, 8, 10, &Silent).expect_err("check");
    assert!(
        matches!(&err, crate::daemon::store::check::CheckError::Store(e) if not_a_bus_store(e)),
        "{err}"
    );
    let err = when_free(crate::daemon::store::is_locked, || SledLog::open(&other, 8))
        .err()
        .expect("open");
    assert!(not_a_bus_store(&err), "{err}");
    let db = when_free(
        |e: &sled::Error| e.to_string().contains("could not acquire lock"),
        || sled::open(&other),
    )
    .expect("reopen");
    assert_eq!(db.tree_names().len(), 2, "only the default tree and posts");
}

/// The publish path's rules on `data` (numbers beyond a double, lone surrogates, nesting
/// past 64) and on an event's size hold for an import too: such a line is refused, named.
#[test]
fn an_event_the_bus_would_refuse_to_publish_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let deep = format!("{}1{}", "[".repeat(65), "]".repeat(65));
    let big = format!(r#"{{"s":"{}"}}"#, "x".repeat(1024 * 1024 + 256));
    for (case, data) in [
        ("1e999", r#"{"n":1e999}"#),
        ("a lone surrogate", r#"{"s":"\ud800"}"#),
        ("nesting past 64", deep.as_str()),
        ("over 1 MiB", big.as_str()),
    ] {
        let mut events = lines(0, 3);
        events[1] = events[1].replacen(r#"{"z": 2, "a":"é"}"#, data, 1);
        let path = file(tmp.path(), &header(0, 3), &events);
        let err = import(&tmp.path().join("new"), &path, 8, &Silent).expect_err(case);
        assert!(
            matches!(err, ImportError::Line { line: 3, .. }),
            "{case}: {err}"
        );
    }
}

/// An export made with `--after N` continues a store holding seqs 1..=N: a new or empty
/// store refuses it (a log not starting at seq 1 would not start); a head at the largest
/// seq is refused before any `+ 1` overflows.
#[test]
fn an_export_after_a_seq_is_refused_by_a_new_or_empty_store() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = file(tmp.path(), &header(5, 8), &lines(5, 3));
    let new_store = tmp.path().join("new");
    let err = import(&new_store, &path, 8, &Silent).expect_err("new");
    assert!(
        matches!(&err, ImportError::Refused(m) if m.contains("continues a store after seq 5")),
        "{err}"
    );
    assert!(!new_store.exists());
    let empty_store = tmp.path().join("empty");
    drop(open_log(&empty_store));
    let err = import(&empty_store, &path, 8, &Silent).expect_err("empty");
    assert!(
        matches!(&err, ImportError::Refused(m) if m.contains("continues a store after seq 5")),
        "{err}"
    );
    let max = ExportHeader::new(LOG_ID, u64::MAX, u64::MAX);
    let path = file(
        tmp.path(),
        &serde_json::to_string(&max).expect("header"),
        &[],
    );
    let err = import(&new_store, &path, 8, &Silent).expect_err("max");
    assert!(matches!(err, ImportError::Line { line: 1, .. }), "{err}");
}
