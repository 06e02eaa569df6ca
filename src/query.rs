//! `minibus query`: bind, announce, run the query service until SIGINT/SIGTERM.

use bus::kit::{bind, shutdown_on_signal};

/// `minibus query`: the service until SIGINT/SIGTERM.
pub(crate) async fn run(args: ::query::QueryArgs) -> anyhow::Result<()> {
    // A refused setting fails before binding, as the bus's do.
    args.service.check()?;
    let listener = bind("query", args.service.listen).await?;
    let addr = listener.local_addr()?;
    let shutdown = shutdown_on_signal();
    // On stdout, for people and for tests that start query on port 0.
    println!("minibus query listening on http://{addr}");
    ::query::run(listener, args, shutdown).await?;
    Ok(())
}
