//! query in this process on port 0, next to a test bus; the blog's events; bus calls.

pub(crate) use bus::testkit::{eventually, spawn_bus, TestBus};

use bus::testkit::TestService;
use query::{QueryArgs, QueryError};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::{Path, PathBuf};

/// query running in this process: the kit's [`TestService`] and the flags it runs with.
pub(crate) struct QueryApp {
    service: TestService<QueryError>,
    args: QueryArgs,
}

impl Deref for QueryApp {
    type Target = TestService<QueryError>;

    fn deref(&self) -> &Self::Target {
        &self.service
    }
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
        let run = |listener, shutdown| query::run(listener, args.clone(), shutdown);
        let service = TestService::spawn("query", run).await;
        Self { service, args }
    }

    /// The data dir.
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.args.service.data_dir.clone()
    }

    /// Stops query gracefully (as on SIGTERM); fails the test if it ends with an error.
    pub(crate) async fn stop(self) {
        self.service.stop().await;
    }

    /// `GET path`.
    pub(crate) async fn get(&self, path: &str) -> Answer {
        let answer = self.http().get(self.at(path)).send().await.unwrap();
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

    /// Waits until `GET /posts` shows seq `seq` applied; the body then.
    pub(crate) async fn posts_after(&self, seq: u64) -> String {
        eventually(&format!("query to apply seq {seq}"), || async {
            let answer = self.get("/posts").await;
            (answer.applied() >= seq).then_some(answer.body)
        })
        .await
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
    let replies = bus.publish(&json!(events)).await;
    let replies = replies.as_array().expect("an array of replies");
    replies.iter().map(|r| r["seq"].as_u64().unwrap()).collect()
}
