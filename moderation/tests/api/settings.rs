//! Settings moderation refuses to start with.

use crate::helpers::start_moderation;
use bus::testkit::{spawn_bus, spawn_bus_with};
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
    assert!(matches!(ended, Err(RunError::Registration(_))), "{ended:?}");
}
