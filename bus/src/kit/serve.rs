//! Serving a router until shutdown, with a bounded drain; binding a port with an error that
//! names the service and the port.

use axum::Router;
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long open connections may go on once shutdown begins; then [`serve`] returns
/// without them. The bus daemon uses it too.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// How serving ended (a timed-out drain is logged too, so a service may ignore it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drain {
    /// Every connection closed within the drain deadline.
    Complete,
    /// Connections were still open at the deadline: they are no longer waited for, and end
    /// with the runtime (when the process exits).
    TimedOut,
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then stops accepting and
/// lets the requests in flight finish, for at most [`DRAIN_TIMEOUT`]. Past that it returns
/// anyway ([`Drain::TimedOut`]), so a stuck client cannot hold a shutdown up.
///
/// Every connection has `TCP_NODELAY`: the services exchange small requests and replies,
/// which Nagle's algorithm would hold back.
///
/// Connection timeouts (a header-read deadline, an idle timeout, a cap on connections) are
/// not set yet: they come with issue 8, here, around the listener.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<Drain> {
    serve_until(listener, router, shutdown.cancelled_owned(), DRAIN_TIMEOUT).await
}

/// [`serve`] until `stop` completes, with `drain` as the deadline. What must happen as
/// shutdown begins, before the drain, goes at the end of `stop`: the bus ends its event
/// streams there (they would otherwise hold their connections open until the deadline) and
/// begins stopping its deliveries, which then finish while the connections drain.
pub async fn serve_until(
    listener: TcpListener,
    router: Router,
    stop: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
) -> std::io::Result<Drain> {
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    let stopping = CancellationToken::new();
    let stopped = stopping.clone();
    let signal = async move {
        stop.await;
        stopped.cancel();
    };
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(signal)
        .into_future();
    let deadline = async move {
        stopping.cancelled().await;
        tokio::time::sleep(drain).await;
    };
    tokio::select! {
        served = served => served.map(|()| Drain::Complete),
        () = deadline => {
            tracing::warn!(timeout = ?drain, "connections still open: no longer waiting for them");
            Ok(Drain::TimedOut)
        }
    }
}

/// A port that could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("{service}: cannot listen on {addr} (port {port} taken or not allowed)", port = addr.port())]
pub struct BindError {
    /// The service that wanted the port (`bus`, `posts`…).
    pub service: String,
    /// The address asked for.
    pub addr: SocketAddr,
    /// What the system said.
    #[source]
    pub source: std::io::Error,
}

/// Binds `addr` for `service`; the error names both and the port.
pub async fn bind(service: &str, addr: SocketAddr) -> Result<TcpListener, BindError> {
    TcpListener::bind(addr).await.map_err(|source| BindError {
        service: service.into(),
        addr,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    #[tokio::test]
    async fn a_taken_port_is_named_with_the_service() {
        let taken = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = taken.local_addr().expect("addr");
        let error = bind("posts", addr).await.expect_err("the port is taken");
        let message = error.to_string();
        assert!(message.starts_with("posts: "), "{message}");
        assert!(message.contains(&addr.port().to_string()), "{message}");
    }

    #[tokio::test]
    async fn shutdown_waits_for_a_request_in_flight_then_stops() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (entered, mut in_handler) = tokio::sync::mpsc::channel::<()>(1);
        let release = CancellationToken::new();
        let gate = release.clone();
        let router = Router::new().route(
            "/slow",
            get(move || async move {
                let _ = entered.send(()).await;
                gate.cancelled().await;
                "done"
            }),
        );
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(serve(listener, router, shutdown.clone()));
        let request = tokio::spawn(fetch(format!("http://{addr}/slow")));
        in_handler
            .recv()
            .await
            .expect("the request reached the handler");
        shutdown.cancel();
        release.cancel();
        assert_eq!(request.await.expect("joined"), "done");
        let stopped = tokio::time::timeout(Duration::from_secs(10), server).await;
        let drain = stopped.expect("stops").expect("joined").expect("served");
        assert_eq!(drain, Drain::Complete);
    }

    #[tokio::test]
    async fn serve_returns_at_the_drain_deadline_despite_a_hung_request() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (entered, mut in_handler) = tokio::sync::mpsc::channel::<()>(1);
        let router = Router::new().route(
            "/hang",
            get(move || async move {
                let _ = entered.send(()).await;
                std::future::pending::<()>().await
            }),
        );
        let shutdown = CancellationToken::new();
        let drain = Duration::from_millis(50);
        let stop = shutdown.clone().cancelled_owned();
        let server = tokio::spawn(serve_until(listener, router, stop, drain));
        let _request = tokio::spawn(fetch(format!("http://{addr}/hang")));
        in_handler
            .recv()
            .await
            .expect("the request reached the handler");
        shutdown.cancel();
        let stopped = tokio::time::timeout(Duration::from_secs(10), server).await;
        let drain = stopped.expect("stops").expect("joined").expect("served");
        assert_eq!(drain, Drain::TimedOut);
    }

    /// What `stop` does after the signal runs before the drain: here it ends an endless
    /// response, so the drain completes long before its deadline.
    #[tokio::test]
    async fn the_end_of_stop_runs_before_the_drain() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let closing = CancellationToken::new();
        let streams = closing.clone();
        let router = Router::new().route(
            "/endless",
            get(move || {
                let closed = streams.clone().cancelled_owned();
                async move {
                    let chunks = futures_util::stream::repeat_with(|| {
                        Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"tick\n"))
                    });
                    let paced = futures_util::StreamExt::then(chunks, |chunk| async move {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        chunk
                    });
                    axum::body::Body::from_stream(futures_util::StreamExt::take_until(
                        paced, closed,
                    ))
                }
            }),
        );
        let shutdown = CancellationToken::new();
        let signal = shutdown.clone();
        let stop = async move {
            signal.cancelled().await;
            closing.cancel();
        };
        let server = tokio::spawn(serve_until(listener, router, stop, Duration::from_secs(60)));
        let answer = reqwest::get(format!("http://{addr}/endless"))
            .await
            .expect("GET");
        shutdown.cancel();
        answer.text().await.expect("the stream ends");
        let stopped = tokio::time::timeout(Duration::from_secs(10), server).await;
        let drain = stopped.expect("stops").expect("joined").expect("served");
        assert_eq!(drain, Drain::Complete);
    }

    async fn fetch(url: String) -> String {
        let answer = reqwest::get(url).await.expect("GET");
        answer.text().await.expect("a body")
    }
}
