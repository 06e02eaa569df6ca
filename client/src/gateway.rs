//! The gateway's state and its two ways of forwarding, both passing the answer on chunk by
//! chunk as it comes: [`Gateway::call`], which must end within [`CALL_TIMEOUT`], and
//! [`Gateway::stream`], whose body has no time limit and ends when the upstream ends it
//! or the gateway stops.

use crate::upstream::{answer_headers, failed, timed_out, Service, Upstreams, CALL_TIMEOUT};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method};
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

/// The parts of a request that a forwarded call takes: method, path and query as received,
/// headers, and the body (within the router's body limit, else `413 body_too_large`).
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

impl Gateway {
    /// Forwards `incoming` to `service` and answers with the upstream's status, the
    /// headers that pass through and its body, or a `502`/`504` naming the service. The
    /// whole call, body included, must end within [`CALL_TIMEOUT`]; the body is passed on
    /// as it comes (never held whole: a read of the bus's whole log can be large), so an
    /// upstream that breaks off mid-body ends the answer there.
    pub(crate) async fn call(&self, service: Service, incoming: Incoming) -> Response {
        let request = self.request(service, incoming).timeout(CALL_TIMEOUT);
        match request.send().await {
            Ok(answer) => self.pass_on(answer),
            Err(e) => failed(service, &e).into_response(),
        }
    }

    /// Forwards `incoming` to `service` and passes its answer on as it comes, unbuffered:
    /// the answer's head within [`CALL_TIMEOUT`], its body with no time limit, until the
    /// upstream ends it or the gateway shuts down.
    pub(crate) async fn stream(&self, service: Service, incoming: Incoming) -> Response {
        let request = self.request(service, incoming).send();
        match tokio::time::timeout(CALL_TIMEOUT, request).await {
            Ok(Ok(answer)) => self.pass_on(answer),
            Ok(Err(e)) => failed(service, &e).into_response(),
            Err(_elapsed) => timed_out(service).into_response(),
        }
    }

    /// The upstream's `answer` as the gateway's: its status, the headers that pass, and
    /// its body chunk by chunk, until it ends or the gateway shuts down (so that a stream
    /// does not hold the shutdown up).
    fn pass_on(&self, answer: reqwest::Response) -> Response {
        let status = answer.status();
        let headers = answer_headers(answer.headers());
        let chunks = answer
            .bytes_stream()
            .take_until(self.shutdown.clone().cancelled_owned());
        (status, headers, Body::from_stream(chunks)).into_response()
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
