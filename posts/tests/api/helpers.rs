//! posts in this process on 127.0.0.1:0 over a data dir the test owns, typed calls to its
//! API, and what the bus's log holds.

use bus::testkit::TestService;
use posts::{PostsArgs, RunError};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// posts running in this process (the kit's [`TestService`], with its data dir). Dropping
/// it cancels it (without waiting).
pub(crate) struct TestPosts {
    service: TestService<RunError>,
    data_dir: PathBuf,
}

impl Deref for TestPosts {
    type Target = TestService<RunError>;

    fn deref(&self) -> &Self::Target {
        &self.service
    }
}

/// What `POST /posts` answered.
#[derive(Debug)]
pub(crate) struct Created {
    pub(crate) status: StatusCode,
    /// `Minibus-Seq`, when the answer had it.
    pub(crate) seq: Option<u64>,
    pub(crate) body: Value,
}

impl Created {
    /// The post's id (the answer must be a `201`).
    pub(crate) fn id(&self) -> &str {
        assert_eq!(self.status, StatusCode::CREATED, "{}", self.body);
        self.body["id"].as_str().expect("an id")
    }
}

impl TestPosts {
    /// posts over `data_dir`, publishing to `bus_url`, with `tweak` applied to its flags;
    /// returns once it answers `/healthz`.
    pub(crate) async fn start_with(
        data_dir: &Path,
        bus_url: &str,
        tweak: impl FnOnce(&mut PostsArgs),
    ) -> TestPosts {
        let service = TestService::spawn("posts", |listener, shutdown| {
            let addr = listener.local_addr().expect("an address");
            let mut args = PostsArgs::new(addr, data_dir.to_path_buf());
            args.service.bus_url = bus_url.into();
            tweak(&mut args);
            posts::run(listener, args, shutdown)
        })
        .await;
        service.until_ok("/healthz").await;
        let data_dir = data_dir.to_path_buf();
        TestPosts { service, data_dir }
    }

    /// posts over `data_dir` with the defaults, publishing to `bus_url`.
    pub(crate) async fn start(data_dir: &Path, bus_url: &str) -> TestPosts {
        Self::start_with(data_dir, bus_url, |_| {}).await
    }

    /// Stops posts gracefully (waiting until its store is closed) and starts it again over
    /// the same dir, publishing to `bus_url`.
    pub(crate) async fn restart(self, bus_url: &str) -> TestPosts {
        self.service.stop().await;
        TestPosts::start(&self.data_dir, bus_url).await
    }

    /// `POST path` with `body` as JSON.
    pub(crate) async fn post_json(&self, path: &str, body: &Value) -> Created {
        let request = self.http().post(self.at(path)).json(body);
        created(request.send().await.expect("an answer")).await
    }

    /// `POST /posts {"title": title}`.
    pub(crate) async fn create(&self, title: &str) -> Created {
        self.post_json("/posts", &json!({ "title": title })).await
    }

    /// `GET /posts`: its body as text (to see the keys' order) and as JSON.
    pub(crate) async fn list(&self) -> (String, Value) {
        let answer = self
            .http()
            .get(self.at("/posts"))
            .send()
            .await
            .expect("GET");
        assert_eq!(answer.status(), StatusCode::OK);
        let text = answer.text().await.expect("a body");
        let json = serde_json::from_str(&text).expect("JSON");
        (text, json)
    }
}

async fn created(answer: reqwest::Response) -> Created {
    let status = answer.status();
    let seq = answer.headers().get("minibus-seq").map(|v| {
        let text = v.to_str().expect("ASCII");
        text.parse().expect("a number")
    });
    let body = answer.json().await.expect("a JSON answer");
    Created { status, seq, body }
}

/// Every event in the bus's log at `bus_url`, in seq order.
pub(crate) async fn log(bus_url: &str) -> Vec<Value> {
    let answer = reqwest::get(format!("{bus_url}/events"))
        .await
        .expect("GET");
    assert_eq!(answer.status(), 200);
    answer.json().await.expect("JSON")
}

/// The `data.id` of every `PostCreated` in `log`, in seq order.
pub(crate) fn created_ids(log: &[Value]) -> Vec<String> {
    let created = log.iter().filter(|e| e["type"] == "PostCreated");
    created
        .map(|e| e["data"]["id"].as_str().expect("data.id").to_string())
        .collect()
}

/// A temp dir for posts' data.
pub(crate) fn data_dir() -> TempDir {
    tempfile::tempdir().expect("a temp dir")
}
