//! The command line: one clap struct per subcommand; every flag has a `MINIBUS_…` variable.

use crate::{admin, bench, client, comments, moderation, ops, posts, query, up};
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
    /// Run the event bus daemon; or import into, or check, a stopped bus's store.
    Bus(ops::BusArgs),
    /// Run the whole stack on one machine: the bus, posts, comments, query, moderation and the
    /// client (the page and its gateway).
    Up(up::UpArgs),
    /// Run the posts service: writes posts and publishes PostCreated.
    Posts(::posts::PostsArgs),
    /// Run the moderation service: approves or rejects each new comment.
    Moderation(::moderation::ModerationArgs),
    /// Run the query service: the blog's read model (posts with their comments).
    Query(::query::QueryArgs),
    /// Run the comments service: comments on posts, with moderation's verdicts applied.
    Comments(::comments::CommentsArgs),
    /// Run the client: the blog's page, and the gateway to posts, comments, query and the bus.
    Client(::client::ClientArgs),
    /// Follow, publish or export the events of a running bus.
    #[command(subcommand)]
    Events(admin::EventsCommand),
    /// Inspect and steer a running bus's subscriptions: list, show, pause, resume, rewind,
    /// skip, dead letters.
    #[command(subcommand)]
    Subs(admin::SubsCommand),
    /// Benchmarks against a running bus.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

impl Command {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self {
            Command::Bus(args) => args.run().await,
            Command::Up(args) => up::run(args).await,
            Command::Posts(args) => posts::run(args).await,
            Command::Moderation(args) => moderation::run(args).await,
            Command::Query(args) => query::run(args).await,
            Command::Comments(args) => comments::run(args).await,
            Command::Client(args) => client::run(args).await,
            Command::Events(command) => command.run().await,
            Command::Subs(command) => command.run().await,
            Command::Bench(command) => command.run().await,
        }
    }
}
