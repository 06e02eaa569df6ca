//! `minibus moderation`: bind, announce, run the moderation service until SIGINT/SIGTERM.

use ::moderation::ModerationArgs;
use bus::kit::{bind, shutdown_on_signal};

/// `minibus moderation`: the service until SIGINT/SIGTERM.
pub(crate) async fn run(args: ModerationArgs) -> anyhow::Result<()> {
    // Refused settings fail before binding: nothing is announced for a service that
    // cannot start.
    args.check()?;
    let listener = bind("moderation", args.service.listen).await?;
    let addr = listener.local_addr()?;
    let shutdown = shutdown_on_signal();
    // On stdout, for people and for tests that start it on port 0.
    println!("minibus moderation listening on http://{addr}");
    ::moderation::run(listener, args, shutdown).await?;
    Ok(())
}
