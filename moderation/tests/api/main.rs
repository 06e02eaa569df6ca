//! moderation against a real bus: both in this process on 127.0.0.1:0, real sled in temp
//! dirs, real HTTP. The crash test (SIGKILL of the `minibus moderation` process) is in the
//! workspace's `tests/e2e/moderation.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod batches;
mod bus_failure;
mod deliveries;
mod helpers;
mod openapi;
mod shared;
mod start;
mod verdicts;
