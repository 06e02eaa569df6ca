//! The client SDK every service uses to talk to the bus.
//!
//! For now: [`Publisher`]. The subscriber runtime joins it with the subscriptions issue.

mod publisher;

pub use publisher::{PublishError, Publisher};
