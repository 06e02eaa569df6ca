//! While the bus is down, writes still succeed; their events go out once it is back, none
//! lost and none twice.

use crate::helpers::{assert_ids_unique, log, notes_in, until_drained, Service};
use bus::testkit::{spawn_bus, PATIENCE};
use std::time::{Duration, Instant};

#[tokio::test]
async fn writes_succeed_while_the_bus_is_down_and_go_out_once_it_is_back() {
    let bus = spawn_bus().await;
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(dir.path());
    let _relay = service.spawn_relay(bus.url());
    for n in 0..3 {
        let written = service.note(n).await;
        assert!(service.outbox.wait_for(&written, PATIENCE).await.is_some());
    }

    let stopped = bus.stop().await;
    for n in 3..23 {
        let written = service.note(n).await;
        let short = Duration::from_millis(if n == 3 { 300 } else { 1 });
        assert_eq!(service.outbox.wait_for(&written, short).await, None);
    }
    assert_eq!(
        service.outbox.pending_count(),
        20,
        "kept while the bus is down"
    );

    let bus = stopped.start_on_same_port().await;
    until_drained(&service.outbox).await;
    let log = log(bus.url()).await;
    assert_eq!(notes_in(&log), (0..23).collect::<Vec<_>>());
    assert_ids_unique(&log);
    assert!(service.outbox.parked().unwrap().is_empty());
}

#[tokio::test]
async fn wait_published_gives_up_after_its_timeout_while_the_bus_is_down() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(dir.path());
    let _relay = service.spawn_relay(&url);
    let written = service.note(1).await;
    let started = Instant::now();
    let timeout = Duration::from_millis(200);
    assert_eq!(service.outbox.wait_for(&written, timeout).await, None);
    assert!(started.elapsed() >= timeout);
    assert_eq!(service.outbox.pending_count(), 1);
}

#[tokio::test]
async fn a_bus_refusing_the_relays_token_is_retried_not_parked() {
    let bus =
        bus::testkit::spawn_bus_with(|c| c.token = Some("a-token-of-sixteen-chars".into())).await;
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(dir.path());
    service.note(1).await;
    let mut relay = service.outbox.relay(bus.url(), None);
    assert!(matches!(
        relay.relay_once().await,
        bus::sdk::Pass::Failed { .. }
    ));
    assert_eq!(service.outbox.pending_count(), 1);
    assert!(service.outbox.parked().unwrap().is_empty());
    let mut relay = service
        .outbox
        .relay(bus.url(), Some("a-token-of-sixteen-chars".into()));
    assert!(matches!(
        relay.relay_once().await,
        bus::sdk::Pass::Published { count: 1, .. }
    ));
}
