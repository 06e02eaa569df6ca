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

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::{ArgAction, Command, CommandFactory};

    /// Every `SetTrue` flag with a variable, as `(path of the command, the command, id)`.
    fn boolean_flags(command: &Command, path: &str, found: &mut Vec<(String, Command, String)>) {
        for arg in command.get_arguments() {
            if matches!(arg.get_action(), ArgAction::SetTrue) && arg.get_env().is_some() {
                let id = arg.get_id().to_string();
                found.push((path.to_string(), command.clone(), id));
            }
        }
        for sub in command.get_subcommands() {
            boolean_flags(sub, &format!("{path} {}", sub.get_name()), found);
        }
    }

    /// `flag` of `command` parsed from `value` by its own value parser, as clap parses its
    /// variable (a flag takes no value on the command line: the probe lets it take one).
    fn parsed(command: &Command, flag: &str, value: &str) -> Result<bool, clap::Error> {
        let arg = command.get_arguments().find(|a| a.get_id() == flag);
        let arg = arg
            .expect("the flag")
            .clone()
            .action(ArgAction::Set)
            .num_args(1);
        let long = format!("--{}", arg.get_long().expect("a long flag"));
        let probe = Command::new("probe").arg(arg.required(false));
        let matches = probe.try_get_matches_from(["probe", long.as_str(), value])?;
        Ok(matches.get_one::<bool>(flag).copied().expect("a value"))
    }

    #[test]
    fn every_boolean_flag_s_variable_takes_1_yes_on_0_no_off_and_empty() {
        let mut flags = Vec::new();
        boolean_flags(&Cli::command(), "minibus", &mut flags);
        assert!(flags.len() >= 10, "{} flags found", flags.len());
        for (path, command, id) in &flags {
            let long = command.get_arguments().find(|a| a.get_id() == id.as_str());
            let name = format!("{path} --{}", long.and_then(|a| a.get_long()).unwrap_or(id));
            for (value, expected) in [("1", true), ("YES", true), ("on", true), ("true", true)]
                .into_iter()
                .chain([("0", false), ("No", false), ("off", false), ("", false)])
            {
                let got = parsed(command, id, value).map_err(|e| e.to_string());
                assert_eq!(got, Ok(expected), "{name} from {value:?}");
            }
        }
    }
}
