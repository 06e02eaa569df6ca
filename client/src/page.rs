//! The page: `GET /` answers the blog's page, embedded in the binary (no CDN, no build
//! step), so that it works offline.

use axum::response::Html;
use axum::routing::get;
use axum::Router;

/// The page's HTML.
const INDEX_HTML: &str = include_str!("../assets/index.html");

/// The page's routes: `GET /`.
pub(crate) fn routes() -> Router {
    Router::new().route("/", get(index))
}

/// `GET /`: the page.
async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}
