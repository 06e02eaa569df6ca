//! The SDK's `Outbox` against a real bus: a service's writes over real sled in temp dirs,
//! their events published by the relay over real HTTP to an in-process bus on port 0.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bus_down;
mod crash;
mod helpers;
mod order;
mod parked;
