//! Publish load that records every acknowledged event, and the check of the log a
//! (re)started bus serves against it.

use super::Api;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// An event every test can publish: a fresh UUIDv4 `id`, and a stream when given.
pub(crate) fn new_event(data: Value, stream: Option<&str>) -> Value {
    let mut event = json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "type": "E2eTested",
        "source": "e2e",
        "data": data,
    });
    if let Some(stream) = stream {
        event["stream"] = json!(stream);
    }
    event
}

/// An event the bus acknowledged (`201`): its seq and the JSON it was published as.
#[derive(Debug, Clone)]
pub(crate) struct Acked {
    /// The seq in the reply.
    pub(crate) seq: u64,
    /// The event as published (to publish it again).
    pub(crate) event: Value,
}

/// Every acknowledged event by id.
pub(crate) type AckedMap = HashMap<String, Acked>;

/// Records a `201` reply to `body` (one event or an array) in `acked`.
pub(crate) fn record_acks(acked: &mut AckedMap, body: &Value, reply: &Value) {
    let (events, replies) = match (body, reply) {
        (Value::Array(events), Value::Array(replies)) => (events.clone(), replies.clone()),
        (Value::Object(_), Value::Object(_)) => (vec![body.clone()], vec![reply.clone()]),
        _ => panic!("reply {reply} does not match the shape of {body}"),
    };
    assert_eq!(events.len(), replies.len(), "one reply per event: {reply}");
    for (event, reply) in events.into_iter().zip(replies) {
        assert_eq!(
            reply["id"], event["id"],
            "the reply names the event: {reply}"
        );
        let seq = reply["seq"].as_u64().expect("a seq in the reply");
        let id = reply["id"].as_str().expect("an id").to_string();
        assert!(
            acked.insert(id, Acked { seq, event }).is_none(),
            "an id acknowledged twice"
        );
    }
}

/// Concurrent publishers, each looping single events and small arrays with fresh ids,
/// recording every acknowledged one, until told to stop or the bus goes away.
pub(crate) struct Load {
    acked: Arc<Mutex<AckedMap>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<Vec<String>>>,
}

impl Load {
    /// Starts `publishers` tasks against `api`.
    pub(crate) fn start(api: &Api, publishers: usize) -> Self {
        let acked = Arc::new(Mutex::new(AckedMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..publishers)
            .map(|p| tokio::spawn(publish_loop(api.clone(), p, acked.clone(), stop.clone())))
            .collect();
        Self { acked, stop, tasks }
    }

    /// How many events have been acknowledged so far.
    pub(crate) fn acked_count(&self) -> usize {
        self.acked.lock().expect("acked").len()
    }

    /// Stops the publishers (a request in flight ends when the bus answers or goes away)
    /// and returns what was acknowledged. Panics if any publish got an answer other than
    /// `201`: under this load there is no reason for one.
    pub(crate) async fn stop(self) -> AckedMap {
        self.stop.store(true, Ordering::SeqCst);
        let mut unexpected = Vec::new();
        for task in self.tasks {
            unexpected.extend(task.await.expect("a publisher panicked"));
        }
        assert!(unexpected.is_empty(), "unexpected replies: {unexpected:#?}");
        std::mem::take(&mut *self.acked.lock().expect("acked"))
    }
}

/// One publisher; returns the unexpected replies it got.
async fn publish_loop(
    api: Api,
    publisher: usize,
    acked: Arc<Mutex<AckedMap>>,
    stop: Arc<AtomicBool>,
) -> Vec<String> {
    let stream = format!("load-{publisher}-{}", uuid::Uuid::new_v4().simple());
    let mut unexpected = Vec::new();
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let size = if fastrand::bool() {
            0
        } else {
            fastrand::usize(1..=5)
        };
        let mut make = || {
            n += 1;
            // Some events on this publisher's own stream, so versions never conflict.
            let stream = (fastrand::u8(..4) == 0).then_some(stream.as_str());
            new_event(json!({ "publisher": publisher, "n": n }), stream)
        };
        let body = match size {
            0 => make(),
            size => Value::Array((0..size).map(|_| make()).collect()),
        };
        match api.publish(&body).await {
            Ok((StatusCode::CREATED, reply)) => {
                record_acks(&mut acked.lock().expect("acked"), &body, &reply)
            }
            Ok((status, reply)) => unexpected.push(format!("{status}: {reply}")),
            // The bus is gone (killed or shutting down): this event may or may not be stored.
            Err(_) => break,
        }
    }
    unexpected
}

/// Checks the invariants of the log a (re)started bus serves, and that every event in
/// `acked` is in it with its seq and id. Returns the head.
pub(crate) async fn verify_log(api: &Api, acked: &AckedMap) -> u64 {
    let events = api.events().await;
    let head = events.len() as u64;
    let mut ids = HashSet::new();
    let mut versions: HashMap<String, u64> = HashMap::new();
    let mut last_time = String::new();
    for (expected, event) in (1..).zip(&events) {
        assert_eq!(event["seq"], json!(expected), "seqs are 1..=head, gapless");
        let id = event["id"].as_str().expect("an id");
        assert!(ids.insert(id.to_string()), "id {id} appears twice");
        let time = event["time"].as_str().expect("a time").to_string();
        assert!(time >= last_time, "time went back at seq {expected}");
        last_time = time;
        if let Some(stream) = event["stream"].as_str() {
            let version = versions.entry(stream.into()).or_default();
            *version += 1;
            assert_eq!(event["version"], json!(*version), "versions of {stream}");
        }
    }
    for (id, ack) in acked {
        let stored = usize::try_from(ack.seq)
            .ok()
            .and_then(|seq| events.get(seq.wrapping_sub(1)));
        let stored = stored.unwrap_or_else(|| {
            panic!(
                "acknowledged event {id} (seq {}) is lost; head {head}",
                ack.seq
            )
        });
        assert_eq!(
            stored["id"],
            json!(id),
            "seq {} holds another event",
            ack.seq
        );
        assert_eq!(stored["data"], ack.event["data"], "data of seq {}", ack.seq);
    }
    let info = api.info().await;
    assert_eq!(info["head_seq"], json!(head), "/info: {info}");
    assert_eq!(info["events"], json!(head), "/info: {info}");
    head
}
