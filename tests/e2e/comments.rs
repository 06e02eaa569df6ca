//! `minibus comments` as a real process, SIGKILLed again and again while moderation's
//! verdicts (`CommentModerated`) are published straight to the bus: at the end the log
//! holds exactly one `CommentUpdated` per verdict, with its comment's versions 1, 2, … in
//! order. What keeps it so: each verdict, its `CommentUpdated` in the outbox and its seq as
//! the checkpoint commit in one transaction; at start comments registers from that
//! checkpoint; a verdict delivered again is recognised by its id, and the update's id
//! (`updated-<commentId>-<version>`) makes the bus keep one however often it is relayed.

use crate::helpers::{eventually_within, Api, BusProcess, ServiceProcess, ServiceSpec};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Comments written before the load of verdicts.
const COMMENTS: usize = 20;
/// Concurrent publishers of verdicts.
const PUBLISHERS: usize = 2;
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

/// Starts `minibus comments` on port 0 over `data_dir` for the bus at `bus_url`.
async fn start_comments(bus_url: &str, data_dir: &Path) -> ServiceProcess {
    ServiceProcess::start_async(&ServiceSpec::on_port_0("comments", bus_url, data_dir)).await
}

/// Verdicts acknowledged by the bus: the verdict's event id → its comment's id.
type Verdicts = Arc<Mutex<HashMap<String, String>>>;

/// Publishers of `CommentModerated` on random comments of `comments`, straight to the
/// bus, until `stop` is set.
fn publish_verdicts(
    api: &Api,
    comments: &[Value],
    verdicts: &Verdicts,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..PUBLISHERS)
        .map(|publisher| {
            let (api, verdicts, stop) = (api.clone(), verdicts.clone(), stop.clone());
            let comments = comments.to_vec();
            tokio::spawn(async move {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let comment = &comments[fastrand::usize(..comments.len())];
                    let id = format!("verdict-{publisher}-{n}");
                    let status = if n.is_multiple_of(2) {
                        "approved"
                    } else {
                        "rejected"
                    };
                    let event = json!({"id": id, "type": "CommentModerated", "source": "moderation",
                        "data": {"id": comment["id"], "content": comment["content"],
                                 "postId": "p1", "status": status}});
                    let (code, reply) = api.publish(&event).await.expect("the bus answers");
                    assert_eq!(code, StatusCode::CREATED, "{reply}");
                    let comment_id = comment["id"].as_str().expect("an id").to_string();
                    verdicts.lock().unwrap().insert(id, comment_id);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        })
        .collect()
}

/// How many deliveries comments has acknowledged so far.
async fn delivered(api: &Api) -> u64 {
    let (status, body) = api.get("/subscriptions/comments").await.expect("GET");
    match status {
        StatusCode::OK => body["delivered"].as_u64().unwrap_or(0),
        _ => 0,
    }
}

/// Every event of type `ty` in the log.
async fn events_of(api: &Api, ty: &str) -> Vec<Value> {
    match api.get_ok(&format!("/events?type={ty}&limit=10000")).await {
        Value::Array(events) => events,
        other => panic!("GET /events is not an array: {other}"),
    }
}

/// Writes [`COMMENTS`] comments on the post `p1` through comments, once it is registered; their `CommentCreated`
/// data once all are on the bus.
async fn write_comments(api: &Api, comments_url: &str) -> Vec<Value> {
    let http = reqwest::Client::new();
    let readyz = format!("{comments_url}/readyz");
    eventually_within("comments to be ready", PATIENCE, || async {
        let answer = http.get(&readyz).send().await.ok()?;
        (answer.status() == StatusCode::OK).then_some(())
    })
    .await;
    for n in 0..COMMENTS {
        let answer = http
            .post(format!("{comments_url}/posts/p1/comments"))
            .json(&json!({"content": format!("comment {n}")}))
            .send()
            .await
            .expect("comments answers");
        assert_eq!(answer.status(), StatusCode::CREATED);
    }
    eventually_within("the comments on the bus", PATIENCE, || async {
        let created = events_of(api, "CommentCreated").await;
        (created.len() == COMMENTS).then(|| created.iter().map(|e| e["data"].clone()).collect())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_comments_leaves_exactly_one_update_per_verdict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus_dir = PathBuf::from(dir.path()).join("bus");
    let comments_dir = dir.path().join("comments");
    let bus = tokio::task::spawn_blocking(move || BusProcess::start(&bus_dir, &[]))
        .await
        .expect("start the bus");
    let api = bus.api();
    let (code, reply) = api
        .publish(&json!({"type": "PostCreated", "data": {"id": "p1", "title": "a post"}}))
        .await
        .expect("the bus answers");
    assert_eq!(code, StatusCode::CREATED, "{reply}");
    let service = start_comments(bus.url(), &comments_dir).await;
    let written = write_comments(&api, service.url()).await;
    service.kill();

    let verdicts = Verdicts::default();
    let stop = Arc::new(AtomicBool::new(false));
    let publishers = publish_verdicts(&api, &written, &verdicts, &stop);
    for round in 1..=rounds() {
        let service = start_comments(bus.url(), &comments_dir).await;
        // Killed once it has acknowledged a few more deliveries: mid-stream, at any step
        // of applying a verdict (its transaction, the relay, the answer to the bus).
        let before = delivered(&api).await;
        let more = fastrand::u64(1..=5);
        eventually_within(&format!("round {round}: progress"), PATIENCE, || {
            let api = api.clone();
            async move { (delivered(&api).await >= before + more).then_some(()) }
        })
        .await;
        service.kill();
    }
    stop.store(true, Ordering::Relaxed);
    for publisher in publishers {
        publisher.await.expect("a publisher panicked");
    }

    let _service = start_comments(bus.url(), &comments_dir).await;
    let verdicts = verdicts.lock().unwrap().clone();
    let updates = eventually_within("comments to apply every verdict", PATIENCE, || {
        let api = api.clone();
        let expected = verdicts.len();
        async move {
            let updates = events_of(&api, "CommentUpdated").await;
            (updates.len() >= expected).then_some(updates)
        }
    })
    .await;
    eprintln!("{} verdicts, {} updates", verdicts.len(), updates.len());
    assert_one_update_per_verdict(&updates, &verdicts);
}

/// Each verdict in `verdicts` caused exactly one `CommentUpdated`, of its comment; each
/// comment's updates have the versions 1, 2, … in log order, with the ids DESIGN gives.
fn assert_one_update_per_verdict(updates: &[Value], verdicts: &HashMap<String, String>) {
    assert!(verdicts.len() > rounds(), "some load: {}", verdicts.len());
    let mut caused: HashMap<&str, usize> = HashMap::new();
    let mut versions: HashMap<&str, Vec<u64>> = HashMap::new();
    for update in updates {
        let cause = update["causation_id"].as_str().expect("a causation id");
        *caused.entry(cause).or_default() += 1;
        let comment = update["data"]["id"].as_str().expect("a comment id");
        assert_eq!(
            verdicts.get(cause).map(String::as_str),
            Some(comment),
            "{update}"
        );
        let version = update["data"]["version"].as_u64().expect("a version");
        assert_eq!(update["id"], json!(format!("updated-{comment}-{version}")));
        versions.entry(comment).or_default().push(version);
    }
    for verdict in verdicts.keys() {
        assert_eq!(
            caused.get(verdict.as_str()),
            Some(&1),
            "updates caused by {verdict}"
        );
    }
    assert_eq!(caused.len(), verdicts.len(), "no update without a verdict");
    for (comment, versions) in versions {
        let expected: Vec<u64> = (1..=versions.len() as u64).collect();
        assert_eq!(versions, expected, "the versions of {comment}");
    }
}
