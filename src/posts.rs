//! `minibus posts`: bind, open the store, announce, serve until SIGINT/SIGTERM.

use bus::kit::{bind, shutdown_on_signal};
use posts::{PostsArgs, PostsService};

/// `minibus posts`: the posts service until SIGINT/SIGTERM.
pub(crate) async fn run(args: PostsArgs) -> anyhow::Result<()> {
    let listener = bind("posts", args.service.listen).await?;
    let addr = listener.local_addr()?;
    let shutdown = shutdown_on_signal();
    // A refused setting or a store that does not open fails before the line below, which
    // scripts and tests wait for.
    let service = PostsService::open(args).await?;
    println!("minibus posts listening on http://{addr}");
    service.run(listener, shutdown).await?;
    Ok(())
}
