//! The client SDK every service uses to talk to the bus: [`Publisher`] to publish, and
//! [`Subscriber`] to receive a subscription's deliveries. Calls to the bus fail with
//! [`Error`]. With the feature `outbox`, `Outbox` commits a service's writes with their
//! events in one sled transaction, and its `Relay` publishes them.

pub mod admin;
mod error;
#[cfg(feature = "outbox")]
mod outbox;
mod publisher;
mod subscriber;

pub use error::Error;
#[cfg(feature = "outbox")]
pub use outbox::{
    Outbox, OutboxKey, OutboxTx, Pass, Relay, Written, MAX_BATCH, MAX_BATCH_BYTES, PARKED_TREE,
    PENDING_TREE, PUBLISH_WAIT,
};
pub use publisher::Publisher;
#[cfg(feature = "kit")]
pub use subscriber::document_deliveries;
pub use subscriber::{
    BatchError, Handler, HandlerError, Registration, Subscriber, SubscriberConfig,
    MAX_DELIVERY_BYTES, SIGNATURE_TOLERANCE_SECS,
};

/// Sends `request` (with the bearer token, if any) and reads the JSON answer of a 2xx;
/// any other status is [`Error::Rejected`] with the error body.
pub(crate) async fn send<R: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    token: Option<&str>,
) -> Result<R, Error> {
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    let response = request.send().await?;
    if response.status().is_success() {
        return Ok(response.json().await?);
    }
    Err(Error::rejected(response).await)
}
