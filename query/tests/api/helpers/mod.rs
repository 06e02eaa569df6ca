//! query in this process on port 0, next to a test bus; the blog's events; bus calls.

pub(crate) use bus::testkit::{eventually, spawn_bus, TestBus};

use query::{QueryArgs, QueryError};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// query running in this process.
pub(crate) struct QueryApp {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    args: QueryArgs,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), QueryError>>>,
    http: reqwest::Client,
}

/// An answer of query: status, headers, body text.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Answer {
    /// The body as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// `Minibus-Applied-Seq`.
    pub(crate) fn applied(&self) -> u64 {
        let value = self
            .headers
            .get("minibus-applied-seq")
            .expect("Minibus-Applied-Seq");
        value.to_str().unwrap().parse().unwrap()
    }
}

impl QueryApp {
    /// query (in memory unless `persist`) on a fresh port, data in `data_dir`, against `bus`.
    pub(crate) async fn start(bus: &TestBus, data_dir: &Path, persist: bool) -> Self {
        Self::start_with(bus, data_dir, |args| args.persist = persist).await
    }

    /// query with its flags changed by `tweak` first.
    pub(crate) async fn start_with(
        bus: &TestBus,
        data_dir: &Path,
        tweak: impl FnOnce(&mut QueryArgs),
    ) -> Self {
        let mut args = QueryArgs::new(SocketAddr::from(([127, 0, 0, 1], 0)), data_dir.into());
        args.service.bus_url = bus.url().into();
        tweak(&mut args);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(query::run(listener, args.clone(), shutdown.clone()));
        Self {
            url,
            args,
            shutdown,
            task: Some(task),
            http: reqwest::Client::new(),
        }
    }

    /// The data dir.
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.args.service.data_dir.clone()
    }

    /// Stops query gracefully (as on SIGTERM); fails the test if it ends with an error.
    pub(crate) async fn stop(mut self) {
        self.shutdown.cancel();
        let task = self.task.take().expect("running");
        let ended = tokio::time::timeout(bus::testkit::PATIENCE, task).await;
        ended
            .expect("query stops")
            .expect("no panic")
            .expect("no error");
    }

    /// `GET path`.
    pub(crate) async fn get(&self, path: &str) -> Answer {
        let answer = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        Answer {
            status: answer.status().as_u16(),
            headers: answer.headers().clone(),
            body: answer.text().await.unwrap(),
        }
    }

    /// `GET /posts` as text (the order of its keys is part of it); asserts a `200`.
    pub(crate) async fn posts(&self) -> String {
        let answer = self.get("/posts").await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    }

    /// Waits until `/readyz` answers `200`.
    pub(crate) async fn until_ready(&self) {
        eventually("query to be ready", || async {
            (self.get("/readyz").await.status == 200).then_some(())
        })
        .await;
    }

    /// Waits until `GET /posts` shows seq `seq` applied; the body then.
    pub(crate) async fn posts_after(&self, seq: u64) -> String {
        eventually(&format!("query to apply seq {seq}"), || async {
            let answer = self.get("/posts").await;
            (answer.applied() >= seq).then_some(answer.body)
        })
        .await
    }
}

impl Drop for QueryApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A `PostCreated` as posts publishes it.
pub(crate) fn post_created(id: &str, title: &str) -> Value {
    json!({"type": "PostCreated", "stream": format!("post-{id}"), "source": "posts",
        "data": {"id": id, "title": title}})
}

/// A `CommentCreated` as comments publishes it.
pub(crate) fn comment_created(id: &str, post_id: &str, content: &str) -> Value {
    json!({"type": "CommentCreated", "source": "comments",
        "data": {"id": id, "content": content, "postId": post_id, "status": "pending"}})
}

/// A `CommentUpdated` as comments publishes it.
pub(crate) fn comment_updated(id: &str, post_id: &str, status: &str, version: u64) -> Value {
    json!({"type": "CommentUpdated", "source": "comments",
        "data": {"id": id, "content": "text", "postId": post_id, "status": status, "version": version}})
}

/// Publishes `events` as one array; their seqs.
pub(crate) async fn publish(bus: &TestBus, events: &[Value]) -> Vec<u64> {
    let answer = reqwest::Client::new()
        .post(bus.at("/events"))
        .json(&events)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    let replies: Vec<Value> = answer.json().await.unwrap();
    replies.iter().map(|r| r["seq"].as_u64().unwrap()).collect()
}

/// `GET path` on the bus, as JSON.
pub(crate) async fn bus_get(bus: &TestBus, path: &str) -> Value {
    let answer = reqwest::get(bus.at(path)).await.unwrap();
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
    answer.json().await.unwrap()
}

/// query's subscription status on the bus.
pub(crate) async fn subscription(bus: &TestBus) -> Value {
    bus_get(bus, "/subscriptions/query").await
}
