//! `minibus events export`, `minibus bus import` and `minibus bus check` as an operator
//! runs them: a bus's log moved to a new store serves the same bytes under the same log id;
//! a bad file is refused naming its line, with no store left behind; a store the file does
//! not continue is left as it was.

use crate::helpers::{minibus, run_to_exit, wait_for_exit, BusProcess, Finished};
use bus::envelope::{format_time, EnvelopeRef};
use serde_json::value::RawValue;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long an export or an import of the 50,000 events may take (a debug build on a busy
/// machine).
const TOOL_TIMEOUT: Duration = Duration::from_secs(180);

/// Runs `cmd` to its end (bounded) with its stdout in `stdout`: its status and stderr.
fn run_into(mut cmd: Command, stdout: &Path) -> Finished {
    let err = tempfile::NamedTempFile::new().expect("stderr file");
    cmd.stdout(std::fs::File::create(stdout).expect("stdout file"))
        .stderr(err.reopen().expect("reopen"))
        .stdin(Stdio::null());
    let mut child = cmd.spawn().expect("spawn the minibus binary");
    let status = wait_for_exit(&mut child, TOOL_TIMEOUT);
    let _ = child.kill();
    let _ = child.wait();
    let stderr = std::fs::read_to_string(err.path()).unwrap_or_default();
    let status = status.unwrap_or_else(|| panic!("{cmd:?} ran past {TOOL_TIMEOUT:?}: {stderr}"));
    Finished {
        status,
        stdout: String::new(),
        stderr,
    }
}

fn export(bus_url: &str, file: &Path) -> Finished {
    let mut cmd = minibus();
    cmd.args(["events", "export", "--bus-url", bus_url]);
    run_into(cmd, file)
}

fn import(data_dir: &Path, file: &Path) -> Finished {
    let mut cmd = minibus();
    cmd.args(["bus", "import", "--data-dir"])
        .arg(data_dir)
        .arg(file);
    run_into(cmd, &data_dir.with_extension("import-out"))
}

fn check(data_dir: &Path) -> Finished {
    let mut cmd = minibus();
    cmd.args(["bus", "check", "--data-dir"]).arg(data_dir);
    run_to_exit(cmd)
}

/// `GET path` as bytes.
async fn get_bytes(url: &str, path: &str) -> Vec<u8> {
    let response = reqwest::get(format!("{url}{path}")).await.expect("GET");
    assert!(
        response.status().is_success(),
        "GET {path}: {}",
        response.status()
    );
    response.bytes().await.expect("body").to_vec()
}

/// Publishes `arrays` arrays of 1,000 events, written by hand so that `data` carries
/// spaces, key orders and number forms a re-serialisation would change, and, one event in
/// a hundred, raw line breaks (a pretty-printed body: the bus keeps them, so the export
/// spreads that event over several lines).
async fn publish_arrays(url: &str, arrays: usize) {
    let client = reqwest::Client::new();
    for a in 0..arrays {
        let events: Vec<String> = (0..1000)
            .map(|i| {
                let n = a * 1000 + i;
                let stream = match n % 4 {
                    0 => String::new(),
                    _ => format!(r#","stream":"post-{}""#, n % 997),
                };
                let data = match n % 100 {
                    7 => format!("{{\n  \"z\": {n},\n\n  \"a\": [1.50,\n \"é\"]\n}}"),
                    _ => format!(r#"{{"z": {n}, "a":[1.50, "é\n"], "e":1e3}}"#),
                };
                format!(
                    r#"{{"type":"Happened","id":"ev-{n}","source":"tests","data":{data}{stream}}}"#
                )
            })
            .collect();
        let response = client
            .post(format!("{url}/events"))
            .header("content-type", "application/json")
            .body(format!("[{}]", events.join(",")))
            .send()
            .await
            .expect("publish");
        assert_eq!(response.status(), reqwest::StatusCode::CREATED, "array {a}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_exported_and_imported_into_a_fresh_store_is_served_byte_for_byte() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (original_dir, imported_dir) = (tmp.path().join("original"), tmp.path().join("imported"));
    let file = tmp.path().join("export.ndjson");
    let original = BusProcess::start(&original_dir, &[]);
    publish_arrays(original.url(), 50).await;
    let exported = tokio::task::block_in_place(|| export(original.url(), &file));
    assert!(exported.status.success(), "export: {}", exported.stderr);
    let imported = tokio::task::block_in_place(|| import(&imported_dir, &file));
    assert!(imported.status.success(), "import: {}", imported.stderr);
    let checked = tokio::task::block_in_place(|| check(&imported_dir));
    assert!(
        checked.status.success(),
        "check: {}{}",
        checked.stdout,
        checked.stderr
    );
    assert!(
        checked.stdout.contains("events:        50000"),
        "{}",
        checked.stdout
    );
    assert!(
        checked.stdout.contains("no defect found"),
        "{}",
        checked.stdout
    );
    let copy = BusProcess::start(&imported_dir, &[]);
    let (events, copied) = (
        get_bytes(original.url(), "/events").await,
        get_bytes(copy.url(), "/events").await,
    );
    assert_eq!(events.len(), copied.len(), "GET /events of both");
    assert!(events == copied, "GET /events of both are byte-identical");
    let log_id = |info: Vec<u8>| {
        serde_json::from_slice::<serde_json::Value>(&info).expect("json")["log_id"].clone()
    };
    assert_eq!(
        log_id(get_bytes(original.url(), "/info").await),
        log_id(get_bytes(copy.url(), "/info").await)
    );
    assert!(original.terminate().success());
    let checked = tokio::task::block_in_place(|| check(&original_dir));
    assert!(
        checked.status.success(),
        "check of the original: {}",
        checked.stdout
    );
}

/// An event line exactly as the bus serves it.
fn line(seq: u64, id: &str, time_ms: i64) -> String {
    let data = RawValue::from_string(format!(r#"{{"n": {seq}}}"#)).expect("raw");
    let time = format_time(time_ms);
    let envelope = EnvelopeRef {
        seq,
        id,
        ty: "Happened",
        data: &data,
        stream: None,
        version: None,
        source: None,
        time: &time,
        correlation_id: None,
        causation_id: None,
    };
    String::from_utf8(envelope.to_json()).expect("utf-8")
}

/// An export file of `lines` after a header for `count` events.
fn export_file(dir: &Path, name: &str, count: u64, lines: &[String]) -> PathBuf {
    let header = format!(
        r#"{{"format":"minibus-export","version":1,"log_id":"0193a1c2-0000-7000-8000-00000000000a","after":0,"head":{count}}}"#
    );
    let path = dir.join(name);
    std::fs::write(&path, format!("{header}\n{}\n", lines.join("\n"))).expect("write");
    path
}

fn good_lines() -> Vec<String> {
    (1..=6)
        .map(|seq| line(seq, &format!("id-{seq}"), 1_764_000_000_000 + seq as i64))
        .collect()
}

#[test]
fn a_bad_file_is_refused_naming_its_line_and_no_store_is_left() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let good = good_lines();
    let mut gap = good.clone();
    gap.remove(2);
    let mut duplicate = good.clone();
    duplicate[4] = line(5, "id-2", 1_764_000_000_005);
    let mut back_in_time = good.clone();
    back_in_time[3] = line(4, "id-4", 1_764_000_000_000);
    let mut broken = good.clone();
    broken[1].truncate(30);
    for (case, lines, bad_line) in [
        ("a gap", gap, "line 4:"),
        ("a duplicate id", duplicate, "line 6:"),
        ("a time going back", back_in_time, "line 5:"),
        ("a broken line", broken, "line 3:"),
    ] {
        let file = export_file(tmp.path(), "bad.ndjson", 6, &lines);
        let store = tmp.path().join("store");
        let done = import(&store, &file);
        assert!(!done.status.success(), "{case}: {}", done.status);
        assert!(done.stderr.contains(bad_line), "{case}: {}", done.stderr);
        assert_eq!(
            done.stderr.trim().lines().count(),
            1,
            "{case}: one line: {}",
            done.stderr
        );
        assert!(!store.exists(), "{case}: a store was left behind");
    }
}

#[test]
fn a_second_import_into_a_store_it_does_not_continue_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = export_file(tmp.path(), "good.ndjson", 6, &good_lines());
    let store = tmp.path().join("store");
    assert!(import(&store, &file).status.success());
    let again = import(&store, &file);
    assert!(!again.status.success());
    assert!(
        again.stderr.contains("already holds 6 events"),
        "{}",
        again.stderr
    );
    let checked = check(&store);
    assert!(checked.status.success(), "{}", checked.stdout);
    assert!(
        checked.stdout.contains("head:          6 "),
        "{}",
        checked.stdout
    );
}

#[test]
fn check_and_export_fail_with_one_clear_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let done = check(&tmp.path().join("nothing"));
    assert!(!done.status.success());
    assert!(
        done.stderr.contains("holds no bus store"),
        "{}",
        done.stderr
    );
    let running = BusProcess::start(&tmp.path().join("running"), &[]);
    let in_use = check(&tmp.path().join("running"));
    assert!(!in_use.status.success());
    assert!(in_use.stderr.contains("is in use"), "{}", in_use.stderr);
    assert_eq!(in_use.stderr.trim().lines().count(), 1, "{}", in_use.stderr);
    let file = export_file(tmp.path(), "good.ndjson", 6, &good_lines());
    let in_use = import(&tmp.path().join("running"), &file);
    assert!(in_use.stderr.contains("is in use"), "{}", in_use.stderr);
    assert_eq!(in_use.stderr.trim().lines().count(), 1, "{}", in_use.stderr);
    drop(running);
    let done = export("http://127.0.0.1:1", &tmp.path().join("out.ndjson"));
    assert!(!done.status.success());
    assert!(
        done.stderr.contains("cannot reach the bus"),
        "{}",
        done.stderr
    );
}

/// A store a killed import left (its `import_incomplete` mark still there, and its last
/// events not indexed yet behind the verified-head marker: made here with sled directly,
/// as the import's writes leave it) is refused by `minibus bus` with one line saying what
/// to do, once, and `bus check` reports it as such, promising no index rebuild.
#[test]
fn a_store_left_by_a_killed_import_is_refused_by_the_bus_and_reported_by_check() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = tmp.path().join("store");
    let file = export_file(tmp.path(), "good.ndjson", 6, &good_lines());
    assert!(import(&store, &file).status.success());
    {
        let db = sled::open(&store).expect("open the store with sled");
        let meta = db.open_tree("meta").expect("meta");
        meta.insert("import_incomplete", "created").expect("mark");
        meta.insert("verified_head", &4u64.to_be_bytes())
            .expect("marker");
        let ids = db.open_tree("ids").expect("ids");
        for id in ["id-5", "id-6"] {
            ids.remove(id).expect("remove an index entry");
        }
        db.flush().expect("flush");
    }
    let bus = run_to_exit(crate::helpers::bus_command(&store, &[]));
    assert!(!bus.status.success(), "the bus started: {}", bus.stderr);
    let refusal: Vec<&str> = bus
        .stderr
        .lines()
        .filter(|l| l.contains("did not finish"))
        .collect();
    assert_eq!(refusal.len(), 1, "{}", bus.stderr);
    assert_eq!(
        bus.stderr.matches("did not finish").count(),
        1,
        "said once: {}",
        bus.stderr
    );
    assert_eq!(
        bus.stderr.matches("delete it and import again").count(),
        1,
        "{}",
        bus.stderr
    );
    let checked = check(&store);
    assert!(!checked.status.success());
    assert!(
        checked.stdout.contains("defect: unfinished import"),
        "{}",
        checked.stdout
    );
    assert!(
        checked
            .stdout
            .contains("the store is an unfinished import: delete it and import again"),
        "{}",
        checked.stdout
    );
    assert!(
        !checked.stdout.contains("to be indexed"),
        "no index rebuild is promised for a store the bus refuses: {}",
        checked.stdout
    );
}

/// A bus that accepts the connection but never answers does not hang an export: it ends
/// with one line naming the bus once its request timeout passes.
#[test]
fn an_export_from_a_bus_that_never_answers_ends_with_one_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", silent.local_addr().expect("addr"));
    let mut cmd = minibus();
    cmd.args([
        "events",
        "export",
        "--request-timeout-secs",
        "1",
        "--bus-url",
    ])
    .arg(&url);
    let done = run_into(cmd, &tmp.path().join("out.ndjson"));
    assert!(!done.status.success());
    assert!(
        done.stderr
            .contains(&format!("the bus at {url} did not answer in time")),
        "{}",
        done.stderr
    );
    assert_eq!(done.stderr.trim().lines().count(), 1, "{}", done.stderr);
    drop(silent);
}
