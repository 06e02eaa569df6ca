//! posts in this process on 127.0.0.1:0 over a data dir the test owns, typed calls to its
//! API, and what the bus's log holds.

use bus::testkit::{eventually, PATIENCE};
use posts::{PostsArgs, RunError};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// posts running in this process. Dropping it cancels it (without waiting).
pub(crate) struct TestPosts {
    url: String,
    data_dir: PathBuf,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), RunError>>>,
    http: reqwest::Client,
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
    /// posts over `data_dir`, publishing to `bus_url`, with `tweak` applied to its flags.
    pub(crate) async fn start_with(
        data_dir: &Path,
        bus_url: &str,
        tweak: impl FnOnce(&mut PostsArgs),
    ) -> TestPosts {
        bus::kit::init_test_tracing();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("an address");
        let mut args = PostsArgs::new(addr, data_dir.to_path_buf());
        args.service.bus_url = bus_url.into();
        tweak(&mut args);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(posts::run(listener, args, shutdown.clone()));
        let posts = TestPosts {
            url: format!("http://{addr}"),
            data_dir: data_dir.to_path_buf(),
            shutdown,
            task: Some(task),
            http: reqwest::Client::new(),
        };
        let healthz = posts.at("/healthz");
        eventually("posts to answer /healthz", || async {
            let answer = posts.http.get(&healthz).send().await.ok()?;
            answer.status().is_success().then_some(())
        })
        .await;
        posts
    }

    /// posts over `data_dir` with the defaults, publishing to `bus_url`.
    pub(crate) async fn start(data_dir: &Path, bus_url: &str) -> TestPosts {
        Self::start_with(data_dir, bus_url, |_| {}).await
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub(crate) fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Stops posts gracefully and waits until its store is closed.
    pub(crate) async fn stop(mut self) {
        self.shutdown.cancel();
        let task = self.task.take().expect("running");
        let stopped = tokio::time::timeout(PATIENCE, task).await;
        let stopped = stopped.expect("posts stops within the patience bound");
        stopped.expect("did not panic").expect("stopped cleanly");
    }

    /// Stops posts and starts it again over the same dir, publishing to `bus_url`.
    pub(crate) async fn restart(self, bus_url: &str) -> TestPosts {
        let data_dir = self.data_dir.clone();
        self.stop().await;
        TestPosts::start(&data_dir, bus_url).await
    }

    /// `POST path` with `body` as JSON.
    pub(crate) async fn post_json(&self, path: &str, body: &Value) -> Created {
        let request = self.http.post(self.at(path)).json(body);
        created(request.send().await.expect("an answer")).await
    }

    /// `POST /posts {"title": title}`.
    pub(crate) async fn create(&self, title: &str) -> Created {
        self.post_json("/posts", &json!({ "title": title })).await
    }

    /// `GET /posts`: its body as text (to see the keys' order) and as JSON.
    pub(crate) async fn list(&self) -> (String, Value) {
        let answer = self.http.get(self.at("/posts")).send().await.expect("GET");
        assert_eq!(answer.status(), StatusCode::OK);
        let text = answer.text().await.expect("a body");
        let json = serde_json::from_str(&text).expect("JSON");
        (text, json)
    }
}

impl Drop for TestPosts {
    fn drop(&mut self) {
        self.shutdown.cancel();
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
