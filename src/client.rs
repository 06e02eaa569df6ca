//! `minibus client`: bind, check the flags, announce, serve the page and the gateway until
//! SIGINT/SIGTERM.

use bus::kit::{bind, shutdown_on_signal};
use client::{ClientArgs, ClientService};

/// `minibus client`: the page and the gateway until SIGINT/SIGTERM.
pub(crate) async fn run(args: ClientArgs) -> anyhow::Result<()> {
    let listener = bind("client", args.listen).await?;
    let addr = listener.local_addr()?;
    let shutdown = shutdown_on_signal();
    // A refused flag fails before the line below, which scripts and tests wait for.
    let service = ClientService::open(&args)?;
    println!("minibus client listening on http://{addr}");
    service.run(listener, shutdown).await?;
    Ok(())
}
