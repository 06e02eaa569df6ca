//! `min_seq` and `wait_ms`: a reader waits for a seq it knows about (its write's
//! `Minibus-Seq`); every answer says which seq it holds.

use crate::helpers::*;
use std::time::{Duration, Instant};

#[tokio::test]
async fn min_seq_waits_for_a_later_publish() {
    let bus = spawn_bus().await;
    let dir = tempfile::tempdir().unwrap();
    let query = QueryApp::start(&bus, dir.path(), false).await;
    query.until_ready().await;
    let first = publish(&bus, &[post_created("p1", "one")]).await[0];
    query.posts_after(first).await;

    let next = first + 1;
    let mut waiting = {
        let url = format!("{}/posts?min_seq={next}&wait_ms=10000", query.url());
        tokio::spawn(async move { reqwest::get(url).await.unwrap() })
    };
    // The reader waits: no answer (with only the first post) while nothing is published.
    let early = tokio::time::timeout(Duration::from_millis(300), &mut waiting).await;
    assert!(early.is_err(), "answered before seq {next} existed");
    publish(&bus, &[post_created("p2", "two")]).await;
    let answer = tokio::time::timeout(bus::testkit::PATIENCE, waiting)
        .await
        .expect("answers once applied")
        .unwrap();
    assert_eq!(answer.status(), 200);
    let applied = answer.headers()["minibus-applied-seq"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(applied, next.to_string());
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["p2"]["title"], "two", "{body}");
}

#[tokio::test]
async fn past_wait_ms_it_answers_200_with_what_it_has() {
    let bus = spawn_bus().await;
    let dir = tempfile::tempdir().unwrap();
    let query = QueryApp::start(&bus, dir.path(), false).await;
    let seq = publish(&bus, &[post_created("p1", "one")]).await[0];
    query.posts_after(seq).await;
    let started = Instant::now();
    let answer = query
        .get(&format!("/posts?min_seq={}&wait_ms=200", seq + 5))
        .await;
    assert!(started.elapsed() >= Duration::from_millis(200), "it waited");
    assert_eq!((answer.status, answer.applied()), (200, seq));
    assert_eq!(answer.json()["p1"]["title"], "one");
    let one = query
        .get(&format!("/posts/p1?min_seq={}&wait_ms=50", seq + 5))
        .await;
    assert_eq!((one.status, one.applied()), (200, seq));
}

#[tokio::test]
async fn bad_wait_values_are_400_with_the_seq_applied() {
    let bus = spawn_bus().await;
    let dir = tempfile::tempdir().unwrap();
    let query = QueryApp::start(&bus, dir.path(), false).await;
    for path in [
        "/posts?min_seq=abc",
        "/posts?min_seq=-1",
        "/posts?wait_ms=10001",
        "/posts?min_seq=1&wait_ms=1e3",
        "/posts/p1?min_seq=1&min_seq=2",
    ] {
        let answer = query.get(path).await;
        assert_eq!(
            (answer.status, answer.json()["error"].as_str()),
            (400, Some("invalid_query")),
            "{path}"
        );
        assert_eq!(answer.applied(), 0, "{path}");
    }
    let fine = query.get("/posts?wait_ms=10000&utm_source=x").await;
    assert_eq!(fine.status, 200, "no min_seq: nothing to wait for");
}
