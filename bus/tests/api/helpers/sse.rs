//! A reader of `GET /events/stream` that parses the event stream as a browser would.

use super::TestApp;
use bus::testkit::PATIENCE;
use futures_util::stream::{BoxStream, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// One Server-Sent Events message.
#[derive(Debug)]
pub(crate) struct SseMessage {
    /// The `id:` field.
    pub(crate) id: Option<String>,
    /// The `event:` field (the bus never sets one).
    pub(crate) event: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub(crate) data: String,
}

impl SseMessage {
    /// The seq in `id:`, checked against the envelope's.
    pub(crate) fn seq(&self) -> u64 {
        let id: u64 = self
            .id
            .as_deref()
            .expect("an id: line")
            .parse()
            .expect("a numeric id");
        assert_eq!(self.envelope()["seq"].as_u64(), Some(id), "id: is the seq");
        id
    }

    /// `data:` parsed.
    pub(crate) fn envelope(&self) -> Value {
        serde_json::from_str(&self.data).expect("data: is the JSON envelope")
    }
}

/// A reader of `GET /events/stream`, parsing the event stream as a browser would.
pub(crate) struct SseClient {
    body: BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buffer: Vec<u8>,
}

impl SseClient {
    /// Connects to `/events/stream?query`, with `Last-Event-ID` when given.
    pub(crate) async fn connect(app: &TestApp, query: &str, last_event_id: Option<&str>) -> Self {
        let mut request = app
            .request(Method::GET, &format!("/events/stream?{query}"))
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let answer = tokio::time::timeout(PATIENCE, request.send())
            .await
            .expect("the stream answers")
            .expect("GET /events/stream");
        assert_eq!(answer.status(), StatusCode::OK);
        let content_type = answer
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            content_type.starts_with("text/event-stream"),
            "content-type {content_type}"
        );
        Self {
            body: answer
                .bytes_stream()
                .map(|chunk| chunk.map(|b| b.to_vec()))
                .boxed(),
            buffer: Vec::new(),
        }
    }

    /// The next message (comments such as `: keepalive` are skipped).
    pub(crate) async fn next(&mut self) -> SseMessage {
        tokio::time::timeout(PATIENCE, self.next_message())
            .await
            .expect("an SSE message within the patience bound")
    }

    /// The next `n` messages.
    pub(crate) async fn take(&mut self, n: usize) -> Vec<SseMessage> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.next().await);
        }
        out
    }

    async fn next_message(&mut self) -> SseMessage {
        let mut id = None;
        let mut event = None;
        let mut data: Option<String> = None;
        loop {
            let line = self.next_line().await;
            if line.is_empty() {
                if let Some(data) = data.take() {
                    return SseMessage { id, event, data };
                }
                (id, event) = (None, None);
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((&line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value).to_string();
            match field {
                "id" => id = Some(value),
                "event" => event = Some(value),
                "data" => match &mut data {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(&value);
                    }
                    None => data = Some(value),
                },
                _ => {}
            }
        }
    }

    /// One line, ended by `\r\n`, `\n` or `\r` (the terminator is not returned).
    async fn next_line(&mut self) -> String {
        loop {
            if let Some(at) = self.buffer.iter().position(|b| matches!(b, b'\n' | b'\r')) {
                let crlf_may_follow = self.buffer[at] == b'\r' && at + 1 == self.buffer.len();
                if !crlf_may_follow {
                    let line = String::from_utf8(self.buffer[..at].to_vec()).expect("UTF-8");
                    let end = if self.buffer[at] == b'\r' && self.buffer.get(at + 1) == Some(&b'\n')
                    {
                        at + 2
                    } else {
                        at + 1
                    };
                    self.buffer.drain(..end);
                    return line;
                }
            }
            let chunk = self
                .body
                .next()
                .await
                .expect("the event stream ended")
                .expect("reading the event stream");
            self.buffer.extend_from_slice(&chunk);
        }
    }
}
