//! Serving a router until shutdown, with a bounded drain and the connections' time limits
//! ([`ConnectionTimeouts`]); binding a port with an error that names the service and the
//! port.

use super::timeouts::{ConnectionTimeouts, ProgressBody};
use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
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
/// Every connection has `TCP_NODELAY` (the services exchange small requests and replies,
/// which Nagle's algorithm would hold back) and the limits of
/// [`ConnectionTimeouts::DEFAULT`]: a request head within 30 s (an idle keep-alive
/// connection is closed after 30 s), no 30 s without a byte of a body being read.
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
    serve_with(listener, router, stop, drain, ConnectionTimeouts::DEFAULT).await
}

/// [`serve_until`] with the connections' time limits given (tests shorten them).
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    stop: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
    timeouts: ConnectionTimeouts,
) -> std::io::Result<Drain> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let tcp = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let connection = http.serve_connection(TokioIo::new(tcp), service(&router, timeouts));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => Ok(Drain::Complete),
        () = tokio::time::sleep(drain) => {
            tracing::warn!(timeout = ?drain, "connections still open: no longer waiting for them");
            Ok(Drain::TimedOut)
        }
    }
}

/// `router` as one connection's service: each request body with the progress limit.
fn service(
    router: &Router,
    timeouts: ConnectionTimeouts,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Future + Send,
> + Clone {
    let router = router.clone();
    hyper::service::service_fn(move |request: Request<Incoming>| {
        let request = request.map(|body| ProgressBody::wrap(body, timeouts.body_progress));
        tower::ServiceExt::oneshot(router.clone(), request)
    })
}

/// An accept that failed: a connection that died before it was accepted is skipped; out of
/// descriptors (or another error of the listener), waits a moment so as not to spin.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %error, "cannot accept a connection");
    tokio::time::sleep(Duration::from_secs(1)).await;
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

    /// Short limits, so the tests see them act without waiting 30 s.
    const SHORT: ConnectionTimeouts = ConnectionTimeouts {
        header_read: Duration::from_millis(200),
        body_progress: Duration::from_millis(200),
    };

    /// A server with [`SHORT`] limits: `GET /ok`, and `POST /echo` that reads its body.
    async fn short_limits_server() -> (SocketAddr, CancellationToken) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let router = Router::new().route("/ok", get(|| async { "ok" })).route(
            "/echo",
            axum::routing::post(|body: String| async move { body }),
        );
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone().cancelled_owned();
        tokio::spawn(serve_with(
            listener,
            router,
            stop,
            Duration::from_secs(1),
            SHORT,
        ));
        (addr, shutdown)
    }

    /// Reads until the server closes the connection (end of stream or a reset), at most
    /// 10 s; what it sent.
    async fn until_closed(tcp: &mut tokio::net::TcpStream) -> String {
        use tokio::io::AsyncReadExt;
        let mut got = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), async {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = tcp.read(&mut buf).await {
                got.extend_from_slice(&buf[..n]);
            }
        });
        read.await.expect("the server closes the connection");
        String::from_utf8_lossy(&got).into_owned()
    }

    #[tokio::test]
    async fn a_client_that_trickles_its_headers_is_cut_off() {
        use tokio::io::AsyncWriteExt;
        let (addr, _shutdown) = short_limits_server().await;
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let trickle = async {
            tcp.write_all(b"GET /ok HTTP/1.1\r\n").await?;
            for i in 0..200 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                tcp.write_all(format!("x-{i}: y\r\n").as_bytes()).await?;
            }
            std::io::Result::Ok(())
        };
        let trickled = trickle.await;
        // 200 headers at 20 ms (4 s) outlast the 200 ms limit: a write fails, or the server
        // has closed its side by the time the trickle is done.
        let answer = until_closed(&mut tcp).await;
        assert!(trickled.is_err() || !answer.contains("200 OK"), "{answer}");
        assert!(!answer.contains("200 OK"), "never served: {answer}");
    }

    #[tokio::test]
    async fn an_idle_keep_alive_connection_is_closed() {
        use tokio::io::AsyncWriteExt;
        let (addr, _shutdown) = short_limits_server().await;
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tcp.write_all(b"GET /ok HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .expect("a request");
        let answer = until_closed(&mut tcp).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(
            !answer.to_ascii_lowercase().contains("connection: close"),
            "{answer}"
        );
    }

    #[tokio::test]
    async fn a_body_that_stops_arriving_is_cut_off() {
        use tokio::io::AsyncWriteExt;
        let (addr, _shutdown) = short_limits_server().await;
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tcp.write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nten bytes.")
            .await
            .expect("a request and a tenth of its body");
        let answer = until_closed(&mut tcp).await;
        assert!(!answer.contains("200 OK"), "{answer}");
    }

    async fn fetch(url: String) -> String {
        let answer = reqwest::get(url).await.expect("GET");
        answer.text().await.expect("a body")
    }
}
