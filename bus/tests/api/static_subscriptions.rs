//! `--subscriptions FILE`: every setting of a PUT, upserted at each start as a PUT would,
//! a bad file refused before the bus serves, and the course profile kept loadable.

use crate::helpers::{publish_types, spawn_app_with};
use bus::daemon::{run, BusConfig, Daemon, DaemonError};
use bus::testkit::{Answer, FakeSubscriber};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const SECRET: &str = "whsec_c3RhdGljLXN1YnNjcmlwdGlvbnMtc2VjcmV0LTAxMjM=";

/// Writes `body` (JSON, or any text) as `dir/subscriptions.json`; its path.
fn write_file(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("subscriptions.json");
    std::fs::write(&path, body).expect("write the subscriptions file");
    path
}

#[tokio::test]
async fn every_setting_in_the_file_applies() {
    let files = tempfile::tempdir().expect("tempdir");
    let sub = FakeSubscriber::start().await;
    let file = json!({"tuned": {
        "url": sub.url, "types": ["A"], "batch": 10, "secret": SECRET, "timeout_ms": 2000,
        "retry": {"initial_ms": 10, "max_ms": 50, "max_attempts": 2, "on_exhausted": "dead_letter"},
    }});
    let path = write_file(files.path(), &file.to_string());
    let app = spawn_app_with(|c| c.subscriptions = Some(path)).await;

    // One array, durable at once: the first request holds both As (batch), not B (types).
    publish_types(&app, &["A", "B", "A"]).await;
    let first = sub.next_request().await;
    assert_eq!(first.seqs, [1, 3], "batch and types apply");
    assert!(first.json().is_array(), "a batch is an array");
    let signature = first.header("webhook-signature").unwrap_or_default();
    assert!(signature.starts_with("v1,"), "signed: {:?}", first.headers);

    // Two attempts, then parked and delivery goes on: the retry policy applies.
    sub.answer_default(Answer::Status(500));
    publish_types(&app, &["A"]).await;
    app.until_sub("tuned", "past the failing event", |s| {
        s["cursor"] == 4 && s["dead_letters"] == 1
    })
    .await;
    let parked = app.dead_letters("tuned").await;
    assert_eq!(parked[0]["seq"], 4, "{parked:?}");
    assert_eq!(parked[0]["attempts"], 2, "{parked:?}");
}

#[tokio::test]
async fn the_file_is_upserted_at_each_start_keeping_the_cursor_unless_reset() {
    let files = tempfile::tempdir().expect("tempdir");
    let (first, second) = (FakeSubscriber::start().await, FakeSubscriber::start().await);
    let file = |spec: Value| write_file(files.path(), &json!({ "s": spec }).to_string());
    let path = file(json!({"url": first.url, "types": ["A"]}));
    let app = spawn_app_with(|c| c.subscriptions = Some(path)).await;
    publish_types(&app, &["A", "A"]).await;
    app.until_cursor("s", 2).await;

    // Settings replaced, cursor and generation kept.
    file(json!({"url": second.url}));
    let app = app.restart().await;
    let status = app.sub("s").await;
    assert_eq!(status["url"], second.url.as_str(), "{status}");
    assert_eq!(status["types"], json!([]), "{status}");
    assert_eq!(status["cursor"], 2, "{status}");
    assert_eq!(status["generation"], 1, "{status}");
    publish_types(&app, &["B"]).await;
    app.until_cursor("s", 3).await;
    assert_eq!(second.seqs(), [3], "only what came after the update");

    // `reset` moves the cursor, as a PUT's would.
    file(json!({"url": second.url, "reset": true, "start": {"after": 1}}));
    let app = app.restart().await;
    app.until_cursor("s", 3).await;
    assert_eq!(app.sub("s").await["generation"], 2);
    let replayed: Vec<u64> = second.received()[1..]
        .iter()
        .flat_map(|r| r.seqs.clone())
        .collect();
    assert_eq!(replayed, [2, 3]);

    // Gone from the file, kept in the bus: never deleted automatically.
    write_file(files.path(), "{}");
    let app = app.restart().await;
    assert_eq!(app.sub("s").await["cursor"], 3);
    assert_eq!(first.seqs(), [1, 2]);
}

/// Starts a bus whose configuration `tweak` changes, expecting it to refuse to start; its
/// message.
async fn refused_start(tweak: impl FnOnce(&mut BusConfig)) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut config = BusConfig::new(addr, dir.path().join("bus"));
    tweak(&mut config);
    let ran = tokio::time::timeout(
        Duration::from_secs(30),
        run(listener, config, CancellationToken::new()),
    )
    .await
    .expect("a refused start returns");
    match ran {
        Err(DaemonError::Config(message)) => message,
        other => panic!("not a config error: {other:?}"),
    }
}

#[tokio::test]
async fn the_file_is_read_once_when_the_settings_are_checked() {
    let files = tempfile::tempdir().expect("tempdir");
    let sub = FakeSubscriber::start().await;
    let path = write_file(files.path(), &json!({"once": {"url": sub.url}}).to_string());
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut config = BusConfig::new(addr, dir.path().join("bus"));
    config.subscriptions = Some(path.clone());
    let daemon = Daemon::open(config, addr).await.expect("checked and open");
    // Changed after the check: what was checked is what is stored, not this.
    std::fs::write(&path, "not JSON").expect("rewrite the file");
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(daemon.run(listener, shutdown.clone()));
    let url = format!("http://{addr}/subscriptions/once");
    let stored = bus::testkit::eventually("the subscription of the file", || async {
        let answer = reqwest::get(&url).await.ok()?;
        answer.status().is_success().then_some(())
    });
    tokio::time::timeout(Duration::from_secs(30), stored)
        .await
        .expect("stored");
    shutdown.cancel();
    let ran = running.await.expect("the daemon's task");
    ran.expect("a clean stop");
}

#[tokio::test]
async fn a_bad_file_stops_the_start_naming_the_file_and_the_entry() {
    let files = tempfile::tempdir().expect("tempdir");
    let ok = r#"{"url": "http://127.0.0.1:9/events"}"#;
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        ("not JSON", "{\"q\": ".into(), None),
        ("an array", format!("[{ok}]"), None),
        ("a string", "\"q\"".into(), None),
        (
            "a bad name",
            format!(r#"{{"bad name": {ok}}}"#),
            Some("bad name"),
        ),
        ("no url", r#"{"q": {"types": ["A"]}}"#.into(), Some("q")),
        ("not an object", r#"{"q": 5}"#.into(), Some("q")),
        (
            "an unknown setting",
            r#"{"q": {"url": "http://127.0.0.1:9/", "batchh": 2}}"#.into(),
            Some("q"),
        ),
        (
            "a setting out of range",
            r#"{"q": {"url": "http://127.0.0.1:9/", "batch": 0}}"#.into(),
            Some("q"),
        ),
        (
            "a bad url",
            r#"{"q": {"url": "ftp://127.0.0.1/"}}"#.into(),
            Some("q"),
        ),
        (
            "a bad secret",
            r#"{"q": {"url": "http://127.0.0.1:9/", "secret": "x"}}"#.into(),
            Some("q"),
        ),
        (
            "a name twice",
            format!(r#"{{"q": {ok}, "q": {ok}}}"#),
            Some("q"),
        ),
        (
            "a start beyond the head",
            r#"{"q": {"url": "http://127.0.0.1:9/", "start": {"after": 5}}}"#.into(),
            Some("q"),
        ),
    ];
    for (case, body, entry) in cases {
        let path = write_file(files.path(), &body);
        let message = refused_start(|c| c.subscriptions = Some(path.clone())).await;
        assert!(
            message.contains(&path.display().to_string()),
            "{case}: {message}"
        );
        if let Some(entry) = entry {
            assert!(
                message.contains(&format!("entry \"{entry}\"")),
                "{case}: {message}"
            );
        }
    }

    let missing = files.path().join("missing.json");
    let message = refused_start(|c| c.subscriptions = Some(missing.clone())).await;
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
}

#[tokio::test]
async fn the_allowlist_and_the_flags_apply_to_the_file() {
    let files = tempfile::tempdir().expect("tempdir");
    let path = write_file(
        files.path(),
        r#"{"q": {"url": "http://elsewhere:4002/events"}}"#,
    );
    let message = refused_start(|c| {
        c.subscriptions = Some(path.clone());
        c.allow_subscriber_hosts = vec!["127.0.0.1".into()];
    })
    .await;
    assert!(
        message.contains("entry \"q\"") && message.contains("allow"),
        "{message}"
    );

    let path = write_file(
        files.path(),
        r#"{"q": {"url": "http://127.0.0.1:9/events"}}"#,
    );
    let message = refused_start(|c| {
        c.subscriptions = Some(path.clone());
        c.subscribe = vec!["q=http://127.0.0.1:9/other".into()];
    })
    .await;
    assert!(
        message.contains("--subscribe q=") && message.contains("entry \"q\""),
        "names both: {message}"
    );
}

/// Maps a service's name to the host name a profile reaches it at.
type HostOf = fn(&str) -> &'static str;

/// What the course's services need, by name: (url, types), at the hosts `host` gives.
fn course_services(host: HostOf) -> Vec<(&'static str, String, Value)> {
    let types = [
        ("comments", 4001, json!(["CommentModerated"])),
        ("moderation", 4003, json!(["CommentCreated"])),
        ("posts", 4000, json!([])),
        (
            "query",
            4002,
            json!(["PostCreated", "CommentCreated", "CommentUpdated"]),
        ),
    ];
    types
        .into_iter()
        .map(|(name, port, types)| (name, format!("http://{}:{port}/events", host(name)), types))
        .collect()
}

/// The course run on one machine, as in its first sections.
fn on_localhost(_: &str) -> &'static str {
    "localhost"
}

/// The course's Kubernetes Service names.
fn in_kubernetes(service: &str) -> &'static str {
    match service {
        "posts" => "posts-clusterip-srv",
        "comments" => "comments-srv",
        "moderation" => "moderation-srv",
        _ => "query-srv",
    }
}

#[tokio::test]
async fn the_course_profiles_load_through_the_real_parser() {
    let profiles: [(&str, HostOf); 2] = [
        ("profiles/course.json", on_localhost),
        ("profiles/course-k8s.json", in_kubernetes),
    ];
    for (file, host) in profiles {
        let path = bus::testkit::tools::workspace_root().join(file);
        let text = std::fs::read_to_string(&path).expect(file);
        let profile: Value = serde_json::from_str(&text).expect("JSON");
        let app = spawn_app_with(|c| c.subscriptions = Some(path)).await;

        let listed = app.get_array("/subscriptions").await;
        let got: Vec<(&str, String, Value)> = listed
            .iter()
            .map(|s| {
                let name = s["name"].as_str().expect("a name");
                let url = s["url"].as_str().expect("a url").to_string();
                (name, url, s["types"].clone())
            })
            .collect();
        assert_eq!(got, course_services(host), "{file}");
        // query rebuilds itself from GET /events and does not skip repeats.
        assert_eq!(profile["query"]["delivery"], "at_most_once", "{file}");
        // The ones that handle events themselves go on past one they keep failing on.
        for name in ["comments", "moderation", "posts"] {
            let retry = &profile[name]["retry"];
            assert_eq!(
                retry["on_exhausted"], "dead_letter",
                "{file} {name}: {retry}"
            );
            assert!(
                retry["max_attempts"].as_u64().is_some(),
                "{file} {name}: {retry}"
            );
        }
    }
}
