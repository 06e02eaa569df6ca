//! The daemon over the real store with an injected `fdatasync` failure, through real HTTP.

use super::*;
use crate::daemon::store::SledLog;

async fn publish(client: &reqwest::Client, url: &str, id: &str) -> Result<u16, reqwest::Error> {
    let body = format!(r#"{{"id":"{id}","type":"T","data":{{}}}}"#);
    let answer = client
        .post(format!("{url}/events"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    Ok(answer.status().as_u16())
}

#[tokio::test]
async fn a_failed_sync_answers_503_stops_the_bus_and_acknowledges_nothing_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) = SledLog::open(dir.path(), 8).expect("open");
    let disk = log.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let url = format!("http://{addr}");
    let config = BusConfig::new(addr, dir.path().to_path_buf());
    let db = log.db().clone();
    let server = tokio::spawn(serve(
        listener,
        config,
        Vec::new(),
        Arc::new(log),
        db,
        CancellationToken::new(),
    ));
    let client = reqwest::Client::new();

    assert_eq!(publish(&client, &url, "a").await.expect("a"), 201);
    disk.fail_syncs(true);
    assert_eq!(
        publish(&client, &url, "b").await.expect("b"),
        503,
        "a publish whose flush could not be synced is not acknowledged"
    );
    // The disk is back, but the bus has stopped writing: nothing more is acknowledged,
    // whether it still answers (503) or has already closed its port.
    disk.fail_syncs(false);
    for id in ["c", "a"] {
        if let Ok(status) = publish(&client, &url, id).await {
            assert_eq!(status, 503, "{id} after the failure");
        }
    }
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("the bus stops by itself")
        .expect("task")
        .expect("served");
    assert!(stopped.storage_failed);

    // What a restart finds: "a" (acknowledged) at seq 1; "c" never applied; "b" (answered
    // 503, outcome unknown) may or may not be there.
    drop(disk);
    let log = reopen(dir.path()).await;
    assert_eq!(log.seq_of_id("a").expect("read"), Some(1));
    assert_eq!(log.seq_of_id("c").expect("read"), None);
}

/// Opens the store again once the last run's sled threads have let go of its lock.
async fn reopen(dir: &std::path::Path) -> SledLog {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match SledLog::open(dir, 8) {
            Ok((log, _)) => return log,
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::debug!(%e, "store still locked");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => panic!("cannot reopen the store: {e}"),
        }
    }
}

/// The texts of `error` and its sources, outermost first.
fn chain_of(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut texts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(next) = source {
        texts.push(next.to_string());
        source = next.source();
    }
    texts
}

/// Each error of the daemon that has a source leaves it out of its own message: the binary
/// prints the whole chain (`{:#}`), which would otherwise say every cause twice.
#[test]
fn no_error_repeats_its_cause() {
    use crate::daemon::subs::{SubError, SubStoreError};
    let disk = || std::io::Error::other("the disk is on fire");
    let sled_failed = || StoreError::Engine(sled::Error::Io(disk()));
    let errors: Vec<Box<dyn std::error::Error + 'static>> = vec![
        Box::new(store_error(
            &BusConfig::new(DEFAULT, "d".into()),
            sled_failed(),
        )),
        Box::new(subscriptions_error(
            "cannot load the subscriptions".into(),
            SubError::Store(SubStoreError::Engine(sled::Error::Io(disk()))),
        )),
        Box::new(subscriptions_error(
            "cannot load the subscriptions".into(),
            SubError::Log(sled_failed()),
        )),
        Box::new(DaemonError::Thread {
            name: "minibus-writer",
            source: disk(),
        }),
        Box::new(DaemonError::Io(disk())),
        Box::new(writer::StartError::Thread {
            name: "minibus-flusher",
            source: disk(),
        }),
        Box::new(SubError::Thread(disk())),
        Box::new(SubStoreError::Encode(
            serde_json::from_str::<u8>("x").expect_err("not JSON"),
        )),
    ];
    for error in errors {
        let chain = chain_of(error.as_ref());
        for pair in chain.windows(2) {
            assert!(!pair[0].contains(&pair[1]), "{chain:?}");
        }
        assert!(
            chain.len() > 1,
            "the cause is kept as the source: {chain:?}"
        );
    }
}

/// A store that another process holds, or that an unfinished import left, is refused in
/// one sentence naming its dir once, as `bus import` and `bus check` say it.
#[test]
fn a_refused_store_is_said_once() {
    let config = BusConfig::new(DEFAULT, "/data/bus".into());
    let locked = StoreError::Engine(sled::Error::Io(std::io::Error::new(
        std::io::ErrorKind::WouldBlock,
        "could not acquire lock on \"/data/bus/db\"",
    )));
    let unfinished = StoreError::ImportUnfinished {
        dir: "/data/bus".into(),
        continued: false,
    };
    for (refused, says) in [
        (
            locked,
            "the store in /data/bus is in use (is a bus running on it?)",
        ),
        (
            unfinished,
            "an import into /data/bus did not finish: delete it",
        ),
    ] {
        let chain = chain_of(&open_error(&config, refused));
        assert_eq!(chain.len(), 1, "{chain:?}");
        assert!(chain[0].starts_with(says), "{chain:?}");
        assert_eq!(chain[0].matches("/data/bus").count(), 1, "{chain:?}");
    }
}

const DEFAULT: std::net::SocketAddr = BusConfig::DEFAULT_LISTEN;
