//! The time limits of every service's connections, so that a client that trickles its
//! request, stalls its body or holds a connection idle cannot hold a descriptor forever.

use axum::body::Body;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// How long a client has to send a request's head (request line and headers), from when
/// the connection waits for it. hyper starts this timer whenever a connection waits for a
/// request, so it also closes an idle keep-alive connection: one that sends no new request
/// for this long is closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a request body may go without a byte while a handler reads it; then the read
/// fails (the handler answers 400 and the connection is closed). A handler that is busy
/// and not reading is not timed.
pub const BODY_PROGRESS_TIMEOUT: Duration = Duration::from_secs(30);

/// The time limits of a server's connections ([`ConnectionTimeouts::DEFAULT`] in services;
/// tests shorten them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionTimeouts {
    /// Reading a request's head, and an idle keep-alive connection ([`HEADER_READ_TIMEOUT`]).
    pub header_read: Duration,
    /// A request body that stops making progress ([`BODY_PROGRESS_TIMEOUT`]).
    pub body_progress: Duration,
}

impl ConnectionTimeouts {
    /// The limits every service serves with.
    pub const DEFAULT: Self = Self {
        header_read: HEADER_READ_TIMEOUT,
        body_progress: BODY_PROGRESS_TIMEOUT,
    };
}

/// A request body that fails when no frame arrives for `limit` while it is being read.
pub(super) struct ProgressBody<B> {
    inner: B,
    limit: Duration,
    /// Armed when a read finds nothing, disarmed by the next frame.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<B> ProgressBody<B>
where
    B: HttpBody<Data = axum::body::Bytes> + Send + Unpin + 'static,
    B::Error: Into<axum::BoxError>,
{
    /// `inner` as an axum body with the progress limit.
    pub(super) fn wrap(inner: B, limit: Duration) -> Body {
        Body::new(Self {
            inner,
            limit,
            stalled: None,
        })
    }
}

/// The error a stalled body ends with.
#[derive(Debug, thiserror::Error)]
#[error("no byte of the request body for {0:?}")]
struct BodyStalled(Duration);

impl<B> HttpBody for ProgressBody<B>
where
    B: HttpBody<Data = axum::body::Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = axum::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.stalled = None;
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let limit = this.limit;
                let stalled = this
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                match stalled.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(BodyStalled(limit).into()))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
