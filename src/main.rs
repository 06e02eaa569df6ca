//! `minibus`: one binary, a subcommand per service. It only parses flags, sets up logging,
//! and hands over to the crates; see `minibus --help`.

mod admin;
mod bench;
mod cli;
mod client;
mod comments;
mod moderation;
mod ops;
mod posts;
mod query;
mod serve;
mod up;

use clap::Parser;
use std::process::ExitCode;

// sled allocates and frees a node copy on most writes: glibc's malloc spent ~15 % of the
// bus's CPU on that under publish load. mimalloc doubles the array publish rate
// (docs/BENCHMARKS.md); without transparent huge pages it keeps less memory resident.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    bus::kit::init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("minibus: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli.command.run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("minibus: {e:#}");
            ExitCode::FAILURE
        }
    }
}
