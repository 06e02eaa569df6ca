//! The subscription calls of the bus API, and the settings the subscription tests start
//! from (they take the fake subscriber from the test kit).

use super::{eventually, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A subscription spec for `url` with fast retries and a short timeout, plus `extra`'s
/// fields (which win).
pub(crate) fn spec(url: &str, extra: Value) -> Value {
    let mut spec = json!({
        "url": url,
        "timeout_ms": 5_000,
        "retry": {"initial_ms": 10, "max_ms": 50},
    });
    let (Some(base), Value::Object(extra)) = (spec.as_object_mut(), extra) else {
        panic!("`extra` is an object");
    };
    base.extend(extra);
    spec
}

impl TestApp {
    /// `PUT /subscriptions/NAME`.
    pub(crate) async fn put_sub(&self, name: &str, spec: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, &format!("/subscriptions/{name}"), Some(spec))
            .await
    }

    /// Creates a subscription, asserting `201`; its status.
    pub(crate) async fn create_sub(&self, name: &str, spec: Value) -> Value {
        let (status, body) = self.put_sub(name, spec).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "PUT /subscriptions/{name}: {body}"
        );
        body
    }

    /// `GET /subscriptions/NAME`, asserting `200`.
    pub(crate) async fn sub(&self, name: &str) -> Value {
        let (status, body) = self.get_json(&format!("/subscriptions/{name}")).await;
        assert_eq!(status, StatusCode::OK, "GET /subscriptions/{name}: {body}");
        body
    }

    /// `POST /subscriptions/NAME/ACTION` with `body`.
    pub(crate) async fn sub_action(
        &self,
        name: &str,
        action: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            &format!("/subscriptions/{name}/{action}"),
            body,
        )
        .await
    }

    /// `GET …/dead-letters`, asserting `200`.
    pub(crate) async fn dead_letters(&self, name: &str) -> Vec<Value> {
        self.get_array(&format!("/subscriptions/{name}/dead-letters"))
            .await
    }

    /// Waits until the subscription's status satisfies `probe`; that status.
    pub(crate) async fn until_sub(
        &self,
        name: &str,
        what: &str,
        probe: impl Fn(&Value) -> bool,
    ) -> Value {
        eventually(&format!("{name}: {what}"), || async {
            let status = self.sub(name).await;
            probe(&status).then_some(status)
        })
        .await
    }

    /// Waits until the subscription's cursor is `cursor`; its status.
    pub(crate) async fn until_cursor(&self, name: &str, cursor: u64) -> Value {
        self.until_sub(name, &format!("cursor {cursor}"), |s| s["cursor"] == cursor)
            .await
    }
}
