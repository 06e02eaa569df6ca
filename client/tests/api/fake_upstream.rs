//! A fake upstream: an HTTP server on 127.0.0.1:0 that records every request it gets and
//! answers `202` with headers that pass through the gateway and some that must not; under
//! `/slow` it never answers; under `/refuse` it answers `401`; under `/halves` it answers
//! [`HALVES`] in two chunks, the second once the test calls [`FakeUpstream::release`].

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures_util::StreamExt;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// What the fake upstream answers.
pub(crate) const BODY: &str = "{\"from\": \"upstream\"}";

/// What the fake upstream answers under `/halves`, the two halves together.
pub(crate) const HALVES: &str = "{\"first\": \"half\", \"second\": \"half\"}";

/// A request the fake upstream got.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: Method,
    /// Path and query, as received.
    pub(crate) target: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Seen {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The fake upstream, running until the test ends.
pub(crate) struct FakeUpstream {
    pub(crate) url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    second_half: Arc<Notify>,
}

impl FakeUpstream {
    pub(crate) async fn start() -> FakeUpstream {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let second_half = Arc::new(Notify::new());
        let (log, release) = (seen.clone(), second_half.clone());
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let (log, release) = (log.clone(), release.clone());
                async move { answer(&log, release, method, uri, headers, body).await }
            },
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeUpstream {
            url,
            seen,
            second_half,
        }
    }

    /// Lets the answer under `/halves` send its second half.
    pub(crate) fn release(&self) {
        self.second_half.notify_one();
    }

    /// The requests received so far.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("the log").clone()
    }

    /// The last request received (there must be one).
    pub(crate) fn last(&self) -> Seen {
        self.seen()
            .pop()
            .expect("a request reached the fake upstream")
    }
}

async fn answer(
    log: &Mutex<Vec<Seen>>,
    second_half: Arc<Notify>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = uri
        .path_and_query()
        .map(ToString::to_string)
        .unwrap_or_default();
    let slow = target.starts_with("/slow");
    let target_seen = target.clone();
    log.lock().expect("the log").push(Seen {
        method,
        target: target_seen,
        headers,
        body,
    });
    if slow {
        std::future::pending::<()>().await;
    }
    if target.starts_with("/refuse") {
        let refused = "{\"error\": \"unauthorized\"}";
        return (axum::http::StatusCode::UNAUTHORIZED, refused).into_response();
    }
    if target.starts_with("/halves") {
        return in_halves(second_half);
    }
    (
        axum::http::StatusCode::ACCEPTED,
        [
            ("content-type", "application/json"),
            ("location", "/posts/abc"),
            ("retry-after", "7"),
            ("minibus-seq", "42"),
            ("minibus-applied-seq", "41"),
            ("cache-control", "no-cache"),
            ("set-cookie", "upstream=1"),
            ("x-upstream-only", "1"),
        ],
        BODY,
    )
        .into_response()
}

/// [`HALVES`] in two chunks, the second once `second_half` is notified.
fn in_halves(second_half: Arc<Notify>) -> Response {
    let (first, second) = HALVES.split_at(HALVES.len() / 2);
    let first = futures_util::stream::once(async move { Ok::<_, Infallible>(first) });
    let second = futures_util::stream::once(async move {
        second_half.notified().await;
        Ok(second)
    });
    Body::from_stream(first.chain(second)).into_response()
}
