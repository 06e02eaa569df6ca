//! `Created`: the answer of a write that publishes through the outbox: `201`, the body,
//! and `Minibus-Seq` when its event reached the bus within the wait.

use super::Json;
use crate::wire::headers::MINIBUS_SEQ;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// `201` with `body` as JSON, and `Minibus-Seq: seq` when the write's event has a seq (a
/// client reads its write from query with `min_seq`); without it the write is stored and
/// its event goes out once the bus is back.
#[derive(Debug, Clone)]
pub struct Created<T> {
    /// The seq the bus gave the write's event, if it came within the wait.
    pub seq: Option<u64>,
    /// The answer's body.
    pub body: T,
}

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        let mut response = (StatusCode::CREATED, Json(self.body)).into_response();
        if let Some(seq) = self.seq {
            let headers = response.headers_mut();
            headers.insert(MINIBUS_SEQ, HeaderValue::from(seq));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_says_its_seq_when_it_has_one() {
        let answer = Created {
            seq: Some(7),
            body: "x",
        }
        .into_response();
        assert_eq!(answer.status(), StatusCode::CREATED);
        assert_eq!(answer.headers()[MINIBUS_SEQ], "7");
        let answer = Created {
            seq: None,
            body: "x",
        }
        .into_response();
        assert_eq!(answer.status(), StatusCode::CREATED);
        assert!(answer.headers().get(MINIBUS_SEQ).is_none());
        assert_eq!(answer.headers()["content-type"], "application/json");
    }
}
