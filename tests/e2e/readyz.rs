//! `/readyz` of the real binary, through its API: `200 {"status": "ready"}` while the bus
//! can write its log; `503 {"status": "storage_unavailable"}` once a write has failed for
//! real (the file-size limit of `ulimit -f`, as a quota or a full disk fails a write: no
//! hook, no mock); then the bus exits non-zero (DESIGN, "Publish").

use crate::helpers::{bus_command, new_event, Api, BusProcess};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest file the bus may write, in KiB (bash's unit for `ulimit -f`): sled's log
/// file reaches it after a few batches of [`BATCH`] events of [`PADDING`] bytes, each
/// small enough to stay in that file (a larger value would go to a blob file of its own).
const FILE_LIMIT_KIB: u32 = 2048;
/// Events per publish.
const BATCH: usize = 100;
/// Bytes of padding in each event.
const PADDING: usize = 4000;
/// Batches after which the log must have failed (≈ 20 MiB, ten times the limit).
const MAX_BATCHES: usize = 50;

/// `minibus bus` over `dir` whose files may not grow past [`FILE_LIMIT_KIB`]. A write past
/// it fails with `EFBIG`; `SIGXFSZ`, which would kill the process instead, is ignored
/// (an ignored signal stays ignored across `exec`).
fn bus_with_file_limit(dir: &Path) -> Command {
    let bus = bus_command(dir, &[]);
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {FILE_LIMIT_KIB}; exec \"$0\" \"$@\""
        ))
        .arg(bus.get_program())
        .args(bus.get_args());
    for (key, value) in bus.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    cmd
}

/// Publishes batches until one is refused; that refusal (status and body).
async fn publish_until_refused(api: &Api) -> (StatusCode, Value) {
    let padding = "x".repeat(PADDING);
    for batch in 0..MAX_BATCHES {
        let events: Vec<Value> = (0..BATCH)
            .map(|i| new_event(json!({"batch": batch, "i": i, "padding": padding}), None))
            .collect();
        let (status, reply) = api.publish(&json!(events)).await.expect("publish");
        if status != StatusCode::CREATED {
            return (status, reply);
        }
    }
    panic!("{MAX_BATCHES} batches of {BATCH} events fit under a {FILE_LIMIT_KIB} KiB file limit");
}

/// Sends the rest of `request` on `connection` and reads the answer to its end (the bus
/// closes the connection as it stops): its status line and body.
async fn finish_request(connection: &mut TcpStream, rest: &str) -> (String, String) {
    connection
        .write_all(rest.as_bytes())
        .await
        .expect("send the rest");
    let mut answer = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        connection.read_to_string(&mut answer),
    )
    .await
    .expect("the answer within 10 s")
    .expect("read the answer");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status_line = head.lines().next().unwrap_or_default().to_owned();
    assert!(
        head.lines()
            .any(|l| l.eq_ignore_ascii_case("content-type: application/json")),
        "{answer}"
    );
    (status_line, body.to_owned())
}

#[tokio::test]
async fn readyz_answers_503_with_its_code_once_the_log_cannot_be_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cmd = bus_with_file_limit(dir.path());
    let bus = tokio::task::spawn_blocking(move || BusProcess::spawn(cmd))
        .await
        .expect("started");
    let api = bus.api();
    let ready = api.get("/readyz").await.expect("GET /readyz");
    assert_eq!(ready, (StatusCode::OK, json!({"status": "ready"})));

    // Once the log has failed the bus stops accepting connections: this one, opened now
    // with its request begun, asks once the failure is known. It is accepted before the
    // publishes' connections, so by the time they are answered it is being served.
    let mut probe = TcpStream::connect(bus.url().trim_start_matches("http://"))
        .await
        .expect("connect");
    probe
        .write_all(b"GET /readyz HTTP/1.1\r\nHost: bus\r\n")
        .await
        .expect("begin the request");

    let (status, refused) = publish_until_refused(&api).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{refused}");
    assert_eq!(refused["error"], "storage_unavailable", "{refused}");

    let (status_line, body) = finish_request(&mut probe, "\r\n").await;
    assert!(status_line.starts_with("HTTP/1.1 503 "), "{status_line}");
    let body: Value = serde_json::from_str(&body).expect("a JSON body");
    assert_eq!(body, json!({"status": "storage_unavailable"}));

    let exited = tokio::task::spawn_blocking(move || bus.exited())
        .await
        .expect("waited");
    assert!(
        !exited.success(),
        "a bus that cannot write exits non-zero: {exited}"
    );
}
