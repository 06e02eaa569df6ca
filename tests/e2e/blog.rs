//! The whole blog as separate processes (the bus, posts, comments, moderation, query), each
//! on a port chosen up front so that a SIGKILLed one comes back at the same URL:
//! - the invariant: after a load of posts and comments with random SIGKILLs (and restarts)
//!   of the services in between, query's `GET /posts` equals a fold of the bus's log that
//!   this test computes itself, and every comment ends `approved` or `rejected`;
//! - a bus outage: posts and comments are still written (2xx), a comment on a post comments
//!   cannot verify is `503 post_unverified`, and once the bus is back query shows them all,
//!   moderated;
//! - mixing with the course: a post published straight to the bus in the course's shape
//!   can be commented on through our comments and shows in our query, moderated.

mod fold;

use crate::helpers::{
    eventually_within, free_loopback_addr, minibus, Api, BusProcess, ServiceProcess, ServiceSpec,
};
use fold::{comments_of, fold, moderated};
use reqwest::StatusCode;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the stack may take to settle (or a write to get through) on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(120);
/// The services, in the order they are started.
const SERVICES: [&str; 4] = ["moderation", "query", "comments", "posts"];
/// Concurrent writers during the invariant's load.
const WRITERS: usize = 4;

/// Posts and comments of the invariant's load: 100 / 500, or 1,000 / 5,000 with
/// `MINIBUS_SOAK=1`.
fn load_size() -> (usize, usize) {
    if std::env::var("MINIBUS_SOAK").as_deref() == Ok("1") {
        (1_000, 5_000)
    } else {
        (100, 500)
    }
}

/// `minibus bus --listen ADDR --data-dir DIR`, started and listening.
fn start_bus(listen: &str, data_dir: &Path) -> BusProcess {
    let mut cmd = minibus();
    cmd.args(["bus", "--listen", listen, "--data-dir"])
        .arg(data_dir);
    BusProcess::spawn(cmd)
}

/// The bus and the four services, each its own process.
struct Blog {
    /// The bus (`None` while it is down).
    bus: Option<BusProcess>,
    /// A client of the bus, at the URL it keeps across restarts.
    bus_api: Api,
    /// How each service is started, in [`SERVICES`] order.
    specs: Vec<ServiceSpec>,
    /// The running services, in the same order (empty while the killer holds them).
    services: Vec<ServiceProcess>,
}

impl Blog {
    /// Starts the bus on `bus_listen` over `root/bus`, then the services around it (query
    /// with `--persist` when `persist_query`).
    async fn start(root: &Path, bus_listen: &str, persist_query: bool) -> Self {
        let (listen, bus_dir) = (bus_listen.to_string(), root.join("bus"));
        let bus = tokio::task::spawn_blocking(move || start_bus(&listen, &bus_dir))
            .await
            .expect("start the bus");
        let mut specs: Vec<_> = SERVICES
            .iter()
            .map(|name| ServiceSpec::new(name, bus.url(), root))
            .collect();
        if persist_query {
            let query = specs.iter_mut().find(|s| s.name == "query");
            query.expect("query").extra_args.push("--persist".into());
        }
        let mut services = Vec::new();
        for spec in &specs {
            services.push(ServiceProcess::start_async(spec).await);
        }
        // "Listening" comes before a service's subscription is registered: until then
        // comments cannot verify a post it does not know yet (503 post_unverified).
        for spec in &specs {
            until_ready(spec).await;
        }
        Self {
            bus_api: bus.api(),
            bus: Some(bus),
            specs,
            services,
        }
    }

    /// The client of the service `name`.
    fn api(&self, name: &str) -> Api {
        self.spec(name).api()
    }

    fn spec(&self, name: &str) -> &ServiceSpec {
        self.specs
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no service {name}"))
    }
}

/// Waits (bounded) until the service of `spec` answers `200` on `/readyz`.
async fn until_ready(spec: &ServiceSpec) {
    let api = spec.api();
    eventually_within(&format!("{} to be ready", spec.name), PATIENCE, || async {
        let (status, _) = api.get("/readyz").await.ok()?;
        (status == StatusCode::OK).then_some(())
    })
    .await;
}

/// `POST url` with `body`: the status and the JSON reply (`Null` when it is not JSON).
async fn post_json(
    http: &reqwest::Client,
    url: &str,
    body: &Value,
) -> reqwest::Result<(StatusCode, Value)> {
    let answer = http.post(url).json(body).send().await?;
    let status = answer.status();
    Ok((status, answer.json().await.unwrap_or(Value::Null)))
}

/// `POST url` until it answers `201` (a killed service, a post comments does not know yet,
/// a bus that is not back: tried again, bounded by [`PATIENCE`]); the reply.
async fn post_until_created(http: &reqwest::Client, url: &str, body: &Value) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let last = match post_json(http, url, body).await {
            Ok((StatusCode::CREATED, reply)) => return reply,
            Ok((status, reply)) => format!("{status} {reply}"),
            Err(e) => e.to_string(),
        };
        assert!(Instant::now() < deadline, "POST {url} {body}: still {last}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until query's `GET /posts` equals the fold of the bus's log, with every comment
/// moderated, `posts` among the posts and at least `comments` comments; that page.
async fn settled(blog: &Blog, posts: &BTreeSet<String>, comments: usize) -> Value {
    let (bus, query) = (&blog.bus_api, blog.api("query"));
    let deadline = Instant::now() + PATIENCE;
    loop {
        let expected = fold(&bus.events().await);
        let shown = query.get("/posts").await.ok().map(|(_, page)| page);
        let complete = posts.iter().all(|id| expected.get(id).is_some())
            && comments_of(&expected).len() >= comments
            && moderated(&expected);
        if complete && shown.as_ref() == Some(&expected) {
            return expected;
        }
        if Instant::now() >= deadline {
            assert_eq!(shown, Some(expected), "query's GET /posts, then the fold");
            panic!("the log is incomplete or not moderated: {posts:?}, {comments} comments");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the writers had answered `201`: post ids, and how many comments.
#[derive(Default)]
struct Written {
    posts: Mutex<Vec<String>>,
    comments: AtomicUsize,
}

/// Writer `job`s taken in turn: every `1 + comments / posts`-th is a post through posts,
/// the others a comment through comments on a post already answered.
async fn write_load(posts_url: String, comments_url: String, written: Arc<Written>) {
    let (posts, comments) = load_size();
    let every = 1 + comments / posts;
    let next = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (posts_url, comments_url) = (posts_url.clone(), comments_url.clone());
            let (written, next) = (written.clone(), next.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                loop {
                    let job = next.fetch_add(1, Ordering::Relaxed);
                    if job >= posts + comments {
                        return;
                    }
                    if job.is_multiple_of(every) {
                        let body = json!({"title": format!("post {job}")});
                        let reply = post_until_created(&http, &posts_url, &body).await;
                        let id = reply["id"].as_str().expect("an id").to_string();
                        written.posts.lock().unwrap().push(id);
                    } else {
                        let post = loop {
                            let posts = written.posts.lock().unwrap().clone();
                            if !posts.is_empty() {
                                break posts[fastrand::usize(..posts.len())].clone();
                            }
                            tokio::task::yield_now().await;
                        };
                        let content = match job % 5 {
                            0 => format!("I like Orange juice ({job})"),
                            _ => format!("comment {job}"),
                        };
                        let url = format!("{comments_url}/posts/{post}/comments");
                        post_until_created(&http, &url, &json!({"content": content})).await;
                        written.comments.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("a writer panicked");
    }
}

/// SIGKILLs a random service and starts it again, every 50–250 ms, until `stop` is set
/// and at least `at_least` kills were done; the services as they run at the end.
async fn kill_at_random(
    specs: Vec<ServiceSpec>,
    mut services: Vec<ServiceProcess>,
    stop: Arc<AtomicBool>,
    at_least: usize,
) -> Vec<ServiceProcess> {
    let mut kills = 0;
    while kills < at_least || !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(fastrand::u64(50..250))).await;
        let victim = fastrand::usize(..services.len());
        services.remove(victim).kill();
        services.insert(victim, ServiceProcess::start_async(&specs[victim]).await);
        kills += 1;
    }
    eprintln!("{kills} services SIGKILLed and restarted");
    services
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_equals_a_fold_of_the_log_after_random_sigkills_of_the_services() {
    let dir = tempfile::tempdir().expect("tempdir");
    // query resumes from its checkpoint after each SIGKILL: deliveries repeated across
    // its crash must not show twice.
    let mut blog = Blog::start(dir.path(), "127.0.0.1:0", true).await;
    let written = Arc::new(Written::default());
    let stop = Arc::new(AtomicBool::new(false));
    let services = std::mem::take(&mut blog.services);
    let killer = tokio::spawn(kill_at_random(
        blog.specs.clone(),
        services,
        stop.clone(),
        10,
    ));
    let posts_url = format!("{}/posts", blog.spec("posts").url());
    write_load(posts_url, blog.spec("comments").url(), written.clone()).await;
    stop.store(true, Ordering::Relaxed);
    blog.services = killer.await.expect("the killer panicked");

    let posts: BTreeSet<String> = written.posts.lock().unwrap().iter().cloned().collect();
    let comments = written.comments.load(Ordering::Relaxed);
    let (want_posts, want_comments) = load_size();
    assert_eq!((posts.len(), comments), (want_posts, want_comments));
    let page = settled(&blog, &posts, comments).await;
    eprintln!(
        "{} posts, {} comments in query",
        page.as_object().map_or(0, Map::len),
        comments_of(&page).len()
    );
}

/// `POST /posts` through posts, which must answer `201` at once; the new post's id.
async fn create_post(http: &reqwest::Client, blog: &Blog, title: &str) -> String {
    let url = format!("{}/posts", blog.spec("posts").url());
    let (status, reply) = post_json(http, &url, &json!({"title": title}))
        .await
        .expect("posts answers");
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    reply["id"].as_str().expect("an id").to_string()
}

/// `POST /posts/POST/comments` through comments: the status and the reply.
async fn comment(
    http: &reqwest::Client,
    blog: &Blog,
    post: &str,
    content: &str,
) -> (StatusCode, Value) {
    let url = format!("{}/posts/{post}/comments", blog.spec("comments").url());
    post_json(http, &url, &json!({"content": content}))
        .await
        .expect("comments answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_during_a_bus_outage_reach_query_moderated_once_the_bus_is_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus_listen = free_loopback_addr();
    let mut blog = Blog::start(dir.path(), &bus_listen, false).await;
    let http = reqwest::Client::new();
    let mut posts = BTreeSet::new();
    let mut before = Vec::new();
    for n in 0..2 {
        let id = create_post(&http, &blog, &format!("before the outage {n}")).await;
        let url = format!("{}/posts/{id}/comments", blog.spec("comments").url());
        post_until_created(&http, &url, &json!({"content": "first!"})).await;
        posts.insert(id.clone());
        before.push(id);
    }
    settled(&blog, &posts, 2).await;

    blog.bus.take().expect("the bus runs").kill();
    let mut during = Vec::new();
    for n in 0..2 {
        let id = create_post(&http, &blog, &format!("during the outage {n}")).await;
        posts.insert(id.clone());
        during.push(id);
    }
    for (post, content) in before.iter().zip(["I like Orange juice", "still here"]) {
        let (status, reply) = comment(&http, &blog, post, content).await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
    }
    let (status, reply) = comment(&http, &blog, &during[0], "too soon").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{reply}");
    assert_eq!(reply["error"], "post_unverified", "{reply}");

    let (listen, bus_dir) = (bus_listen.clone(), dir.path().join("bus"));
    let bus = tokio::task::spawn_blocking(move || start_bus(&listen, &bus_dir))
        .await
        .expect("start the bus again");
    blog.bus = Some(bus);
    let page = settled(&blog, &posts, 4).await;
    assert_eq!(page.as_object().map(Map::len), Some(4), "{page}");
    assert_eq!(comments_of(&page).len(), 4, "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_published_in_the_course_shape_takes_our_comments_and_shows_in_query() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blog = Blog::start(dir.path(), "127.0.0.1:0", false).await;
    let course_post =
        json!({"type": "PostCreated", "data": {"id": "1a2b3c4d", "title": "From the course"}});
    let (status, reply) = blog
        .bus_api
        .publish(&course_post)
        .await
        .expect("the bus answers");
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    let http = reqwest::Client::new();
    for content in ["I like Orange juice", "Nice post"] {
        // Right after its post, and never a 404: comments waits for its replica.
        let (status, reply) = comment(&http, &blog, "1a2b3c4d", content).await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
    }
    let page = settled(&blog, &BTreeSet::from(["1a2b3c4d".to_string()]), 2).await;
    let post = &page["1a2b3c4d"];
    assert_eq!(post["title"], "From the course", "{page}");
    let statuses: Vec<_> = comments_of(&page)
        .iter()
        .map(|c| (c["content"].clone(), c["status"].clone()))
        .collect();
    assert_eq!(
        statuses,
        [
            (json!("I like Orange juice"), json!("rejected")),
            (json!("Nice post"), json!("approved"))
        ]
    );
}
