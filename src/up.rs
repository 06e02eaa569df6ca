//! `minibus up`: the whole stack in one command. For now that is the bus alone; the
//! services and the page join it as they are built.

use bus::daemon::BusConfig;
use bus::kit::{bind, shutdown_on_signal};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(crate) struct UpArgs {
    /// Where every service keeps its data, each in `DIR/<service>`.
    #[arg(long, env = "MINIBUS_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
}

pub(crate) async fn run(args: UpArgs) -> anyhow::Result<()> {
    let bus_addr = BusConfig::DEFAULT_LISTEN;
    let config = BusConfig::new(bus_addr, args.data_dir.join("bus"));
    let listener = bind("bus", bus_addr).await?;
    let shutdown = shutdown_on_signal();
    println!(
        "\nminibus is up (data in {}):\n  bus   http://{bus_addr}   (try: curl http://{bus_addr}/info)\nCtrl-C stops everything.\n",
        args.data_dir.display()
    );
    bus::daemon::run(listener, config, shutdown).await?;
    Ok(())
}
