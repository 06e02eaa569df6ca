//! comments against a real bus: both in this process on 127.0.0.1:0, real sled in temp
//! dirs, real HTTP. The crash test (SIGKILL of the `minibus comments` process) is in the
//! workspace's `tests/e2e/comments.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bus_down;
mod cors;
mod deliveries;
mod helpers;
mod moderation;
mod openapi;
mod restart;
mod start;
mod write;
