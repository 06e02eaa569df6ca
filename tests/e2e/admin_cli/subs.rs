//! `minibus subs …` against a bus process pushing to a fake subscriber: each action's
//! effect, read back through the bus's own API, and what the tables say.

use super::{cli_ok, put_subscription};
use crate::helpers::{Api, BusProcess};
use bus::testkit::{eventually, Answer, FakeSubscriber};
use serde_json::{json, Value};

/// The subscription's status, from the bus.
async fn status(api: &Api) -> Value {
    api.get_ok("/subscriptions/q").await
}

/// The cells of the row of `name` in a `subs list` table (the last error is cut at its
/// first space, as it may hold some).
fn row<'a>(table: &'a str, name: &str) -> Vec<&'a str> {
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().expect("a header").split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "STATE",
            "CURSOR",
            "HEAD",
            "LAG",
            "LAG_SECONDS",
            "DELIVERED",
            "DEAD_LETTERS",
            "LAST_ERROR"
        ]
    );
    lines
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|cells| cells.first() == Some(&name))
        .unwrap_or_else(|| panic!("a row for {name}: {table}"))
}

/// A bus with three events and a subscription `q` whose subscriber answers 500, so that it
/// stays `retrying` at the first event.
async fn failing_subscription() -> (tempfile::TempDir, BusProcess, FakeSubscriber) {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus = BusProcess::start(dir.path(), &[]);
    for n in 1..=3 {
        let (status, _) = bus
            .api()
            .publish(&json!({"type": "A", "data": n}))
            .await
            .expect("publish");
        assert!(status.is_success());
    }
    let subscriber = FakeSubscriber::start().await;
    subscriber.answer_default(Answer::Status(500));
    let spec = json!({"url": subscriber.url, "retry": {"initial_ms": 20, "max_ms": 100}});
    put_subscription(bus.url(), None, "q", spec).await;
    let api = bus.api();
    eventually("q to be retrying", || {
        let api = api.clone();
        async move { (status(&api).await["state"] == "retrying").then_some(()) }
    })
    .await;
    (dir, bus, subscriber)
}

#[tokio::test]
async fn list_and_show_give_the_bus_s_values() {
    let (_dir, bus, _subscriber) = failing_subscription().await;
    let table = cli_ok(bus.url(), &["subs", "list"]).await;
    let cells = row(&table, "q");
    assert_eq!(cells[1..5], ["retrying", "0", "3", "3"], "{table}");
    let lag_seconds: f64 = cells[5].parse().expect("LAG_SECONDS is a number");
    assert!(lag_seconds >= 0.0, "{table}");
    assert_eq!(cells[6..8], ["0", "0"], "delivered, dead letters: {table}");
    assert!(table.contains("500"), "the last error: {table}");

    let shown = cli_ok(bus.url(), &["subs", "show", "q"]).await;
    for line in ["name:", "state:", "cursor:", "head_seq:", "url:"] {
        assert!(shown.contains(line), "{line} {shown}");
    }
    let field = |name: &str| {
        let line = shown
            .lines()
            .find(|l| l.starts_with(name))
            .expect("the field");
        line[name.len()..].trim().to_string()
    };
    assert_eq!(field("cursor:"), "0");
    assert_eq!(field("head_seq:"), "3");
    assert_eq!(field("generation:"), "1");

    let listed: Value = serde_json::from_str(&cli_ok(bus.url(), &["subs", "list", "--json"]).await)
        .expect("--json is JSON");
    let from_bus = bus.api().get_ok("/subscriptions").await;
    assert_eq!(listed[0]["name"], from_bus[0]["name"]);
    assert_eq!(listed[0]["url"], from_bus[0]["url"]);
    let one: Value =
        serde_json::from_str(&cli_ok(bus.url(), &["subs", "show", "q", "--json"]).await)
            .expect("--json is JSON");
    assert_eq!(one["cursor"], json!(0), "{one}");
}

#[tokio::test]
async fn pause_rewind_skip_resume_and_retry_act_on_the_bus() {
    let (_dir, bus, subscriber) = failing_subscription().await;
    let api = bus.api();
    let paused = cli_ok(bus.url(), &["subs", "pause", "q"]).await;
    assert_eq!(row(&paused, "q")[1], "paused", "{paused}");
    assert_eq!(status(&api).await["state"], "paused");

    let before = status(&api).await;
    let dry = cli_ok(
        bus.url(),
        &["subs", "rewind", "q", "--after", "2", "--dry-run"],
    )
    .await;
    assert!(dry.contains("would redeliver 1 event"), "{dry}");
    let after = status(&api).await;
    assert_eq!(
        (&after["cursor"], &after["generation"], &after["state"]),
        (&before["cursor"], &before["generation"], &before["state"]),
        "a dry run changes nothing"
    );

    let second = api.get_ok("/events/2").await;
    let time = second["time"].as_str().expect("a time");
    let rewound = cli_ok(bus.url(), &["subs", "rewind", "q", "--time", time]).await;
    assert!(
        rewound.contains("after seq 1, 2 events to redeliver"),
        "{rewound}"
    );
    let after = status(&api).await;
    assert_eq!(after["cursor"], json!(1));
    assert_eq!(
        after["generation"],
        json!(before["generation"].as_u64().unwrap() + 1)
    );
    let json_rewind = cli_ok(
        bus.url(),
        &["subs", "rewind", "q", "--after", "2", "--json"],
    )
    .await;
    let reply: Value = serde_json::from_str(&json_rewind).expect("the bus's reply");
    assert_eq!(
        (reply["after"].clone(), reply["redeliver"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(status(&api).await["cursor"], json!(2));
    assert_eq!(
        status(&api).await["state"],
        "paused",
        "a rewind keeps the pause"
    );

    let skipped = cli_ok(bus.url(), &["subs", "skip", "q"]).await;
    assert!(skipped.contains("parked seq 3"), "{skipped}");
    let after = status(&api).await;
    assert_eq!(
        (after["cursor"].clone(), after["dead_letters"].clone()),
        (json!(3), json!(1))
    );
    let letters = cli_ok(bus.url(), &["subs", "dead-letters", "q"]).await;
    let parked: Vec<&str> = letters
        .lines()
        .nth(1)
        .expect("a row")
        .split_whitespace()
        .collect();
    assert_eq!(parked[0], "3", "{letters}");

    let resumed = cli_ok(bus.url(), &["subs", "resume", "q"]).await;
    assert_eq!(row(&resumed, "q")[1], "active", "{resumed}");
    subscriber.answer_default(Answer::Status(200));
    let queued = cli_ok(bus.url(), &["subs", "dead-letters", "q", "--retry"]).await;
    assert!(
        queued.contains("queued 1 dead letter") && queued.contains("seqs 3"),
        "{queued}"
    );
    eventually(
        "the retried dead letter to be delivered and removed",
        || {
            let api = api.clone();
            async move {
                let left = api.get_ok("/subscriptions/q/dead-letters").await;
                (left == json!([])).then_some(())
            }
        },
    )
    .await;
    let redelivered = subscriber
        .received()
        .into_iter()
        .find(|r| r.acked() && r.number("minibus-seq") == 3)
        .expect("seq 3 delivered");
    assert_eq!(
        redelivered.header("minibus-redelivery"),
        Some("dead-letter")
    );
    let none = cli_ok(bus.url(), &["subs", "dead-letters", "q"]).await;
    assert_eq!(none.trim(), "q has no dead letters");
}
