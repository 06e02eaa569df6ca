//! Which requests may trigger a subscription action: a browser sends a "simple" cross-site
//! `POST` (no body, or `text/plain`) without a CORS preflight, so any page the user visits
//! could pause or rewind the stack's subscriptions through a gateway on `localhost`. Such a
//! request carries `Sec-Fetch-Site: cross-site` (or `same-site`), or an `Origin` that is not
//! the gateway's own; a request with neither (curl, the CLI) is not a browser's and passes.

use axum::http::{header, HeaderMap, StatusCode};
use bus::kit::ApiError;

/// `403 cross_origin_refused` if `headers` are those of a request another site's page
/// made; `None` if the request is the gateway's own page's, or no browser's.
pub(crate) fn refusal(headers: &HeaderMap) -> Option<ApiError> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let fetch_site = text(header::HeaderName::from_static("sec-fetch-site"));
    let from_elsewhere = matches!(fetch_site, Some("cross-site" | "same-site"));
    let foreign_origin = headers.contains_key(header::ORIGIN)
        && !origin_is_host(text(header::ORIGIN), text(header::HOST));
    (from_elsewhere || foreign_origin).then(refused)
}

/// Whether `origin` (`http://host:port`) names the same host and port as `host`.
fn origin_is_host(origin: Option<&str>, host: Option<&str>) -> bool {
    let authority = origin.and_then(|o| o.strip_prefix("http://").or(o.strip_prefix("https://")));
    match (authority, host) {
        (Some(authority), Some(host)) => authority.eq_ignore_ascii_case(host),
        _ => false,
    }
}

/// `403 cross_origin_refused`.
fn refused() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "cross_origin_refused",
        "subscription actions are taken only from the gateway's own page (or without a browser)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().expect("a header value"));
        }
        headers
    }

    #[test]
    fn the_gateways_own_page_and_a_request_without_a_browser_pass() {
        for passing in [
            headers(&[("host", "127.0.0.1:3000")]),
            headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3000"),
            ]),
            headers(&[("host", "posts.com"), ("origin", "http://Posts.com")]),
            headers(&[
                ("host", "localhost:3000"),
                ("sec-fetch-site", "same-origin"),
            ]),
            headers(&[("host", "localhost:3000"), ("sec-fetch-site", "none")]),
        ] {
            assert!(refusal(&passing).is_none(), "{passing:?}");
        }
    }

    #[test]
    fn another_sites_request_is_refused() {
        for refused in [
            headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://evil.example"),
            ]),
            headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3001"),
            ]),
            headers(&[("host", "127.0.0.1:3000"), ("origin", "null")]),
            headers(&[("origin", "http://127.0.0.1:3000")]),
            headers(&[("host", "localhost:3000"), ("sec-fetch-site", "cross-site")]),
            headers(&[("host", "localhost:3000"), ("sec-fetch-site", "same-site")]),
        ] {
            let error = refusal(&refused).unwrap_or_else(|| panic!("{refused:?} passed"));
            assert_eq!(
                (error.status(), error.code()),
                (StatusCode::FORBIDDEN, "cross_origin_refused")
            );
        }
    }
}
