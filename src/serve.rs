//! `minibus bus`: bind, open the store, announce, run the daemon until SIGINT/SIGTERM. What every service
//! subcommand shares (binding, the shutdown signal, logging) is in `bus::kit`.

use bus::daemon::{BusConfig, Daemon};
use bus::kit::{bind, shutdown_on_signal};

/// `minibus bus`: the daemon until SIGINT/SIGTERM.
pub(crate) async fn bus(config: BusConfig) -> anyhow::Result<()> {
    let listener = bind("bus", config.listen).await?;
    let addr = listener.local_addr()?;
    let shutdown = shutdown_on_signal();
    // Refused settings and a store that does not open fail before the line below: a bus
    // that cannot start must not announce that it listens (scripts and tests wait for it).
    let daemon = Daemon::open(config, addr).await?;
    // On stdout, for people and for tests that start the bus on port 0.
    println!("minibus bus listening on http://{addr}");
    daemon.run(listener, shutdown).await?;
    Ok(())
}
