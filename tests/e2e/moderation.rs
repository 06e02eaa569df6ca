//! `minibus moderation` as a real process, SIGKILLed again and again while comments are
//! published straight to the bus: at the end the log holds exactly one `CommentModerated`
//! per `CommentCreated`, with the right status. What keeps it so: moderation acknowledges
//! a comment only once its verdict is stored, and the verdict's id (`moderated-<id>`)
//! makes the bus keep one, however often a killed moderation's comment is delivered again.

use crate::helpers::{eventually_within, minibus, run_to_exit, Api, BusProcess};
use crate::helpers::{ServiceProcess, ServiceSpec};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The line `minibus moderation` prints on stdout once its port is bound.
const LISTENING: &str = "minibus moderation listening on ";
/// Concurrent publishers of comments.
const PUBLISHERS: usize = 4;
/// How long a catching-up or a start may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// SIGKILL rounds: 5 in the normal suite, 100 with `MINIBUS_SOAK=1`.
fn rounds() -> usize {
    if std::env::var("MINIBUS_SOAK").as_deref() == Ok("1") {
        100
    } else {
        5
    }
}

/// Comments acknowledged by the bus: comment id → the status its verdict must have.
type Expected = Arc<Mutex<HashMap<String, &'static str>>>;

/// Publishers of `CommentCreated` straight to the bus (every third one "orange"), until
/// `stop` is set.
fn publish_comments(
    api: &Api,
    expected: &Expected,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..PUBLISHERS)
        .map(|publisher| {
            let (api, expected, stop) = (api.clone(), expected.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let id = format!("c{publisher}-{n}");
                    let (content, status) = match n % 3 {
                        0 => (format!("I like Orange juice ({id})"), "rejected"),
                        _ => (format!("a fine comment ({id})"), "approved"),
                    };
                    let event = json!({"id": format!("created-{id}"), "type": "CommentCreated",
                        "source": "comments",
                        "data": {"id": id, "content": content, "postId": "p1", "status": "pending"}});
                    let (code, reply) = api.publish(&event).await.expect("the bus answers");
                    assert_eq!(code, StatusCode::CREATED, "{reply}");
                    expected.lock().unwrap().insert(id, status);
                }
            })
        })
        .collect()
}

/// How many deliveries moderation has acknowledged so far.
async fn delivered(api: &Api) -> u64 {
    let (status, body) = api.get("/subscriptions/moderation").await.expect("GET");
    match status {
        StatusCode::OK => body["delivered"].as_u64().unwrap_or(0),
        _ => 0,
    }
}

/// Starts `minibus moderation` on port 0 for the bus at `bus_url` (it keeps no data: its
/// data dir is never created).
async fn start_moderation(bus_url: &str) -> ServiceProcess {
    let unused = std::env::temp_dir().join("minibus-moderation-keeps-no-data");
    ServiceProcess::start_async(&ServiceSpec::on_port_0("moderation", bus_url, &unused)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_moderation_leaves_exactly_one_verdict_per_comment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus_dir = PathBuf::from(dir.path());
    let bus = tokio::task::spawn_blocking(move || BusProcess::start(&bus_dir, &[]))
        .await
        .expect("start the bus");
    let api = bus.api();
    let expected = Expected::default();
    let stop = Arc::new(AtomicBool::new(false));
    let publishers = publish_comments(&api, &expected, &stop);
    for round in 1..=rounds() {
        let moderation = start_moderation(bus.url()).await;
        // Killed once it has acknowledged a few more comments: mid-stream, at any step of
        // a delivery (judging, publishing, answering).
        let before = delivered(&api).await;
        let more = fastrand::u64(1..=20);
        eventually_within(&format!("round {round}: progress"), PATIENCE, || {
            let api = api.clone();
            async move { (delivered(&api).await >= before + more).then_some(()) }
        })
        .await;
        moderation.kill();
    }
    stop.store(true, Ordering::Relaxed);
    for publisher in publishers {
        publisher.await.expect("a publisher panicked");
    }

    let _moderation = start_moderation(bus.url()).await;
    eventually_within("moderation to catch up", PATIENCE, || {
        let api = api.clone();
        async move {
            let status = api.get_ok("/subscriptions/moderation").await;
            (status["lag"] == 0 && status["state"] == "active").then_some(())
        }
    })
    .await;
    assert_one_verdict_each(&api.events().await, &expected.lock().unwrap());
}

/// Each comment in `expected` has exactly one `CommentModerated`, with its status, and
/// there is no other.
fn assert_one_verdict_each(log: &[Value], expected: &HashMap<String, &'static str>) {
    let mut verdicts: HashMap<String, Vec<&Value>> = HashMap::new();
    for event in log.iter().filter(|e| e["type"] == "CommentModerated") {
        let id = event["data"]["id"].as_str().expect("a comment id");
        verdicts.entry(id.into()).or_default().push(event);
    }
    assert!(expected.len() > rounds(), "some load: {}", expected.len());
    for (id, status) in expected {
        let found = verdicts.get(id).map_or(&[][..], Vec::as_slice);
        assert_eq!(found.len(), 1, "verdicts on {id}: {found:#?}");
        assert_eq!(found[0]["data"]["status"], json!(status), "{id}");
        assert_eq!(found[0]["id"], json!(format!("moderated-{id}")));
    }
    assert_eq!(
        verdicts.len(),
        expected.len(),
        "no verdict on an unknown comment"
    );
}

#[test]
fn a_delay_past_the_delivery_timeout_is_refused_before_listening() {
    let mut command = minibus();
    command.args([
        "moderation",
        "--listen",
        "127.0.0.1:0",
        "--delay-ms",
        "5000",
    ]);
    let finished = run_to_exit(command);
    assert!(!finished.status.success(), "refused: {}", finished.stderr);
    assert!(
        finished.stderr.contains("--delay-ms"),
        "{}",
        finished.stderr
    );
    assert!(!finished.stdout.contains(LISTENING), "{}", finished.stdout);
    let mut command = minibus();
    command
        .args(["moderation", "--listen", "127.0.0.1:0"])
        .env("MINIBUS_DELAY_MS", "4001");
    let finished = run_to_exit(command);
    assert!(
        finished.stderr.contains("--delay-ms"),
        "{}",
        finished.stderr
    );
}
