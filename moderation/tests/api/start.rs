//! moderation at start: settings it refuses, a bus that refuses it, and a bus it waits
//! for.

use crate::helpers::{publish_comment, start_moderation, until_moderated};
use bus::testkit::{eventually, spawn_bus, spawn_bus_with, BusProxy};
use moderation::{RunError, SettingsError};

#[tokio::test]
async fn a_delay_that_does_not_fit_in_the_delivery_timeout_is_refused() {
    let bus = spawn_bus().await;
    let service = start_moderation(bus.url(), |args| args.delay_ms = 4_001).await;
    let ended = service.ended().await;
    assert!(
        matches!(
            ended,
            Err(RunError::Settings(SettingsError::DelayTooLong { .. }))
        ),
        "{ended:?}"
    );
    let status: serde_json::Value = reqwest::get(bus.at("/subscriptions"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status, serde_json::json!([]), "nothing registered");
}

#[tokio::test]
async fn a_bus_that_refuses_the_registration_stops_it() {
    let bus = spawn_bus_with(|c| c.token = Some("moderation-test-token-0123456789".into())).await;
    // No --bus-token: the bus answers 401, which no retry can change.
    let service = start_moderation(bus.url(), |_| {}).await;
    let ended = service.ended().await;
    let Err(error @ RunError::Registration(_)) = ended else {
        panic!("{ended:?}")
    };
    let printed = bus::testkit::assert_each_cause_said_once(&error);
    assert!(printed.contains("401"), "{printed}");
}

#[tokio::test]
async fn a_bus_not_ready_at_start_is_waited_for_and_readyz_says_so() {
    let bus = spawn_bus().await;
    let proxy = BusProxy::start(bus.url()).await;
    proxy.set_down(true);
    let service = start_moderation(proxy.url(), |_| {}).await;
    let readyz = format!("{}/readyz", service.url());
    let status = |url: String| async move { reqwest::get(url).await.ok().map(|a| a.status()) };
    eventually("moderation to answer /readyz", || async {
        (status(readyz.clone()).await? == 503).then_some(())
    })
    .await;
    publish_comment(&bus, "c1", "hello").await;

    proxy.set_down(false);
    eventually("moderation to be ready", || async {
        (status(readyz.clone()).await? == 200).then_some(())
    })
    .await;
    let events = until_moderated(&bus, &["c1"]).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    service.stop().await;
}
