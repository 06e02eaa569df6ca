//! In-process integration tests of the bus daemon: each test starts `bus::daemon::run` on
//! 127.0.0.1:0 with its own temp dir, and talks to it over real HTTP (real sled, no mocks).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod at_most_once;
mod auth;
mod bad_input;
mod big_log;
mod cloudevents_binary;
mod dead_letters;
mod delivery;
mod expect_continue;
mod expected_version;
mod helpers;
mod idempotency;
mod interop;
mod long_input;
mod metrics;
mod openapi;
mod publish;
mod read;
mod restart;
mod schemathesis;
mod sdk_batches;
mod sdk_publisher;
mod sdk_stateless;
mod sdk_subscriber;
mod signatures;
mod sse;
mod static_subscriptions;
mod sub_bad_input;
mod subscriptions;
mod unsafe_data;
mod url_credentials;
mod whole_numbers;
