//! The blog page: its assets (`client/assets/`: HTML, CSS and JavaScript modules, no build
//! step, nothing fetched from elsewhere) embedded in the binary and served from memory,
//! each with its `Content-Type`, an `ETag` (a hash of its bytes) and `Cache-Control:
//! no-cache`, so that a browser revalidates and gets `304 Not Modified` while the binary
//! is the same, and the new page as soon as it is not; and a `Content-Security-Policy`
//! that lets the page load and call nothing but its own origin.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bus::kit::ApiError;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::LazyLock;

/// One embedded file: its name under `/assets/`, its type, its bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// Embeds `client/assets/<name>` with its content type.
macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!("../assets/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the page; `index.html` is also served at `/`.
const ASSETS: [Asset; 9] = [
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("validate.js", JS),
    asset!("readside.js", JS),
    asset!("posts.js", JS),
    asset!("eventlog.js", JS),
    asset!("subscribers.js", JS),
];

/// Each asset's `ETag`, in [`ASSETS`] order: computed once, from the bytes.
static ETAGS: LazyLock<Vec<HeaderValue>> =
    LazyLock::new(|| ASSETS.iter().map(|asset| etag(asset.bytes)).collect());

/// What the page may load and call: its own origin only (its assets, the gateway's routes
/// and event stream), plus the empty `data:` favicon `index.html` names so that the
/// browser does not ask for `/favicon.ico`. No inline script or style: the page has none.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The page's routes: `GET /` (the page) and `GET /assets/{name}`.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|headers: HeaderMap| async move { serve("index.html", &headers) }))
        .route(
            "/assets/{name}",
            get(|Path(name): Path<String>, headers: HeaderMap| async move {
                serve(&name, &headers)
            }),
        )
}

/// The asset `name`, or `304` when the browser's copy is current, or a JSON `404`.
fn serve(name: &str, headers: &HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|asset| asset.name == name) else {
        return ApiError::not_found(format!("no asset {}", bus::kit::quote(name))).into_response();
    };
    let (asset, etag) = (&ASSETS[index], &ETAGS[index]);
    let cache = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
    ];
    if is_current(headers, etag) {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    let content_type = [(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    )];
    (cache, content_type, asset.bytes).into_response()
}

/// Whether `If-None-Match` names `etag` (or is `*`).
fn is_current(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let Some(wanted) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let etag = etag.to_str().unwrap_or_default();
    wanted
        .split(',')
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

/// A strong `ETag` from the bytes: the same for the same file within one binary (its
/// assets cannot change without a new one). `DefaultHasher`'s algorithm may change with
/// the Rust release, so two builds may tag the same file differently: a browser then
/// downloads it again once, which is harmless.
fn etag(bytes: &[u8]) -> HeaderValue {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    let tag = format!("\"{:016x}\"", hasher.finish());
    HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_etag_names_the_bytes() {
        assert_eq!(etag(b"page"), etag(b"page"));
        assert_ne!(etag(b"page"), etag(b"page 2"));
    }

    #[test]
    fn if_none_match_is_matched_as_a_list_with_weak_tags() {
        let tag = etag(b"page");
        let mut headers = HeaderMap::new();
        assert!(!is_current(&headers, &tag));
        let list = format!("\"other\", W/{}", tag.to_str().unwrap());
        headers.insert(header::IF_NONE_MATCH, list.parse().unwrap());
        assert!(is_current(&headers, &tag));
        headers.insert(header::IF_NONE_MATCH, "\"other\"".parse().unwrap());
        assert!(!is_current(&headers, &tag));
    }

    #[test]
    fn every_asset_the_page_links_is_embedded() {
        let page = std::str::from_utf8(ASSETS[0].bytes).unwrap();
        for linked in page.split("/assets/").skip(1) {
            let name = &linked[..linked.find('"').unwrap()];
            assert!(
                ASSETS.iter().any(|a| a.name == name),
                "{name} is not embedded"
            );
        }
    }
}
