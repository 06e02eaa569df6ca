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
