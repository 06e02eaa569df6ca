//! What the command line promises: refusals with a clear message, a taken port named,
//! every flag readable from a `MINIBUS_…` variable, and `--help`.

use crate::helpers::{bus_command, minibus, run_to_exit, Api, BusProcess};
use reqwest::StatusCode;
use serde_json::json;
use std::process::Command;

fn minibus_with(args: &[&str]) -> Command {
    let mut cmd = minibus();
    cmd.args(args);
    cmd
}

#[test]
fn a_non_loopback_address_without_a_token_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = minibus_with(&["bus", "--listen", "0.0.0.0:0", "--data-dir"]);
    cmd.arg(dir.path());
    let done = run_to_exit(cmd);
    assert!(!done.status.success(), "{}", done.status);
    assert!(
        done.stderr.contains("--token") && done.stderr.contains("--insecure"),
        "the error says how to proceed: {}",
        done.stderr
    );
    assert!(
        !done.stdout.contains("listening"),
        "a refused bus does not claim to listen: {}",
        done.stdout
    );
}

/// The line tests and scripts wait for comes only once the store is open: a second bus on a
/// data dir whose lock the first holds fails without it.
#[test]
fn a_bus_whose_store_does_not_open_does_not_claim_to_listen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = BusProcess::start(dir.path(), &[]);
    let done = run_to_exit(bus_command(dir.path(), &[]));
    assert!(!done.status.success(), "{}", done.status);
    assert!(
        !done.stdout.contains("listening"),
        "a bus without its store does not claim to listen: {}",
        done.stdout
    );
    assert_said_in_use_once(&done.stderr, dir.path());
    drop(first);
}

/// `stderr` says, once, that the store in `dir` is in use, as `bus check` and `bus import`
/// say it, without sled's lock error and its `WouldBlock` as the explanation.
fn assert_said_in_use_once(stderr: &str, dir: &std::path::Path) {
    let in_use = format!(
        "the store in {} is in use (is a bus running on it?)",
        dir.display()
    );
    assert_eq!(stderr.matches(&in_use).count(), 1, "{stderr}");
    assert_eq!(
        stderr.matches(&dir.display().to_string()).count(),
        1,
        "{stderr}"
    );
    assert!(!stderr.contains("WouldBlock"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}

/// `minibus up` twice on one data dir: the second says that the bus's store is in use.
#[test]
fn a_second_up_on_one_data_dir_says_that_the_store_is_in_use() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut first = crate::helpers::up_command(dir.path())
        .spawn()
        .expect("spawn minibus up");
    crate::helpers::read_up_banner(&mut first);
    let mut second = minibus_with(&["up", "--any-ports", "--data-dir"]);
    second.arg(dir.path());
    let done = run_to_exit(second);
    let _ = first.kill();
    let _ = first.wait();
    assert!(!done.status.success(), "{}", done.status);
    assert_said_in_use_once(&done.stderr, &dir.path().join("bus"));
}

#[tokio::test]
async fn insecure_allows_a_non_loopback_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = minibus_with(&["bus", "--listen", "0.0.0.0:0", "--insecure", "--data-dir"]);
    cmd.arg(dir.path());
    let bus = BusProcess::spawn(cmd);
    let port = bus
        .url()
        .strip_prefix("http://0.0.0.0:")
        .unwrap_or_else(|| panic!("listening on every address: {}", bus.url()));
    // Traffic stays on loopback, which 0.0.0.0 includes.
    let api = Api::new(&format!("http://127.0.0.1:{port}"), None);
    assert_eq!(api.info().await["head_seq"], json!(0));
    let status = bus.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
}

#[test]
fn a_taken_port_is_named_in_the_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("tempdir");
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = minibus_with(&["bus", "--listen", &listen, "--data-dir"]);
    cmd.arg(dir.path());
    let done = run_to_exit(cmd);
    drop(taken);
    assert!(!done.status.success(), "{}", done.status);
    assert!(
        done.stderr.contains(&port.to_string()),
        "the error names port {port}: {}",
        done.stderr
    );
}

#[tokio::test]
async fn every_setting_can_come_from_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("from-env");
    let mut cmd = minibus_with(&["bus"]);
    cmd.env("MINIBUS_LISTEN", "127.0.0.1:0")
        .env("MINIBUS_DATA_DIR", &data_dir)
        .env("MINIBUS_TOKEN", "secret-token-0123456789");
    let bus = BusProcess::spawn(cmd);

    let (status, body) = bus.api().get("/info").await.expect("GET /info");
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "unauthorized");
    let wrong = Api::new(bus.url(), Some("secret-token-012345678X"));
    let (status, _) = wrong.get("/info").await.expect("GET /info");
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = bus.api().get("/healthz").await.expect("GET /healthz");
    assert_eq!(status, StatusCode::OK, "/healthz needs no token");

    let api = Api::new(bus.url(), Some("secret-token-0123456789"));
    let event = json!({ "type": "FromEnv", "data": { "ok": true } });
    let (status, reply) = api.publish(&event).await.expect("publish");
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["seq"], json!(1));
    assert_eq!(api.info().await["head_seq"], json!(1));
    assert!(
        std::fs::read_dir(&data_dir).expect("the data dir").count() > 0,
        "the log is in MINIBUS_DATA_DIR"
    );
    let status = bus.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
}

#[test]
fn help_names_the_commands_and_every_flag_with_its_variable() {
    let top = run_to_exit(minibus_with(&["--help"]));
    assert!(top.status.success(), "{}", top.stderr);
    for command in ["bus", "up"] {
        assert!(top.stdout.contains(command), "{command}: {}", top.stdout);
    }
    let bus = run_to_exit(minibus_with(&["bus", "--help"]));
    assert!(bus.status.success(), "{}", bus.stderr);
    for (flag, var) in [
        ("--listen", "MINIBUS_LISTEN"),
        ("--data-dir", "MINIBUS_DATA_DIR"),
        ("--durability", "MINIBUS_DURABILITY"),
        ("--cache-mb", "MINIBUS_CACHE_MB"),
        ("--max-event-bytes", "MINIBUS_MAX_EVENT_BYTES"),
        ("--max-body-bytes", "MINIBUS_MAX_BODY_BYTES"),
        ("--token", "MINIBUS_TOKEN"),
        ("--insecure", "MINIBUS_INSECURE"),
        ("--subscribe", "MINIBUS_SUBSCRIBE"),
        ("--subscriptions", "MINIBUS_SUBSCRIPTIONS"),
        ("--allow-subscriber-hosts", "MINIBUS_ALLOW_SUBSCRIBER_HOSTS"),
        ("--delivery-spin-us", "MINIBUS_DELIVERY_SPIN_US"),
    ] {
        assert!(bus.stdout.contains(flag), "{flag}: {}", bus.stdout);
        assert!(bus.stdout.contains(var), "{var}: {}", bus.stdout);
    }
}

#[test]
fn a_delivery_spin_beyond_its_limit_is_refused() {
    let out = run_to_exit(minibus_with(&[
        "bus",
        "--listen",
        "127.0.0.1:0",
        "--delivery-spin-us",
        "5000",
    ]));
    assert!(!out.status.success());
    assert!(out.stderr.contains("--delivery-spin-us"), "{}", out.stderr);
}

#[test]
fn a_bad_subscriptions_file_is_refused_naming_the_file_and_the_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("subscriptions.json");
    let spec = r#"{"query": {"url": "http://127.0.0.1:4002/events", "batch": 0}}"#;
    std::fs::write(&file, spec).expect("write the file");
    let mut cmd = bus_command(&dir.path().join("bus"), &["--subscriptions"]);
    cmd.arg(&file);
    let done = run_to_exit(cmd);
    assert!(!done.status.success(), "{}", done.status);
    let named = file.display().to_string();
    assert!(
        done.stderr.contains(&named) && done.stderr.contains("entry \"query\""),
        "the error names the file and the entry: {}",
        done.stderr
    );
    assert!(
        !done.stdout.contains("listening"),
        "a refused bus does not claim to listen: {}",
        done.stdout
    );
}

#[tokio::test]
async fn a_subscriptions_file_from_the_environment_is_upserted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("subscriptions.json");
    let spec = r#"{"query": {"url": "http://127.0.0.1:4002/events", "types": ["PostCreated"]}}"#;
    std::fs::write(&file, spec).expect("write the file");
    let mut cmd = bus_command(&dir.path().join("bus"), &[]);
    cmd.env("MINIBUS_SUBSCRIPTIONS", &file);
    let bus = BusProcess::spawn(cmd);
    let status = bus.api().get_ok("/subscriptions/query").await;
    assert_eq!(status["url"], "http://127.0.0.1:4002/events", "{status}");
    assert_eq!(status["types"], json!(["PostCreated"]), "{status}");
    let status = bus.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
}

/// `--cache-mb` is refused outside 1..=1048576 MiB when the flags are read, by the bus and
/// by the offline tools alike: sled panics on a cache of 0, and an import must not leave
/// its data dir behind.
#[test]
fn a_cache_outside_its_range_is_refused_before_anything_opens() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("store");
    let file = tmp.path().join("export.ndjson");
    std::fs::write(&file, "").expect("write the file");
    let commands: [&[&str]; 3] = [
        &["bus", "--listen", "127.0.0.1:0"],
        &["bus", "import"],
        &["bus", "check"],
    ];
    for command in commands {
        for cache in ["0", "1048577"] {
            let mut cmd = minibus_with(command);
            cmd.args(["--cache-mb", cache, "--data-dir"]).arg(&dir);
            if command.contains(&"import") {
                cmd.arg(&file);
            }
            let done = run_to_exit(cmd);
            assert_eq!(
                done.status.code(),
                Some(2),
                "{command:?} {cache}: {}",
                done.stderr
            );
            assert!(
                done.stderr.contains("--cache-mb") && done.stderr.contains("1..=1048576"),
                "{command:?} {cache}: the error names the flag and its range: {}",
                done.stderr
            );
            assert!(!done.stderr.contains("panicked"), "{}", done.stderr);
            assert!(
                !dir.exists(),
                "{command:?} {cache}: the data dir was created"
            );
        }
    }
    // The largest is taken: the check goes on to say that there is no store.
    let mut cmd = minibus_with(&["bus", "check", "--cache-mb", "1048576", "--data-dir"]);
    cmd.arg(&dir);
    let done = run_to_exit(cmd);
    assert!(
        done.stderr.contains("holds no bus store"),
        "{}",
        done.stderr
    );
}

/// The hosts of `--allow-subscriber-hosts` are trimmed, as a list written
/// `"a.example, b.example"` in an environment variable needs; an empty one is refused.
#[tokio::test]
async fn allowed_subscriber_hosts_are_trimmed_and_an_empty_one_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = bus_command(
        &dir.path().join("bus"),
        &["--subscribe", "s=http://b.example/x"],
    );
    cmd.env("MINIBUS_ALLOW_SUBSCRIBER_HOSTS", "a.example, b.example");
    let bus = BusProcess::spawn(cmd);
    let status = bus.api().get_ok("/subscriptions/s").await;
    assert_eq!(status["url"], "http://b.example/x", "{status}");
    assert_ne!(status["state"], "blocked", "{status}");
    assert_eq!(bus.terminate().code(), Some(0));

    for hosts in ["a.example,,b.example", "a.example, "] {
        let mut cmd = bus_command(&dir.path().join("other"), &[]);
        cmd.env("MINIBUS_ALLOW_SUBSCRIBER_HOSTS", hosts);
        let done = run_to_exit(cmd);
        assert!(!done.status.success(), "{hosts:?}: {}", done.status);
        assert!(
            done.stderr.contains("--allow-subscriber-hosts") && done.stderr.contains("empty"),
            "{hosts:?}: {}",
            done.stderr
        );
    }
}
