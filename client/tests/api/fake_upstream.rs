//! A fake upstream: an HTTP server on 127.0.0.1:0 that records every request it gets and
//! answers `202` with headers that pass through the gateway and some that must not; under
//! `/slow` it never answers.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::IntoResponse;
use axum::Router;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// What the fake upstream answers.
pub(crate) const BODY: &str = "{\"from\": \"upstream\"}";

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
}

impl FakeUpstream {
    pub(crate) async fn start() -> FakeUpstream {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let log = log.clone();
                async move { answer(&log, method, uri, headers, body).await }
            },
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeUpstream { url, seen }
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
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let target = uri
        .path_and_query()
        .map(ToString::to_string)
        .unwrap_or_default();
    let slow = target.starts_with("/slow");
    log.lock().expect("the log").push(Seen {
        method,
        target,
        headers,
        body,
    });
    if slow {
        std::future::pending::<()>().await;
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
}
