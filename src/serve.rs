//! `minibus bus`: bind, announce, run the daemon until SIGINT/SIGTERM. What every service
//! subcommand shares (binding, the shutdown signal, logging) is in `bus::kit`.

use bus::daemon::BusConfig;
use bus::kit::{bind, shutdown_on_signal};

/// `minibus bus`: the daemon until SIGINT/SIGTERM.
pub(crate) async fn bus(config: BusConfig) -> anyhow::Result<()> {
    let listener = bind("bus", config.listen).await?;
    let addr = listener.local_addr()?;
    // Refused settings fail before the line below: a bus that refuses to start must not
    // announce that it listens (scripts and tests wait for that line).
    config.check(addr).map_err(anyhow::Error::msg)?;
    // On stdout, for people and for tests that start the bus on port 0.
    println!("minibus bus listening on http://{addr}");
    bus::daemon::run(listener, config, shutdown_on_signal()).await?;
    Ok(())
}
