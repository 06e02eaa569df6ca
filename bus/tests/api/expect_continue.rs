//! `Expect: 100-continue` with a `Content-Length` over `--max-body-bytes` is answered `413
//! body_too_large` at once, not `100 Continue`; one within the limit is let in.

use crate::helpers::{spawn_app_with, TestApp};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MAX_BODY: usize = 64 * 1024;
/// How long the bus may take to answer the headers.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

async fn small_bus() -> TestApp {
    spawn_app_with(|c| {
        c.max_event_bytes = MAX_BODY;
        c.max_body_bytes = MAX_BODY;
    })
    .await
}

/// Sends `method path`'s headers only, declaring `length` bytes and `Expect:
/// 100-continue`; the head of the first answer (up to its blank line).
async fn first_answer_to_headers(app: &TestApp, method: &str, path: &str, length: usize) -> String {
    let address = app.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\nExpect: 100-continue\r\n\r\n"
    );
    stream
        .write_all(head.as_bytes())
        .await
        .expect("send the headers");
    let mut answer = Vec::new();
    let read = async {
        let mut buffer = [0u8; 4096];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buffer).await.expect("read the answer");
            assert!(n > 0, "the bus closed without answering");
            answer.extend_from_slice(&buffer[..n]);
        }
    };
    tokio::time::timeout(ANSWER_WITHIN, read)
        .await
        .expect("an answer to the headers alone");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn an_oversized_declared_body_is_refused_before_it_is_sent() {
    let app = small_bus().await;
    for (method, path) in [("POST", "/events"), ("PUT", "/subscriptions/s")] {
        let answer = first_answer_to_headers(&app, method, path, MAX_BODY + 1).await;
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "{method} {path}: {answer}"
        );
    }
    // Without `Expect`, the same answer and code.
    let (status, body) = app
        .publish_raw(vec![b' '; MAX_BODY + 1], "application/json")
        .await;
    assert_eq!(status.as_u16(), 413, "{body}");
    assert_eq!(body["error"], "body_too_large");
    assert_eq!(app.head().await, 0);
}

#[tokio::test]
async fn a_body_within_the_limit_is_asked_for() {
    let app = small_bus().await;
    let answer = first_answer_to_headers(&app, "POST", "/events", MAX_BODY).await;
    assert!(answer.starts_with("HTTP/1.1 100"), "{answer}");
    // Exactly the limit is taken.
    let mut body = br#"{"type":"AtTheLimit"}"#.to_vec();
    body.resize(MAX_BODY, b' ');
    let (status, reply) = app.publish_raw(body, "application/json").await;
    assert_eq!(status.as_u16(), 201, "{reply}");
}
