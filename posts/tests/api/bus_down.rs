//! While the bus is down (stopped, or never there), writes still answer 201, without
//! `Minibus-Seq`; once a bus is back at the URL posts has, every event arrives, once.

use crate::helpers::{created_ids, data_dir, log, Created, TestPosts};
use bus::daemon::BusConfig;
use bus::sdk::PUBLISH_WAIT;
use bus::testkit::{eventually, spawn_bus};
use reqwest::StatusCode;
use std::time::Instant;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Asserts that a write answered 201 without a seq, and only after the publish wait.
fn assert_unpublished(created: &Created, started: Instant) {
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.seq, None, "no Minibus-Seq while the bus is down");
    assert!(
        started.elapsed() >= PUBLISH_WAIT,
        "it waited for the bus first"
    );
}

/// Waits until the log at `bus_url` holds a `PostCreated` for each of `ids`, then asserts
/// that it holds exactly those, each once, in the order written.
async fn until_published_once(bus_url: &str, ids: &[String]) {
    eventually("every post's PostCreated on the bus", || async {
        (created_ids(&log(bus_url).await).len() >= ids.len()).then_some(())
    })
    .await;
    assert_eq!(created_ids(&log(bus_url).await), ids);
}

#[tokio::test]
async fn writes_succeed_while_the_bus_is_stopped_and_their_events_arrive_once_it_is_back() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let posts = TestPosts::start(dir.path(), bus.url()).await;
    let mut ids = vec![posts.create("before").await.id().to_string()];

    let stopped = bus.stop().await;
    for n in 0..3 {
        let started = Instant::now();
        let created = posts.create(&format!("during {n}")).await;
        assert_unpublished(&created, started);
        ids.push(created.id().to_string());
    }
    assert_eq!(posts.list().await.1.as_object().unwrap().len(), 4);

    let bus = stopped.start_on_same_port().await;
    until_published_once(bus.url(), &ids).await;
    let after = posts.create("after").await;
    assert!(
        after.seq.is_some(),
        "the relay is back to answering in time"
    );
    ids.push(after.id().to_string());
    assert_eq!(created_ids(&log(bus.url()).await), ids);
}

#[tokio::test]
async fn writes_succeed_with_nothing_listening_at_the_bus_url_and_go_out_once_a_bus_is_there() {
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listen = port.local_addr().unwrap();
    drop(port);
    let bus_url = format!("http://{listen}");
    let dir = data_dir();
    let posts = TestPosts::start(dir.path(), &bus_url).await;
    let mut ids = Vec::new();
    for n in 0..2 {
        let started = Instant::now();
        let created = posts.create(&format!("nobody there {n}")).await;
        assert_unpublished(&created, started);
        ids.push(created.id().to_string());
    }

    let bus_dir = data_dir();
    let listener = TcpListener::bind(listen)
        .await
        .expect("the port is still free");
    let shutdown = CancellationToken::new();
    let config = BusConfig::new(listen, bus_dir.path().join("bus"));
    tokio::spawn(bus::daemon::run(listener, config, shutdown.clone()));
    until_published_once(&bus_url, &ids).await;
    shutdown.cancel();
}
