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
    struct Cursor {
        at: u64,
        opened: bool,
        done: bool,
    }
    let stream = futures_util::stream::unfold(
        Cursor {
            at: start,
            opened: false,
            done: false,
        },
        move |mut cursor| {
            let fetch = fetch.clone();
            async move {
                if cursor.done {
                    return None;
                }
                let at = cursor.at;
                let chunk = match tokio::task::spawn_blocking(move || fetch(at)).await {
                    Ok(Ok(chunk)) => chunk,
                    Ok(Err(e)) => return Some((Err(std::io::Error::other(e)), finished())),
                    Err(e) => return Some((Err(std::io::Error::other(e)), finished())),
                };
                let (events, next, last) = chunk;
                let mut out = BytesMut::with_capacity(events.len() * 256 + 2);
                for event in &events {
                    out.put_u8(if cursor.opened { b',' } else { b'[' });
                    cursor.opened = true;
                    out.put_slice(&event.json());
                }
                if last {
                    out.put_slice(if cursor.opened { b"]" } else { b"[]" });
                }
                cursor.at = next;
                cursor.done = last;
                Some((Ok::<Bytes, std::io::Error>(out.freeze()), cursor))
            }
        },
    );
    fn finished() -> Cursor {
        Cursor {
            at: 0,
            opened: true,
            done: true,
        }
    }
    // A reader still reading when the daemon shuts down is cut off, not waited for.
    Body::from_stream(stream.take_until(closing.cancelled_owned()))
}
