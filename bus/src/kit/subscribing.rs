//! The start of a service that calls the bus: it serves (the bus must reach its `/events`)
//! while it registers its subscription (or, publishing only, checks that the bus takes its
//! token), retrying while the bus cannot be reached; a refusal ends serving too.

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
    until_answered("cannot register with the bus yet", stop, || {
        subscriber.register()
    })
    .await
}

#[cfg(feature = "sdk")]
/// How long one look at the bus's `/info` may take before it is tried again.
const INFO_TIMEOUT: Duration = Duration::from_secs(5);

#[cfg(feature = "sdk")]
/// Asks the bus at `bus_url` for `GET /info` with `token`, retrying as
/// [`register_with_retry`] does while it cannot be reached: for a service that only
/// publishes (posts), its start's check that the bus takes its token. A `4xx` (`401`: a
/// wrong or missing token) is returned; `Ok(false)` if `stop` came first.
pub async fn check_bus_token_with_retry(
    bus_url: &str,
    token: Option<&str>,
    stop: &CancellationToken,
) -> Result<bool, crate::sdk::Error> {
    let http = reqwest::Client::new();
    let url = format!("{}/info", bus_url.trim_end_matches('/'));
    let info = || {
        let request = http.get(&url).timeout(INFO_TIMEOUT);
        crate::sdk::send::<crate::wire::Info>(request, token)
    };
    let answered = until_answered("cannot reach the bus yet", stop, info).await?;
    Ok(answered.is_some())
}

#[cfg(feature = "sdk")]
/// `attempt` until the bus answers it: its answer, or its `4xx`; retried with backoff
/// while the bus cannot be reached or answers `5xx`. `None` if `stop` came first.
async fn until_answered<T, A: Future<Output = Result<T, crate::sdk::Error>>>(
    what: &'static str,
    stop: &CancellationToken,
    mut attempt: impl FnMut() -> A,
) -> Result<Option<T>, crate::sdk::Error> {
    let mut backoff = FIRST_REGISTER_BACKOFF;
    loop {
        let answer = tokio::select! {
            () = stop.cancelled() => return Ok(None),
            answer = attempt() => answer,
        };
        match answer {
            Ok(answer) => return Ok(Some(answer)),
            Err(refused @ crate::sdk::Error::Rejected { status: ..500, .. }) => {
                return Err(refused)
            }
            Err(error) => {
                tracing::warn!(error = %super::error_chain(&error), retry_in = ?backoff, "{what}");
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
    async fn a_token_the_bus_refuses_is_returned_and_one_it_takes_passes() {
        let token = "a-token-of-thirty-two-characters-at-least";
        let bus = spawn_bus_with(|c| c.token = Some(token.into())).await;
        let stop = CancellationToken::new();
        let checked = check_bus_token_with_retry(bus.url(), Some(token), &stop).await;
        assert!(checked.expect("taken"), "answered");
        for wrong in [Some("another-token-of-thirty-two-characters"), None] {
            let refused = check_bus_token_with_retry(bus.url(), wrong, &stop);
            let refused = tokio::time::timeout(Duration::from_secs(10), refused).await;
            assert!(
                matches!(
                    refused.expect("no retries"),
                    Err(crate::sdk::Error::Rejected { status: 401, .. })
                ),
                "{wrong:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_unreachable_bus_is_asked_again_until_it_answers() {
        let stopped = spawn_bus().await.stop().await;
        let url = format!("http://{}", stopped.config.listen);
        let stop = CancellationToken::new();
        let checking =
            tokio::spawn(async move { check_bus_token_with_retry(&url, None, &stop).await });
        let _bus = stopped.start_on_same_port().await;
        let checked = tokio::time::timeout(Duration::from_secs(30), checking).await;
        let checked = checked.expect("answered once the bus is back");
        assert!(checked.expect("the task").expect("taken"));
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
