//! `minibus events …`: the bus's events, followed, published or exported.

use super::{publish, tail};

/// `minibus events …`: one subcommand per action on the log.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum EventsCommand {
    /// Follow the events as they are published, one line each (--json: one envelope per
    /// line); reconnects if the stream drops; Ctrl-C ends it.
    Tail(tail::TailArgs),
    /// Publish one event and print its seq and id (the bus's error otherwise).
    Publish(publish::PublishArgs),
    /// Write the bus's events as NDJSON on stdout, for `minibus bus import`.
    ///
    /// A header line (format, log id, after, head), then each envelope exactly as the bus
    /// serves it, one per line, up to the head when the export began.
    Export(crate::ops::export::ExportArgs),
}

impl EventsCommand {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self {
            EventsCommand::Tail(args) => tail::run(args).await,
            EventsCommand::Publish(args) => publish::run(args).await,
            EventsCommand::Export(args) => crate::ops::export::run(args).await,
        }
    }
}
