//! The command line: one clap struct per subcommand; every flag has a `MINIBUS_…` variable.

use crate::{bench, serve, up};
use bus::daemon::BusConfig;
use clap::{Parser, Subcommand};

/// minibus: a self-hosted event bus with pluggable HTTP subscribers, and a CQRS mini blog.
#[derive(Debug, Parser)]
#[command(name = "minibus", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the event bus daemon.
    Bus(BusConfig),
    /// Run the whole stack on one machine (for now: the bus).
    Up(up::UpArgs),
    /// Run the moderation service: approves or rejects each new comment.
    Moderation(moderation::ModerationArgs),
    /// Run the comments service: comments on posts, with moderation's verdicts applied.
    Comments(::comments::CommentsArgs),
    /// Benchmarks against a running bus.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

impl Command {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self {
            Command::Bus(config) => serve::bus(config).await,
            Command::Up(args) => up::run(args).await,
            Command::Moderation(args) => crate::moderation::moderation(args).await,
            Command::Comments(args) => crate::comments::comments(args).await,
            Command::Bench(command) => command.run().await,
        }
    }
}
