//! The start of a service that subscribes: it serves (the bus must reach its `/events`)
//! while it registers its subscription, retrying while the bus cannot be reached; a
//! refusal ends serving too.

use super::serve;
use axum::Router;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The first wait before registering again; doubled up to [`MAX_REGISTER_BACKOFF`].
#[cfg(feature = "sdk")]
const FIRST_REGISTER_BACKOFF: Duration = Duration::from_millis(50);
/// The longest wait between two attempts to register while the bus cannot be reached.
pub const MAX_REGISTER_BACKOFF: Duration = Duration::from_secs(2);

/// Serves `app` on `listener` until `shutdown` while `starting` runs (a registration, and
/// what follows it). If `starting` fails, serving stops and that error is returned;
/// otherwise the result is serving's, once `shutdown` ended it.
pub async fn serve_while<E: From<std::io::Error>>(
    listener: TcpListener,
    app: Router,
    shutdown: &CancellationToken,
    starting: impl Future<Output = Result<(), E>>,
) -> Result<(), E> {
    // A token of its own, so that a failed start stops serving without cancelling the
    // caller's.
    let stop = shutdown.child_token();
    let served = tokio::spawn(serve(listener, app, stop.clone()));
    if let Err(e) = starting.await {
        stop.cancel();
        let _ = served.await;
        return Err(e);
    }
    served.await.map_err(std::io::Error::other)??;
    Ok(())
}

#[cfg(feature = "sdk")]
/// Registers `subscriber`, retrying with backoff (50 ms, doubling up to 2 s) while the bus
/// cannot be reached or answers `5xx`; a `4xx` (a wrong token, a URL the bus does not
/// allow) will not change by retrying and is returned. `None` if `stop` came first.
pub async fn register_with_retry<H: crate::sdk::Handler>(
    subscriber: &crate::sdk::Subscriber<H>,
    stop: &CancellationToken,
) -> Result<Option<crate::sdk::Registration>, crate::sdk::Error> {
    let mut backoff = FIRST_REGISTER_BACKOFF;
    loop {
        let attempt = tokio::select! {
            () = stop.cancelled() => return Ok(None),
            attempt = subscriber.register() => attempt,
        };
        match attempt {
            Ok(registration) => return Ok(Some(registration)),
            Err(refused @ crate::sdk::Error::Rejected { status: ..500, .. }) => {
                return Err(refused)
            }
            Err(error) => {
                tracing::warn!(error = %error, retry_in = ?backoff, "cannot register with the bus yet");
            }
        }
        tokio::select! {
            () = stop.cancelled() => return Ok(None),
            () = tokio::time::sleep(backoff) => backoff = (backoff * 2).min(MAX_REGISTER_BACKOFF),
        }
    }
}

#[cfg(all(test, feature = "testkit"))]
mod tests {
    use super::*;
    use crate::envelope::Envelope;
    use crate::sdk::{Handler, HandlerError, Subscriber, SubscriberConfig};
    use crate::testkit::{spawn_bus, spawn_bus_with};

    struct Ignore;
    impl Handler for Ignore {
        async fn handle(&self, _: Envelope) -> Result<(), HandlerError> {
            Ok(())
        }
    }

    fn subscriber(bus_url: &str, token: Option<&str>) -> Subscriber<Ignore> {
        let config = SubscriberConfig {
            bus_url: bus_url.into(),
            token: token.map(String::from),
            name: "s".into(),
            url: "http://127.0.0.1:9/events".into(),
            types: Vec::new(),
            batch: 1,
            applied: None,
            log_id: None,
        };
        Subscriber::new(config, Ignore)
    }

    #[tokio::test]
    async fn a_reachable_bus_registers_at_once() {
        let bus = spawn_bus().await;
        let stop = CancellationToken::new();
        let registered = register_with_retry(&subscriber(bus.url(), None), &stop).await;
        assert!(registered.expect("registered").is_some());
    }

    #[tokio::test]
    async fn a_refusal_is_returned_and_not_retried() {
        let token = "a-token-of-thirty-two-characters-at-least";
        let bus = spawn_bus_with(|c| c.token = Some(token.into())).await;
        let stop = CancellationToken::new();
        let wrong = subscriber(bus.url(), Some("another-token-of-thirty-two-characters"));
        let refused =
            tokio::time::timeout(Duration::from_secs(10), register_with_retry(&wrong, &stop));
        let refused = refused.await.expect("no retries");
        assert!(
            matches!(
                refused,
                Err(crate::sdk::Error::Rejected { status: 401, .. })
            ),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_bus_is_retried_until_it_answers() {
        let stopped = spawn_bus().await.stop().await;
        let url = format!("http://{}", stopped.config.listen);
        let sub = subscriber(&url, None);
        let retrying =
            tokio::spawn(async move { register_with_retry(&sub, &CancellationToken::new()).await });
        let _bus = stopped.start_on_same_port().await;
        let registered = tokio::time::timeout(Duration::from_secs(30), retrying).await;
        let registered = registered.expect("registered once the bus is back");
        assert!(registered.expect("the task").expect("registered").is_some());
    }

    #[tokio::test]
    async fn stop_ends_the_retries() {
        let stopped = spawn_bus().await.stop().await;
        let url = format!("http://{}", stopped.config.listen);
        let stop = CancellationToken::new();
        stop.cancel();
        let ended = register_with_retry(&subscriber(&url, None), &stop).await;
        assert!(matches!(ended, Ok(None)), "{ended:?}");
    }
}
