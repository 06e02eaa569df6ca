//! The gateway's state and its two ways of forwarding, both passing the answer on chunk by
//! chunk as it comes: [`Gateway::call`], which must end within the upstreams' call timeout
//! ([`crate::CALL_TIMEOUT`] unless told), and [`Gateway::stream`], whose body has no time
//! limit and ends when the upstream ends it or the gateway stops.

use crate::upstream::{answer_headers, failed, refused_token, timed_out, Service, Upstreams};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bus::kit::{ApiError, BodyBytes};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

/// What every route shares: the upstreams, whether the subscription actions are forwarded,
/// and the gateway's shutdown (which ends the streams it passes on). Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Gateway {
    pub(crate) upstreams: Upstreams,
    pub(crate) admin_actions: bool,
    pub(crate) shutdown: CancellationToken,
}

/// The head of the gateway's answer for the upstream's `answer`: its status and the
/// headers that pass; or, when the bus refused the gateway's own token, `502
/// upstream_refused_token` (the browser holds no token: passing the `401` on would blame
/// it).
fn head(service: Service, answer: &reqwest::Response) -> Result<(StatusCode, HeaderMap), ApiError> {
    let status = answer.status();
    if service == Service::Bus && status == StatusCode::UNAUTHORIZED {
        return Err(refused_token());
    }
    Ok((status, answer_headers(answer.headers())))
}

/// The parts of a request that a forwarded call takes: method, path and query as received,
/// headers, and the body (within the router's body limit, else `413 body_too_large`). A
/// path with a `.` or `..` segment (`%2e%2e` too) is `404 not_found`: the upstream's URL
/// would resolve it (as URLs do, percent-encoded or not) to a path outside its route.
#[derive(Debug)]
pub(crate) struct Incoming {
    method: Method,
    path_and_query: String,
    headers: HeaderMap,
    body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for Incoming {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if has_dot_segment(request.uri().path()) {
            return Err(ApiError::not_found(
                "no route for a path with a . or .. segment",
            ));
        }
        let method = request.method().clone();
        let path_and_query = request
            .uri()
            .path_and_query()
            .map_or_else(|| request.uri().path().to_string(), |p| p.to_string());
        let headers = request.headers().clone();
        let BodyBytes(body) = BodyBytes::from_request(request, state).await?;
        Ok(Self {
            method,
            path_and_query,
            headers,
            body,
        })
    }
}

/// Whether a segment of `path` is `.` or `..` once percent-decoded: a URL resolves those
/// (`%2e` counts as a dot; WHATWG URL, "path state").
fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| {
        let dots = segment.to_ascii_lowercase().replace("%2e", ".");
        dots == "." || dots == ".."
    })
}

impl Incoming {
    /// The request's headers.
    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The request's path, without its query.
    pub(crate) fn path(&self) -> &str {
        let end = self.path_and_query.find('?');
        &self.path_and_query[..end.unwrap_or(self.path_and_query.len())]
    }

    /// The request's body.
    pub(crate) fn body(&self) -> &Bytes {
        &self.body
    }

    /// Whether the body is declared `application/json` (parameters such as `charset`
    /// allowed).
    pub(crate) fn is_json(&self) -> bool {
        let declared = self.headers.get(header::CONTENT_TYPE);
        let declared = declared.and_then(|v| v.to_str().ok()).unwrap_or_default();
        let essence = declared.split(';').next().unwrap_or_default().trim();
        essence.eq_ignore_ascii_case("application/json")
    }
}

impl Gateway {
    /// Forwards `incoming` to `service` and answers with the upstream's status, the
    /// headers that pass through and its body, or a `502`/`504` naming the service. The
    /// whole call, body included, must end within the upstreams' call timeout; the body is
    /// passed on as it comes (never held whole: a read of the bus's whole log can be
    /// large), so an upstream that breaks off mid-body ends the answer there. The gateway's
    /// shutdown lets it finish (within the drain): cut short, it would end cleanly and
    /// look complete.
    pub(crate) async fn call(&self, service: Service, incoming: Incoming) -> Response {
        let timeout = self.upstreams.call_timeout();
        let request = self.request(service, incoming).timeout(timeout);
        match request.send().await {
            Ok(answer) => match head(service, &answer) {
                Ok((status, headers)) => {
                    (status, headers, Body::from_stream(answer.bytes_stream())).into_response()
                }
                Err(refused) => refused.into_response(),
            },
            Err(e) => failed(service, &e).into_response(),
        }
    }

    /// Forwards `incoming` to `service` and passes its answer on as it comes, unbuffered:
    /// the answer's head within the upstreams' call timeout, its body with no time limit,
    /// until the upstream ends it or the gateway shuts down (so that an endless stream
    /// does not hold the shutdown up).
    pub(crate) async fn stream(&self, service: Service, incoming: Incoming) -> Response {
        let request = self.request(service, incoming).send();
        let answer = match tokio::time::timeout(self.upstreams.call_timeout(), request).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => return failed(service, &e).into_response(),
            Err(_elapsed) => return timed_out(service).into_response(),
        };
        match head(service, &answer) {
            Ok((status, headers)) => {
                let until = self.shutdown.clone().cancelled_owned();
                let chunks = answer.bytes_stream().take_until(until);
                (status, headers, Body::from_stream(chunks)).into_response()
            }
            Err(refused) => refused.into_response(),
        }
    }

    fn request(&self, service: Service, incoming: Incoming) -> reqwest::RequestBuilder {
        tracing::debug!(service = service.name(), path = %incoming.path_and_query, "forwarding");
        self.upstreams.request(
            service,
            incoming.method,
            &incoming.path_and_query,
            &incoming.headers,
            incoming.body,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_are_found_percent_encoded_or_not() {
        for dotted in [
            "/posts/../comments",
            "/posts/%2e%2e/comments",
            "/posts/%2E./comments",
            "/posts/.%2e",
            "/bus/subscriptions/.",
            "/bus/subscriptions/%2E/pause",
        ] {
            assert!(has_dot_segment(dotted), "{dotted}");
        }
        for plain in [
            "/posts/a.b/comments",
            "/posts/.../comments",
            "/posts/..%2F/comments",
            "/posts/%2e%2e%2e",
            "/bus/subscriptions/query-1.v2",
        ] {
            assert!(!has_dot_segment(plain), "{plain}");
        }
    }
}
