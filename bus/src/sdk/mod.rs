//! The client SDK every service uses to talk to the bus: [`Publisher`] to publish, and
//! [`Subscriber`] to receive a subscription's deliveries.

mod publisher;
mod subscriber;

pub use publisher::{PublishError, Publisher};
pub use subscriber::{
    Handler, HandlerError, Registration, Subscriber, SubscriberConfig, SIGNATURE_TOLERANCE_SECS,
};

use crate::wire::ErrorBody;

/// Failure of a subscription call to the bus.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    /// The bus could not be reached.
    #[error("bus unreachable: {0}")]
    Transport(#[from] reqwest::Error),
    /// The bus answered with an error.
    #[error("bus answered {status}: {} ({})", body.message, body.error)]
    Bus {
        /// The HTTP status.
        status: u16,
        /// The JSON error body.
        body: ErrorBody,
    },
}

/// What a bus call answered: the JSON body on 2xx, else the status and the error body.
pub(crate) enum Reply<R> {
    Ok(R),
    Refused(u16, ErrorBody),
}

/// Sends `request` (with the bearer token, if any) and reads the answer.
pub(crate) async fn send<R: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    token: Option<&str>,
) -> Result<Reply<R>, reqwest::Error> {
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    let response = request.send().await?;
    let status = response.status();
    if status.is_success() {
        return Ok(Reply::Ok(response.json().await?));
    }
    let body = response
        .json::<ErrorBody>()
        .await
        .unwrap_or_else(|e| ErrorBody {
            error: "unreadable_error".into(),
            message: e.to_string(),
            extra: Default::default(),
        });
    Ok(Reply::Refused(status.as_u16(), body))
}
