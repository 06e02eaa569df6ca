//! `Subscriptions`: the named HTTP endpoints the bus pushes events to, their durable
//! cursors, dead letters, and one `Deliverer` loop each.
//!
//! Settings, cursors and dead letters live in sled (`store.rs`); what only matters while the
//! daemon runs (attempts, last error, blocked) lives in each `Subscription`'s delivery
//! state, shared by its loop and the API. Every operation that moves a cursor does it by
//! compare-and-swap and then wakes the loop, so it takes effect at once.
//!
//! # Layout
//!
//! ```text
//! registry.rs         Subscriptions: the map of subscriptions, start-up loading, create/update/delete
//! operations.rs       pause, resume, rewind, skip, dead-letter retry and delete
//! status.rs           SubscriptionStatus of one or all, and the lag metrics
//! subscription.rs     Subscription: one subscription as its loop and the API share it
//! backend.rs          Backend: the log, the subscription trees and the durable head
//! delivery_thread.rs  DeliveryThread: the loops' thread and the pool their reads go to
//! deliverer/          Deliverer: one loop per subscription, one step at a time
//! read_ahead.rs       ReadAhead: the matching events a loop read past its cursor
//! request.rs          what one delivery sends (body, headers)
//! client.rs           one keep-alive HTTP/1.1 connection per loop
//! verdict.rs          what the subscriber's answer means, and the backoff
//! spec.rs             the limits of a subscription's settings
//! url_credentials.rs  a URL's password shown as `***`, and kept when a PUT sends that back
//! store.rs            the sled trees: settings, cursors, dead letters; store/in_flight.rs:
//!                     the seqs sent at_most_once and not settled yet
//! ```

mod backend;
pub(crate) mod client;
mod deliverer;
mod delivery_thread;
mod operations;
mod read_ahead;
mod registry;
mod request;
mod spec;
mod status;
mod store;
mod subscription;
mod url_credentials;
mod verdict;

#[cfg(test)]
mod tests;

pub(crate) use delivery_thread::LOOP_THREAD as DELIVERY_THREAD;
pub(crate) use registry::Subscriptions;
pub(crate) use store::{SubStore, SubStoreError};
pub(crate) use url_credentials::redacted as redacted_url;

use crate::daemon::store::StoreError;
use subscription::Subscription;

/// What a subscription operation can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SubError {
    /// `404 not_found`.
    #[error("no subscription {0}")]
    NotFound(String),
    /// `400 invalid_subscription`: the request's settings or parameters are refused; the
    /// message says which and why.
    #[error("{0}")]
    Invalid(String),
    /// `409 cursor_beyond_head`.
    #[error("seq {after} is beyond the head ({head})")]
    CursorBeyondHead {
        /// The cursor asked for.
        after: u64,
        /// The durable head it is beyond.
        head: u64,
    },
    /// `409 paused`.
    #[error("subscription {0} is paused")]
    Paused(String),
    /// `409 nothing_to_skip`.
    #[error("subscription {0} has no event to skip")]
    NothingToSkip(String),
    /// `404 not_found` for a dead letter (subscription, seq).
    #[error("subscription {0} has no dead letter {1}")]
    NoDeadLetter(String, u64),
    /// `500 internal`: the subscription trees failed.
    #[error(transparent)]
    Store(#[from] SubStoreError),
    /// `500 internal`: the event log failed.
    #[error("reading the event log failed")]
    Log(#[from] StoreError),
    /// `500 internal`: the delivery thread or its runtime could not be started.
    #[error("cannot start the delivery thread")]
    Thread(#[source] std::io::Error),
    /// `500 internal`: work handed to a blocking thread panicked or was dropped at
    /// shutdown.
    #[error("a blocking task of the subscriptions failed")]
    Task(#[from] tokio::task::JoinError),
}
