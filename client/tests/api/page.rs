//! The page's assets as the gateway serves them: `GET /` and `GET /assets/{name}` with their
//! content types, an `ETag` a browser revalidates with (`304`), `Cache-Control: no-cache`, a
//! `Content-Security-Policy` that keeps the page to its own origin, a
//! JSON `404` for an unknown asset, and nothing in them that points off the machine; each
//! request traced like the gateway's other routes.

use crate::helpers::TestGateway;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Every file of the page, with the type it must be served as.
const ASSETS: [(&str, &str); 9] = [
    ("/", "text/html"),
    ("/assets/style.css", "text/css"),
    ("/assets/app.js", "text/javascript"),
    ("/assets/api.js", "text/javascript"),
    ("/assets/validate.js", "text/javascript"),
    ("/assets/readside.js", "text/javascript"),
    ("/assets/posts.js", "text/javascript"),
    ("/assets/eventlog.js", "text/javascript"),
    ("/assets/subscribers.js", "text/javascript"),
];

#[tokio::test]
async fn the_page_is_served_at_the_root() {
    let gateway = TestGateway::start_with(|_| {}).await;
    let answer = gateway
        .http()
        .get(gateway.at("/"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(answer.status(), 200);
    let kind = answer.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(kind.starts_with("text/html"), "{kind}");
    let page = answer.text().await.expect("a body");
    assert!(page.contains("<html"), "{page}");
    gateway.stop().await;
}

#[tokio::test]
async fn every_asset_has_its_type_and_an_etag_that_revalidates_to_304() {
    let gateway = TestGateway::start_with(|_| {}).await;
    for (path, kind) in ASSETS {
        let answer = gateway.http().get(gateway.at(path)).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{path}");
        let header = |name: &str| answer.headers()[name].to_str().unwrap().to_string();
        assert!(header("content-type").starts_with(kind), "{path}");
        assert_eq!(header("cache-control"), "no-cache", "{path}");
        let policy = header("content-security-policy");
        assert!(
            policy.starts_with("default-src 'self';"),
            "{path}: {policy}"
        );
        assert!(!policy.contains("unsafe"), "{path}: {policy}");
        let etag = header("etag");
        let body = answer.text().await.unwrap();
        assert!(!body.is_empty(), "{path}");
        for off_machine in ["http:", "https:", "//cdn", "@import"] {
            assert!(!body.contains(off_machine), "{path} holds {off_machine:?}");
        }
        let again = gateway
            .http()
            .get(gateway.at(path))
            .header("if-none-match", &etag);
        let again = again.send().await.unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.headers()["etag"].to_str().unwrap(), etag, "{path}");
        assert!(again.text().await.unwrap().is_empty(), "{path}");
        let stale = gateway
            .http()
            .get(gateway.at(path))
            .header("if-none-match", "\"old\"");
        assert_eq!(stale.send().await.unwrap().status(), 200, "{path}");
    }
    gateway.stop().await;
}

#[tokio::test]
async fn an_unknown_asset_is_a_json_404() {
    let gateway = TestGateway::start_with(|_| {}).await;
    for path in ["/assets/nope.js", "/assets/..%2FCargo.toml", "/assets/"] {
        let answer = gateway.http().get(gateway.at(path)).send().await.unwrap();
        assert_eq!(answer.status(), 404, "{path}");
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["error"], "not_found", "{path}: {body}");
    }
    gateway.stop().await;
}

/// A tracing subscriber that counts the spans named `request` (the kit's `TraceLayer`
/// opens one for each request it traces).
#[derive(Default)]
struct RequestSpans {
    requests: AtomicU64,
    ids: AtomicU64,
}

impl RequestSpans {
    fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

impl tracing::Subscriber for RequestSpans {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        if span.metadata().name() == "request" {
            self.requests.fetch_add(1, Ordering::SeqCst);
        }
        tracing::span::Id::from_u64(self.ids.fetch_add(1, Ordering::SeqCst) + 1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test(flavor = "current_thread")]
async fn the_page_is_traced_like_every_route() {
    let spans = Arc::new(RequestSpans::default());
    // This thread's subscriber: the gateway's tasks run on it too (one-thread runtime).
    let _guard = tracing::subscriber::set_default(spans.clone());
    let gateway = TestGateway::start_with(|_| {}).await;
    let before = spans.requests();
    for path in ["/", "/assets/app.js", "/assets/nope.js"] {
        gateway.http().get(gateway.at(path)).send().await.unwrap();
    }
    assert_eq!(spans.requests() - before, 3, "requests traced");
    gateway.stop().await;
}
