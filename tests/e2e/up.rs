//! `minibus up` as a real process (`--any-ports`, so that tests never need fixed ports): the
//! banner names every service's URL, a post and a comment go through the whole stack
//! (posts and comments → bus → moderation → comments → query, the comment ending
//! `rejected`), the client's gateway reaches query, posts and the bus at the stack's ports
//! (with the subscription actions on), SIGTERM stops everything with exit code 0, and a second `up` over the same
//! data dir shows the same page.

use crate::helpers::{wait_for_exit, Api, EXIT_TIMEOUT};
use bus::testkit::eventually;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, ExitStatus};

/// A running `minibus up`; SIGKILLed on drop.
struct Stack {
    child: Child,
    /// Service name → `http://127.0.0.1:PORT`, from the banner.
    urls: BTreeMap<String, String>,
}

impl Stack {
    fn start(data_dir: &Path) -> Self {
        let mut stack = Self {
            child: crate::helpers::up_command(data_dir)
                .spawn()
                .expect("spawn minibus up"),
            urls: BTreeMap::new(),
        };
        stack.urls = crate::helpers::read_up_banner(&mut stack.child);
        stack
    }

    /// Waits until every service answers `/readyz` with 200: the banner comes once the ports
    /// are bound, before the subscribing services have registered with the bus (until
    /// then comments answers 503 `post_unverified` for a post it has not seen).
    async fn ready(self) -> Self {
        for (name, url) in &self.urls {
            let probe = format!("{url}/readyz");
            eventually(&format!("{name} is ready"), || async {
                let answer = reqwest::get(&probe).await.ok()?;
                answer.status().is_success().then_some(())
            })
            .await;
        }
        self
    }

    fn api(&self, service: &str) -> Api {
        let url = self
            .urls
            .get(service)
            .unwrap_or_else(|| panic!("no {service} in {:?}", self.urls));
        Api::new(url, None)
    }

    fn terminate(mut self) -> ExitStatus {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
        wait_for_exit(&mut self.child, EXIT_TIMEOUT).expect("up exits after SIGTERM")
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn post_json(url: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// query's page once it shows `post` with one comment in `status`.
async fn page_with_comment(stack: &Stack, post: &str, status: &str) -> Value {
    let query = stack.api("query");
    eventually(
        &format!("query shows the post and its {status} comment"),
        || async {
            let (_, page) = query.get("/posts").await.ok()?;
            let comments = page[post]["comments"].as_array()?;
            (comments.len() == 1 && comments[0]["status"] == status).then_some(page)
        },
    )
    .await
}

/// The client's gateway, at the stack's ports: query's page as query answers it, a post
/// written through it, the bus's views, and the subscription actions forwarded.
async fn through_the_client(stack: &Stack, page: &Value) {
    let client = stack.api("client");
    assert_eq!(&client.get_ok("/posts").await, page);
    let gateway = &stack.urls["client"];
    let (status, post) = post_json(&format!("{gateway}/posts"), &json!({"title": "Via"})).await;
    assert_eq!(status, 201, "{post}");
    let id = post["id"].as_str().unwrap();
    // Until query has applied it (`min_seq=1` was reached long before this post, so it
    // cannot be what the wait is for).
    let one = eventually(
        "query serves the post written through the client",
        || async {
            let (status, one) = client.get(&format!("/posts/{id}")).await.ok()?;
            (status == 200).then_some(one)
        },
    )
    .await;
    assert_eq!(one["title"], "Via", "{one}");
    let query = client.get_ok("/bus/subscriptions/query").await;
    assert_eq!(query["name"], "query", "{query}");
    let pause = format!("{gateway}/bus/subscriptions/query/pause");
    let (status, paused) = post_json(&pause, &json!({})).await;
    assert_eq!(
        (status, &paused["state"]),
        (200, &json!("paused")),
        "{paused}"
    );
    let resume = format!("{gateway}/bus/subscriptions/query/resume");
    assert_eq!(post_json(&resume, &json!({})).await.0, 200);
}

#[tokio::test]
async fn up_runs_the_stack_and_stops_it_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).ready().await;
    let names: Vec<&str> = stack.urls.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["bus", "client", "comments", "moderation", "posts", "query"]
    );

    let (status, post) = post_json(
        &format!("{}/posts", stack.urls["posts"]),
        &json!({"title": " Hello "}),
    )
    .await;
    assert_eq!(
        (status, post["title"].as_str()),
        (201, Some("Hello")),
        "{post}"
    );
    let post = post["id"].as_str().unwrap().to_string();
    let comments = format!("{}/posts/{post}/comments", stack.urls["comments"]);
    let (status, listed) = post_json(&comments, &json!({"content": "I like Orange juice"})).await;
    assert_eq!(
        (status, listed[0]["status"].as_str()),
        (201, Some("pending")),
        "{listed}"
    );
    let page = page_with_comment(&stack, &post, "rejected").await;
    assert_eq!(page[&post]["title"], "Hello");
    assert_eq!(page[&post]["comments"][0]["content"], "I like Orange juice");
    assert!(stack.terminate().success(), "exit code 0 after SIGTERM");

    // The same data dir: the log is kept, and query rebuilds the same page from it.
    let stack = Stack::start(dir.path()).ready().await;
    assert_eq!(page_with_comment(&stack, &post, "rejected").await, page);
    through_the_client(&stack, &page).await;
    assert!(stack.terminate().success());
}
