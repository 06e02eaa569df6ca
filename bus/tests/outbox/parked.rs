//! An entry the bus can never accept (4xx) is parked, with an ERROR log, and the entries
//! after it flow.

use crate::helpers::{log, noted, notes_in, until_drained, Service};
use bus::sdk::{Publisher, PUBLISH_WAIT};
use bus::testkit::spawn_bus;
use bus::NewEvent;

#[tokio::test]
async fn an_entry_the_bus_refuses_is_parked_and_the_later_ones_flow() {
    let bus = spawn_bus().await;
    // An id the service will reuse for another event: 409 id_conflict.
    let mut other = NewEvent::new("Other", &1).unwrap();
    other.id = Some("taken".into());
    Publisher::new(bus.url(), None)
        .publish(other)
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(dir.path());
    service.note(0).await;
    let mut conflicting = noted(1);
    conflicting.id = Some("taken".into());
    let refused = service.write_with(1, conflicting).await;
    service.note(2).await;
    let mut nameless = noted(3);
    nameless.ty = String::new(); // 400: a type is required
    let invalid = service.write_with(3, nameless).await;
    service.note(4).await;

    let _relay = service.spawn_relay(bus.url());
    until_drained(&service.outbox).await;
    assert_eq!(notes_in(&log(bus.url()).await), [0, 2, 4]);
    let parked = service.outbox.parked().unwrap();
    let keys: Vec<u64> = parked.iter().map(|(key, _)| *key).collect();
    assert_eq!(keys, [refused.keys[0], invalid.keys[0]]);
    assert!(parked[0].1.contains(r#""id":"taken""#), "{}", parked[0].1);
    assert_eq!(service.outbox.wait_for(&refused, PUBLISH_WAIT).await, None);

    // Later writes go out in arrays again.
    let later = service.note(5).await;
    assert!(service
        .outbox
        .wait_for(&later, PUBLISH_WAIT)
        .await
        .is_some());
}
