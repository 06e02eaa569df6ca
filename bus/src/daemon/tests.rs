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
