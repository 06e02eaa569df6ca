//! The stack as `bench blog` drives it: writes to posts and comments, and the looks at
//! query and at the bus that time them.

use super::BlogArgs;
use anyhow::Context;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One job's result: its latency and the post id it made, or what went wrong (`timeout`,
/// `POST /posts 503`, `transport`, …).
pub(super) type Outcome = Result<(Duration, Option<String>), String>;

/// How often `drained` asks the bus for query's lag: the resolution of that figure.
const LAG_POLL: Duration = Duration::from_millis(2);

/// How long one look at query may wait for its `min_seq`.
const LONG_POLL_MS: u64 = 1000;

/// The stack's URLs, the clients, and what makes this run's writes its own.
pub(super) struct Stack {
    services: Client,
    bus: Client,
    posts_url: String,
    comments_url: String,
    query_url: String,
    info_url: String,
    subscriptions_url: String,
    /// In every title and comment, so that a comment is found by its content.
    run_tag: String,
    timeout: Duration,
}

/// What `bench blog` reads of a subscription on the bus.
#[derive(Debug, serde::Deserialize)]
struct Subscription {
    name: String,
    head_seq: u64,
    lag: u64,
}

impl Stack {
    pub(super) fn new(args: &BlogArgs) -> anyhow::Result<Self> {
        let base = |url: &str| url.trim_end_matches('/').to_string();
        let services = Client::builder()
            .pool_max_idle_per_host(args.max_in_flight as usize)
            .tcp_nodelay(true)
            .build()
            .context("building the HTTP client")?;
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Ok(Self {
            services,
            bus: args.bus.client(2)?,
            posts_url: format!("{}/posts", base(&args.posts_url)),
            comments_url: base(&args.comments_url),
            query_url: base(&args.query_url),
            info_url: format!("{}/info", base(&args.bus.bus_url)),
            subscriptions_url: format!("{}/subscriptions", base(&args.bus.bus_url)),
            run_tag: format!("bench-{:x}", since_epoch.as_millis()),
            timeout: args.timeout(),
        })
    }

    /// Creates a post; its latency runs from the answer to the post in query.
    pub(super) async fn post_to_query(&self) -> Outcome {
        let title = format!("{} post", self.run_tag);
        let (seq, body) = self.write(&self.posts_url, "title", &title).await?;
        let id = body["id"].as_str().ok_or("post without id")?.to_string();
        let answered = Instant::now();
        self.wait_in_query(&id, seq, |post| post["id"] == id.as_str())
            .await?;
        Ok((answered.elapsed(), Some(id)))
    }

    /// Comments on one of `post_ids`; its latency runs from the answer to the comment's
    /// final status in query.
    pub(super) async fn comment_to_query(&self, post_ids: &[String], n: u64) -> Outcome {
        let (post_id, content) = self.comment_for(post_ids, n);
        let url = format!("{}/posts/{post_id}/comments", self.comments_url);
        let (seq, comments) = self.write(&url, "content", &content).await?;
        let answered = Instant::now();
        let id = comments
            .as_array()
            .and_then(|all| all.iter().rev().find(|c| c["content"] == content.as_str()))
            .and_then(|c| c["id"].as_str())
            .ok_or("the comment is not in the answer")?
            .to_string();
        let moderated = |post: &Value| {
            let comments = post["comments"].as_array().into_iter().flatten();
            comments
                .filter(|c| c["id"] == id.as_str())
                .any(|c| c["status"] != "pending")
        };
        self.wait_in_query(post_id, seq, moderated).await?;
        Ok((answered.elapsed(), None))
    }

    /// Comments on one of `post_ids`; its latency is the request's.
    pub(super) async fn comment(&self, post_ids: &[String], n: u64) -> Outcome {
        let (post_id, content) = self.comment_for(post_ids, n);
        let url = format!("{}/posts/{post_id}/comments", self.comments_url);
        let started = Instant::now();
        self.write(&url, "content", &content).await?;
        Ok((started.elapsed(), None))
    }

    /// Comment `n`: its post (round robin) and its content, one in ten with `orange`.
    fn comment_for<'a>(&self, post_ids: &'a [String], n: u64) -> (&'a str, String) {
        let post_id = &post_ids[(n % post_ids.len() as u64) as usize];
        let content = match n % 10 {
            0 => format!("I like orange juice ({} {n})", self.run_tag),
            _ => format!("I like tea ({} {n})", self.run_tag),
        };
        (post_id, content)
    }

    /// POSTs `{field: value}` to `url`; its `Minibus-Seq` (if published in time) and body.
    async fn write(
        &self,
        url: &str,
        field: &str,
        value: &str,
    ) -> Result<(Option<u64>, Value), String> {
        let response = self
            .services
            .post(url)
            .json(&serde_json::json!({ field: value }))
            .send()
            .await
            .map_err(|_| "transport".to_string())?;
        if response.status() != StatusCode::CREATED {
            return Err(format!("{} {}", kind_of(url), response.status().as_u16()));
        }
        let seq = header_u64(&response, "minibus-seq");
        let body = response.json().await.map_err(|_| "bad body".to_string())?;
        Ok((seq, body))
    }

    /// Looks at the post in query until `shows` holds: a long poll on `min_seq`, first the
    /// write's seq, then one past the seq query answered with.
    async fn wait_in_query(
        &self,
        post_id: &str,
        seq: Option<u64>,
        shows: impl Fn(&Value) -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + self.timeout;
        let url = format!("{}/posts/{post_id}", self.query_url);
        let mut min_seq = seq.unwrap_or(0);
        while Instant::now() < deadline {
            let look = format!("{url}?min_seq={min_seq}&wait_ms={LONG_POLL_MS}");
            let response = self.services.get(look).send().await;
            let response = response.map_err(|_| "query transport".to_string())?;
            let applied = header_u64(&response, "minibus-applied-seq").unwrap_or(0);
            match response.status() {
                StatusCode::OK => {
                    let post: Value = response.json().await.map_err(|_| "query bad body")?;
                    if shows(&post) {
                        return Ok(());
                    }
                }
                StatusCode::NOT_FOUND => {}
                other => return Err(format!("query {}", other.as_u16())),
            }
            min_seq = min_seq.max(applied + 1);
        }
        Err("timeout".to_string())
    }

    /// The bus's head seq (`GET /info`).
    pub(super) async fn head_seq(&self) -> anyhow::Result<u64> {
        let info: Value = self.bus_get(&self.info_url).await?;
        info["head_seq"]
            .as_u64()
            .context("GET /info without head_seq")
    }

    /// Every subscription's lag, by name (`GET /subscriptions`).
    pub(super) async fn lags(&self) -> anyhow::Result<BTreeMap<String, u64>> {
        let subscriptions: Vec<Subscription> = self.bus_get(&self.subscriptions_url).await?;
        Ok(subscriptions.into_iter().map(|s| (s.name, s.lag)).collect())
    }

    /// Waits until the bus's head reached `head` and query's lag is 0 (every `LAG_POLL`).
    pub(super) async fn drained(&self, head: u64, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let subscriptions: Vec<Subscription> = self
                .bus_get(&self.subscriptions_url)
                .await
                .map_err(|_| "bus transport".to_string())?;
            let query = subscriptions.iter().find(|s| s.name == "query");
            let query = query.ok_or("no subscription named query on the bus")?;
            if query.head_seq >= head && query.lag == 0 {
                return Ok(());
            }
            tokio::time::sleep(LAG_POLL).await;
        }
        Err("lag timeout".to_string())
    }

    /// GETs `url` on the bus and reads its JSON.
    async fn bus_get<T: serde::de::DeserializeOwned>(&self, url: &str) -> anyhow::Result<T> {
        let response = self.bus.get(url).send().await;
        let response = response.with_context(|| format!("GET {url}"))?;
        let status = response.status();
        anyhow::ensure!(status == StatusCode::OK, "GET {url} answered {status}");
        response
            .json()
            .await
            .with_context(|| format!("reading GET {url}"))
    }
}

/// `POST /posts` or `POST comments` (for error kinds), from the URL.
fn kind_of(url: &str) -> &'static str {
    if url.ends_with("/comments") {
        "POST comments"
    } else {
        "POST /posts"
    }
}

/// A header read as a number.
fn header_u64(response: &reqwest::Response, name: &str) -> Option<u64> {
    response.headers().get(name)?.to_str().ok()?.parse().ok()
}
