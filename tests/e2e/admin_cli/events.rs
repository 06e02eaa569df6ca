//! `minibus events publish` and `minibus events tail` against a bus process.

use super::{assert_one_line_error, cli, cli_ok};
use crate::helpers::{free_loopback_addr, minibus, wait_for_exit, Api, BusProcess, EXIT_TIMEOUT};
use bus::testkit::PATIENCE;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;

/// A running `minibus events tail`, its stdout read line by line. Killed on drop.
struct Tailing {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Tailing {
    fn start(bus_url: &str, args: &[&str]) -> Self {
        let mut cmd = minibus();
        cmd.args(["events", "tail", "--bus-url", bus_url])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("spawn minibus events tail");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Self { child, lines }
    }

    /// The next line, waiting at most `PATIENCE`.
    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(PATIENCE)
            .expect("a line from tail within the patience bound")
    }

    /// A line if one is already there.
    fn try_line(&self) -> Option<String> {
        self.lines.try_recv().ok()
    }

    /// SIGINT, as Ctrl-C sends; the exit status.
    fn interrupt(mut self) -> ExitStatus {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::INT).expect("SIGINT");
        wait_for_exit(&mut self.child, EXIT_TIMEOUT).expect("tail exits on SIGINT")
    }
}

impl Drop for Tailing {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Publishes `event`, which the bus must accept: its seq.
async fn publish(api: &Api, event: Value) -> u64 {
    let (status, reply) = api.publish(&event).await.expect("publish");
    assert!(status.is_success(), "{status}: {reply}");
    reply["seq"].as_u64().expect("a seq")
}

#[tokio::test]
async fn publish_appends_with_its_stream_id_and_expected_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus = BusProcess::start(dir.path(), &[]);
    let args = [
        "events",
        "publish",
        "PostCreated",
        r#"{"id": "p1", "title": "hello"}"#,
        "--stream",
        "post-p1",
        "--id",
        "evt-1",
        "--expected-version",
        "0",
    ];
    let printed = cli_ok(bus.url(), &args).await;
    assert_eq!(printed.trim(), "seq 1  id evt-1  version 1");
    let events = bus.api().events().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["id"], "evt-1");
    assert_eq!(events[0]["type"], "PostCreated");
    assert_eq!(events[0]["stream"], "post-p1");
    assert_eq!(events[0]["version"], json!(1));
    assert_eq!(events[0]["data"], json!({"id": "p1", "title": "hello"}));

    // The same expected version again: the stream is at 1 now, the bus refuses.
    let mut again = args;
    again[7] = "evt-2";
    let done = cli(bus.url(), &again).await;
    assert_one_line_error(&done, &[bus.url(), "wrong_expected_version"]);
    assert_eq!(bus.api().events().await.len(), 1, "nothing appended");

    let json_args = ["events", "publish", "Noted", "--json"];
    let reply: Value = serde_json::from_str(&cli_ok(bus.url(), &json_args).await).expect("JSON");
    assert_eq!(reply["seq"], json!(2), "{reply}");
    let second = bus.api().get_ok("/events/2").await;
    assert_eq!(second["id"], reply["id"], "the SDK gave it an id");
    assert_eq!(second["data"], Value::Null);
}

#[tokio::test]
async fn tail_prints_the_events_published_after_it_started_and_ends_on_ctrl_c() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus = BusProcess::start(dir.path(), &[]);
    let api = bus.api();
    publish(&api, json!({"type": "Before", "data": 1})).await;
    let tail = Tailing::start(bus.url(), &[]);
    // Tail starts at the head it reads first: publish markers until one shows, so that
    // it is surely following, then the event under test.
    let first = bus::testkit::eventually("tail to print a marker", || {
        let api = api.clone();
        let line = tail.try_line();
        async move {
            if line.is_none() {
                publish(&api, json!({"type": "Marker"})).await;
            }
            line
        }
    })
    .await;
    assert!(first.contains("  Marker  "), "{first}");
    assert!(
        !first.starts_with("1 "),
        "not the event from before: {first}"
    );
    let seq = publish(
        &api,
        json!({"type": "PostCreated", "stream": "post-p1", "data": {"id": "p1", "title": "x y"}}),
    )
    .await;
    let line = loop {
        let line = tail.next_line();
        if !line.contains("  Marker  ") {
            break line;
        }
    };
    let fields: Vec<&str> = line.split("  ").collect();
    assert_eq!(fields.len(), 5, "seq, time, type, stream, data: {line}");
    assert_eq!(fields[0], seq.to_string());
    let stored = api.get_ok(&format!("/events/{seq}")).await;
    assert_eq!(fields[1], stored["time"], "{line}");
    assert_eq!(
        fields[2..],
        ["PostCreated", "post-p1", r#"{"id":"p1","title":"x y"}"#]
    );
    let status = tail.interrupt();
    assert_eq!(status.code(), Some(0), "Ctrl-C ends tail cleanly: {status}");
}

#[tokio::test]
async fn tail_json_prints_envelopes_of_the_types_asked_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus = BusProcess::start(dir.path(), &[]);
    let api = bus.api();
    publish(&api, json!({"type": "PostCreated", "data": {"n": 1}})).await;
    publish(&api, json!({"type": "Other"})).await;
    let args = [
        "--json",
        "--after",
        "0",
        "--type",
        "PostCreated,CommentCreated",
    ];
    let tail = Tailing::start(bus.url(), &args);
    publish(&api, json!({"type": "CommentCreated", "data": {"n":  2}})).await;
    publish(&api, json!({"type": "Other"})).await;
    // `data` is stored as the publisher's text: a line break in it stays inside one line.
    let text = "{\"type\": \"PostCreated\", \"data\": {\"n\":\n 3}}";
    let answer = reqwest::Client::new()
        .post(format!("{}/events", bus.url()))
        .header("content-type", "application/json")
        .body(text)
        .send()
        .await
        .expect("publish");
    assert!(answer.status().is_success(), "{}", answer.status());
    let log = api.events().await;
    let printed: Vec<Value> = (0..3)
        .map(|_| serde_json::from_str(&tail.next_line()).expect("an envelope per line"))
        .collect();
    let expected: Vec<&Value> = log.iter().filter(|e| e["type"] != "Other").collect();
    assert_eq!(printed.iter().collect::<Vec<_>>(), expected);
    assert_eq!(tail.interrupt().code(), Some(0));
}

#[tokio::test]
async fn tail_resumes_after_a_bus_restart_without_a_gap_or_a_repeat() {
    let dir = tempfile::tempdir().expect("tempdir");
    let listen = free_loopback_addr();
    let start = || BusProcess::spawn(bus_command_at(dir.path(), &listen));
    let bus = start();
    let api = bus.api();
    publish(&api, json!({"type": "One"})).await;
    let tail = Tailing::start(bus.url(), &["--json", "--after", "0"]);
    let first: Value = serde_json::from_str(&tail.next_line()).expect("JSON");
    assert_eq!(first["seq"], json!(1));

    assert_eq!(bus.terminate().code(), Some(0));
    let bus = start();
    publish(&bus.api(), json!({"type": "Two"})).await;
    let second: Value = serde_json::from_str(&tail.next_line()).expect("JSON");
    assert_eq!(
        (second["seq"].clone(), second["type"].clone()),
        (json!(2), json!("Two"))
    );
    publish(&bus.api(), json!({"type": "Three"})).await;
    let third: Value = serde_json::from_str(&tail.next_line()).expect("JSON");
    assert_eq!(third["seq"], json!(3), "no repeat of seq 2: {third}");
    assert_eq!(tail.interrupt().code(), Some(0));
}

/// `minibus bus` on a fixed address, so that a restart is at the same URL.
fn bus_command_at(data_dir: &std::path::Path, listen: &str) -> std::process::Command {
    let mut cmd = minibus();
    cmd.args(["bus", "--listen", listen, "--data-dir"])
        .arg(data_dir);
    cmd
}
