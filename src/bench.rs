//! `minibus bench`: load against a running bus, for `docs/BENCHMARKS.md`.
//!
//! - `publish`: C tasks publish N events in total (one event or an array of K per request)
//!   and report events/s, requests/s, request latency percentiles and errors by status;
//! - `read`: times `GET /events`, the whole log streamed, and reports bytes and events/s;
//! - `fanout`: push delivery to subscribers in this process (see `fanout.rs`);
//! - `blog`: the blog's chain against a running stack (see `blog.rs`);
//! - `query-rebuild`: `minibus query` timed to ready from a long log (see `query_rebuild.rs`).
//!
//! Each prints a human summary and then one JSON line of the same figures, so that the docs
//! can quote a run exactly. The progress bar goes to stderr and is hidden when stderr is not
//! a terminal.

mod blog;
mod fanout;
mod publish;
mod query_rebuild;
mod read;
mod stats;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use std::io::IsTerminal;

/// `minibus bench …`: one subcommand per benchmark, each against a running bus.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum BenchCommand {
    /// Publish N events from C concurrent publishers and report throughput and latency.
    Publish(publish::PublishArgs),
    /// Time reading the whole log with `GET /events`.
    Read(read::ReadArgs),
    /// Push delivery to subscribers in this process: throughput, replay, latency.
    Fanout(fanout::FanoutArgs),
    /// The blog's chain against a running stack: write-to-query latency and a sustained load.
    Blog(blog::BlogArgs),
    /// Time `minibus query` to ready from a long log (in memory, --persist empty, from its checkpoint).
    QueryRebuild(query_rebuild::QueryRebuildArgs),
}

impl BenchCommand {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self {
            BenchCommand::Publish(args) => publish::run(args).await,
            BenchCommand::Read(args) => read::run(args).await,
            BenchCommand::Fanout(args) => fanout::run(args).await,
            BenchCommand::Blog(args) => blog::run(args).await,
            BenchCommand::QueryRebuild(args) => query_rebuild::run(args).await,
        }
    }
}

/// Which bus to load, and how to authenticate.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Target {
    /// Base URL of the running bus.
    #[arg(long, env = "MINIBUS_BUS_URL", default_value = "http://127.0.0.1:4005")]
    pub(crate) bus_url: String,

    /// Bearer token, when the bus requires one.
    #[arg(long, env = "MINIBUS_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
}

impl Target {
    /// `{bus_url}/events`.
    fn events_url(&self) -> String {
        format!("{}/events", self.bus_url.trim_end_matches('/'))
    }

    /// One client for the whole run; it keeps up to `connections` idle keep-alive
    /// connections, so each concurrent task reuses its own.
    fn client(&self, connections: usize) -> anyhow::Result<reqwest::Client> {
        let mut headers = HeaderMap::new();
        if let Some(token) = &self.token {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
                .context("the token is not a valid header value")?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        reqwest::Client::builder()
            .default_headers(headers)
            .pool_max_idle_per_host(connections)
            .tcp_nodelay(true)
            .build()
            .context("building the HTTP client")
    }
}

/// A progress bar of `len` on stderr, hidden when stderr is not a terminal (CI, pipes).
fn progress_bar(len: u64, unit: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    let template = format!(
        "{{elapsed_precise}} [{{wide_bar}}] {{pos}}/{{len}} {unit} ({{per_sec}}, eta {{eta}})"
    );
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
