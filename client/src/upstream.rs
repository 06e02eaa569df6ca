//! The gateway's upstreams and the one HTTP client that calls them: which service answers
//! a route, which headers go there and come back, and what a failed call answers
//! (`502 upstream_unavailable`, `504 upstream_timeout`, each naming the service).

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderName, Method, StatusCode};
use bus::kit::{http_base_url, ApiError, ConfigError};
use std::sync::Arc;
use std::time::Duration;

/// How long connecting to an upstream may take: one that is down answers `502` this fast.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a whole call (not a stream) may take, its answer's body read, unless told
/// ([`crate::ClientService::with_call_timeout`]): longer than query's longest wait
/// (`wait_ms` up to 10 s), so that a long poll is not cut short.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// The request headers a call takes upstream (the rest, `Authorization` and cookies
/// included, stay at the gateway).
const REQUEST_HEADERS: [HeaderName; 3] = [
    header::CONTENT_TYPE,
    header::ACCEPT,
    HeaderName::from_static("last-event-id"),
];

/// The answer headers that come back from upstream unchanged.
const ANSWER_HEADERS: [HeaderName; 6] = [
    header::CONTENT_TYPE,
    header::RETRY_AFTER,
    header::LOCATION,
    header::CACHE_CONTROL,
    HeaderName::from_static("minibus-seq"),
    HeaderName::from_static("minibus-applied-seq"),
];

/// A service the gateway routes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Posts,
    Comments,
    Query,
    Bus,
}

impl Service {
    /// Its name, as errors give it (`"service": "comments"`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Service::Posts => "posts",
            Service::Comments => "comments",
            Service::Query => "query",
            Service::Bus => "bus",
        }
    }

    /// The path the service serves for the gateway's `path`: the bus's routes are under
    /// `/bus` at the gateway, the others at the same path.
    fn path(self, path_and_query: &str) -> &str {
        match self {
            Service::Bus => path_and_query
                .strip_prefix("/bus")
                .unwrap_or(path_and_query),
            _ => path_and_query,
        }
    }
}

/// Why the upstreams cannot be called.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// A base URL that is not `http://host…` (the gateway speaks plain HTTP to the
    /// services, as inside a cluster): the kit's rule, [`bus::kit::http_base_url`].
    #[error(transparent)]
    Url(#[from] ConfigError),
    /// The HTTP client did not start.
    #[error("the HTTP client did not start")]
    Client(#[from] reqwest::Error),
}

/// Where each service is, and the client that calls them. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Upstreams {
    http: reqwest::Client,
    bases: Arc<[String; 4]>,
    bus_token: Option<Arc<str>>,
    call_timeout: Duration,
}

impl Upstreams {
    /// The upstreams at these base URLs (posts, comments, query, bus), each checked, with
    /// [`CALL_TIMEOUT`] as the call timeout.
    pub(crate) fn new(
        bases: [(&'static str, &str); 4],
        bus_token: Option<&str>,
    ) -> Result<Self, UpstreamError> {
        let [posts, comments, query, bus] = bases.map(|(flag, url)| http_base_url(flag, url));
        // No proxy from the environment: the upstreams are the stack's own services, on
        // this machine or in the cluster.
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .build()?;
        Ok(Self {
            http,
            bases: Arc::new([posts?, comments?, query?, bus?]),
            bus_token: bus_token.map(Arc::from),
            call_timeout: CALL_TIMEOUT,
        })
    }

    /// These upstreams with `timeout` as the time a call may take.
    pub(crate) fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// How long a whole call may take (a stream: its answer's head).
    pub(crate) fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    /// A request to `service` for the gateway's `method` and `path_and_query`, with the
    /// headers that go upstream and `body`; the bus's calls carry its token.
    pub(crate) fn request(
        &self,
        service: Service,
        method: Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> reqwest::RequestBuilder {
        let base = &self.bases[service as usize];
        let url = format!("{base}{}", service.path(path_and_query));
        let mut request = self.http.request(method, url).body(body);
        for name in &REQUEST_HEADERS {
            if let Some(value) = headers.get(name) {
                request = request.header(name, value);
            }
        }
        match (&self.bus_token, service) {
            (Some(token), Service::Bus) => request.bearer_auth(token),
            _ => request,
        }
    }
}

/// The headers of an upstream's answer that the gateway's answer carries.
pub(crate) fn answer_headers(upstream: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for name in ANSWER_HEADERS {
        for value in upstream.get_all(&name) {
            headers.append(name.clone(), value.clone());
        }
    }
    headers
}

/// What the gateway answers when a call to `service` failed: `502 upstream_unavailable`
/// when it could not be reached, `504 upstream_timeout` when it did not answer in time,
/// `502 upstream_failed` when its answer could not be read (not HTTP, or cut off before
/// its head).
pub(crate) fn failed(service: Service, error: &reqwest::Error) -> ApiError {
    let name = service.name();
    // The whole chain: reqwest's own message leaves out why (refused, no such host, …).
    tracing::warn!(service = name, error = %bus::kit::error_chain(error), "an upstream call failed");
    if error.is_connect() {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "upstream_unavailable",
            format!("the {name} service is unavailable"),
        )
        .with("service", name)
    } else if error.is_timeout() {
        timed_out(service)
    } else {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "upstream_failed",
            format!("the {name} service's answer could not be read"),
        )
        .with("service", name)
    }
}

/// `502 upstream_refused_token`: the bus answered `401` to the gateway's token, which is
/// wrong (or missing); logged with the flag to fix.
pub(crate) fn refused_token() -> ApiError {
    tracing::error!(
        flag = "--bus-token",
        variable = "MINIBUS_TOKEN",
        "the bus refused the gateway's token: check --bus-token (MINIBUS_TOKEN)"
    );
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "upstream_refused_token",
        "the bus refused the gateway's token",
    )
    .with("service", Service::Bus.name())
}

/// `504 upstream_timeout` naming `service`.
pub(crate) fn timed_out(service: Service) -> ApiError {
    let name = service.name();
    ApiError::new(
        StatusCode::GATEWAY_TIMEOUT,
        "upstream_timeout",
        format!("the {name} service did not answer in time"),
    )
    .with("service", name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bus_is_asked_without_the_gateways_prefix_and_the_others_at_the_same_path() {
        assert_eq!(Service::Bus.path("/bus/events?after=1"), "/events?after=1");
        assert_eq!(
            Service::Bus.path("/bus/subscriptions/q/pause"),
            "/subscriptions/q/pause"
        );
        assert_eq!(Service::Query.path("/posts?min_seq=2"), "/posts?min_seq=2");
        assert_eq!(
            Service::Comments.path("/posts/a/comments"),
            "/posts/a/comments"
        );
    }

    #[test]
    fn a_refused_url_names_its_flag() {
        let bases = [
            ("posts-url", "http://127.0.0.1:4000"),
            ("comments-url", "comments"),
            ("query-url", "http://127.0.0.1:4002"),
            ("bus-url", "http://127.0.0.1:4005"),
        ];
        let error = Upstreams::new(bases, None).expect_err("a refused URL");
        assert!(error.to_string().contains("--comments-url"), "{error}");
    }
}
