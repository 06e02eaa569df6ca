//! Operating a bus's data: `minibus events export` (from a running bus; wired among the
//! `events` commands of `crate::admin`) and the offline
//! tools on a stopped bus's store, `minibus bus import` and `minibus bus check`, whose
//! logic is the daemon's store's (`bus::daemon::{import, check}`); this module parses
//! their flags, draws their progress and prints their results.
//!
//! # Layout
//! - `export.rs`: `minibus events export`, the log as NDJSON on stdout;
//! - `import.rs`, `check.rs`: `minibus bus import`, `minibus bus check`;
//! - `progress.rs`: progress bars on stderr, hidden when stderr is not a terminal.

mod check;
pub(crate) mod export;
mod import;
mod progress;

use bus::daemon::BusConfig;

/// `minibus bus`: the daemon with its flags, or one of the offline tools on its store.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct BusArgs {
    #[command(subcommand)]
    tool: Option<BusTool>,
    #[command(flatten)]
    config: BusConfig,
}

/// The offline tools on a stopped bus's store.
#[derive(Debug, clap::Subcommand)]
enum BusTool {
    /// Import an export file into a stopped bus's store.
    ///
    /// The file is what `minibus events export` writes. The store is an empty or new data
    /// dir, or a store the file continues (`export --after` its head). The whole file is
    /// validated first: a wrong line is named and nothing is written.
    Import(import::ImportArgs),
    /// Verify a stopped bus's store in full and print a summary.
    ///
    /// The log (gapless, readable, times never decreasing), its indexes (every event
    /// indexed, every entry right), stream versions, subscription cursors and the
    /// verified-head marker. Exits non-zero on any defect, naming it.
    Check(check::CheckArgs),
}

impl BusArgs {
    /// Runs the daemon, or the tool named.
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self.tool {
            None => crate::serve::bus(self.config).await,
            Some(BusTool::Import(args)) => import::run(args).await,
            Some(BusTool::Check(args)) => check::run(args).await,
        }
    }
}
