//! A JSON array of events streamed from the store chunk by chunk, so that memory stays
//! flat for any log size: the next chunk is read only when the client has taken the last.

use crate::daemon::store::{StoreError, StoredEvent};
use axum::body::Body;
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

/// Events per chunk read from the store.
pub(crate) const CHUNK_EVENTS: usize = 1_000;

/// One chunk: the events, the cursor to read the next chunk after, and whether this was the last.
pub(crate) type Chunk = (Vec<StoredEvent>, u64, bool);

/// Streams `[e1,e2,…]`, calling `fetch(cursor)` (on a blocking thread) for each chunk,
/// starting at `start`.
pub(crate) fn json_array<F>(start: u64, closing: CancellationToken, fetch: F) -> Body
where
    F: Fn(u64) -> Result<Chunk, StoreError> + Send + Sync + Clone + 'static,
{
    let stream = futures_util::stream::unfold(Streamed::after(start), move |mut streamed| {
        let fetch = fetch.clone();
        async move {
            if streamed.done {
                return None;
            }
            let at = streamed.at;
            let chunk = match tokio::task::spawn_blocking(move || fetch(at)).await {
                Ok(Ok(chunk)) => chunk,
                Ok(Err(e)) => return Some((Err(std::io::Error::other(e)), Streamed::failed())),
                Err(e) => return Some((Err(std::io::Error::other(e)), Streamed::failed())),
            };
            let bytes = streamed.write(chunk);
            Some((Ok::<Bytes, std::io::Error>(bytes), streamed))
        }
    });
    // A reader still reading when the daemon shuts down is cut off, not waited for.
    Body::from_stream(stream.take_until(closing.cancelled_owned()))
}

/// How far the array has been streamed.
struct Streamed {
    /// The cursor to fetch the next chunk after.
    at: u64,
    /// The opening `[` is out.
    opened: bool,
    /// The closing `]` is out (or the stream failed).
    done: bool,
}

impl Streamed {
    /// Nothing streamed yet; the first chunk is fetched after `start`.
    fn after(start: u64) -> Self {
        Self {
            at: start,
            opened: false,
            done: false,
        }
    }

    /// After a failed read: the stream ends with the error.
    fn failed() -> Self {
        Self {
            at: 0,
            opened: true,
            done: true,
        }
    }

    /// The array's text for one chunk: its events, then `]` after the last chunk.
    fn write(&mut self, (events, next, last): Chunk) -> Bytes {
        let mut out = BytesMut::with_capacity(events.len() * 256 + 2);
        for event in &events {
            out.put_u8(if self.opened { b',' } else { b'[' });
            self.opened = true;
            out.put_slice(&event.json());
        }
        if last {
            out.put_slice(if self.opened { b"]" } else { b"[]" });
        }
        self.at = next;
        self.done = last;
        out.freeze()
    }
}
