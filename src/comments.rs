//! `minibus comments`: bind, announce, run the comments service until SIGINT/SIGTERM.

use ::comments::CommentsArgs;
use bus::kit::{bind, shutdown_on_signal};

/// `minibus comments`: the service until SIGINT/SIGTERM.
pub(crate) async fn run(args: CommentsArgs) -> anyhow::Result<()> {
    // Refused settings fail before binding: nothing is announced for a service that
    // cannot start.
    args.check()?;
    let listener = bind("comments", args.service.listen).await?;
    let addr = listener.local_addr()?;
    let shutdown = shutdown_on_signal();
    // On stdout, for people and for tests that start it on port 0.
    println!("minibus comments listening on http://{addr}");
    ::comments::run(listener, args, shutdown).await?;
    Ok(())
}
