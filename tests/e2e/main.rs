//! End-to-end tests: the built `minibus` binary as real child processes, real HTTP on
//! loopback, real sled data dirs on disk.
//!
//! # Layout
//! - `helpers`: [`helpers::BusProcess`] (start on port 0, SIGKILL, SIGTERM, killed on drop),
//!   [`helpers::Api`] (HTTP calls), and bounded waits; `helpers/load.rs`:
//!   [`helpers::Load`] (concurrent publishers that record every acknowledged event) and
//!   [`helpers::verify_log`] (the log's invariants after a restart); `helpers/service.rs`:
//!   [`helpers::ServiceProcess`] (one blog service on a port fixed across restarts).
//! - `blog`: the bus and the four services as separate processes: query equals a fold of
//!   the log after random SIGKILLs under load; a bus outage; a post in the course's shape.
//! - `crash`: SIGKILL under load, restart, nothing acknowledged lost; graceful SIGTERM.
//! - `delivery`: SIGKILL while delivering to subscribers: every subscriber still gets
//!   exactly its events, in order; a seq repeats only across a restart.
//! - `admin_cli`: the operator CLI (`minibus events tail | publish`, `minibus subs …`)
//!   against a bus process: each action's effect in the bus, the tables, and each error
//!   as one line on stderr.
//! - `export_import`: `minibus events export`, `bus import` and `bus check`: a log moved
//!   to a fresh store is served byte for byte under the same log id; a bad file is refused
//!   naming its line, leaving no store; a store the file does not continue is left alone.
//! - `cli`: what the command line promises: refusals, a taken port, env vars, `--help`.
//! - `service_start`: what a blog service refuses at start, one line, before it listens.
//! - `shutdown`: an idle bus exits at once on SIGTERM.
//! - `course`: the course profile with a course-style replaying subscriber (a Node.js
//!   process): nothing applied twice across its restart and a bus SIGKILL.
//! - `posts`: `minibus posts` SIGKILLed right after answered writes (with the bus up, and
//!   with the bus down): every answered post kept, its `PostCreated` in the log exactly once.
//! - `query`: `minibus query` SIGKILLed comes back with the same `GET /posts`, rebuilt
//!   with no state, or with `--persist` from its checkpoint.
//! - `readyz`: `/readyz` answers 200, then 503 with its code once a write fails for real.
//! - `moderation`: `minibus moderation` SIGKILLed again and again under a load of comments:
//!   exactly one `CommentModerated` per `CommentCreated`.
//! - `up`: `minibus up` runs the stack, stops on SIGTERM, and comes back with the same page.
//! - `comments`: `minibus comments` SIGKILLed again and again under a load of verdicts:
//!   exactly one `CommentUpdated` per `CommentModerated`.
//! - `manifests`: manifests/ checked statically: the Kubernetes schemas (kubernetes-validate),
//!   hadolint, and agreement of the Kubernetes files, the compose file and the Dockerfile
//!   with the binary's `--help` (flags, variables, ports) and its probe paths.
//! - `page`: the blog page in a real headless Chromium (playwright-core driving Debian's
//!   `chromium`, scripts in `page/*.mjs`): moderation shown live, query's lag while paused,
//!   a stopped service said in words; no request off the machine, no console error;
//!   screenshots into `target/page-screenshots/`.
//!
//! Every test has its own temp dir and port, so they run in parallel. Set `MINIBUS_SOAK=1`
//! for 100 crash rounds instead of 5, and `TEST_LOG=<filter>` to keep the bus's logs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_cli;
mod blog;
mod cli;
mod comments;
mod course;
mod crash;
mod delivery;
mod export_import;
mod helpers;
mod manifests;
mod moderation;
mod page;
mod posts;
mod query;
mod readyz;
mod service_start;
mod shutdown;
mod up;
