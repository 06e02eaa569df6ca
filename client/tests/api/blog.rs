//! The blog's routes through the gateway to the real services: each upstream's status,
//! body and headers come back unchanged.

use crate::stack::TestStack;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

fn header(answer: &Response, name: &str) -> Option<String> {
    let value = answer.headers().get(name)?;
    Some(value.to_str().expect("ascii").to_string())
}

/// `header` as a number (it must be there).
fn number(answer: &Response, name: &str) -> u64 {
    let value = header(answer, name).unwrap_or_else(|| panic!("no {name}"));
    value.parse().expect("a number")
}

#[tokio::test]
async fn writes_and_reads_of_the_blog_go_to_their_service_and_come_back_unchanged() {
    let stack = TestStack::start().await;
    let gateway = stack.gateway(false).await;
    let http = gateway.http();

    let created = http
        .post(gateway.at("/posts"))
        .json(&json!({"title": " Hello "}));
    let created = created.send().await.expect("an answer");
    assert_eq!(created.status(), StatusCode::CREATED);
    let seq = number(&created, "minibus-seq");
    let post: Value = created.json().await.expect("JSON");
    assert_eq!(post["title"], "Hello");
    let id = post["id"].as_str().expect("an id").to_string();

    let course = http
        .post(gateway.at("/posts/create"))
        .json(&json!({"title": "Second"}));
    let course = course.send().await.expect("an answer");
    assert_eq!(course.status(), StatusCode::CREATED);
    assert!(number(&course, "minibus-seq") > seq);

    // query, waiting for the write's seq as the page does: the post is there at once.
    let listed = http.get(gateway.at(&format!("/posts?min_seq={seq}&wait_ms=5000")));
    let listed = listed.send().await.expect("an answer");
    assert_eq!(listed.status(), StatusCode::OK);
    assert!(number(&listed, "minibus-applied-seq") >= seq);
    let page: Value = listed.json().await.expect("JSON");
    assert_eq!(page[&id]["title"], "Hello", "{page}");
    let direct = reqwest::get(stack.query.at(&format!("/posts?min_seq={seq}")));
    let direct: Value = direct.await.expect("query").json().await.expect("JSON");
    assert_eq!(page[&id], direct[&id]);

    let one = http
        .get(gateway.at(&format!("/posts/{id}")))
        .send()
        .await
        .expect("an answer");
    assert_eq!(one.status(), StatusCode::OK);
    assert!(header(&one, "content-type").is_some_and(|t| t.starts_with("application/json")));
    let one: Value = one.json().await.expect("JSON");
    assert_eq!(one["id"], id.as_str());

    let path = format!("/posts/{id}/comments");
    let comment = http
        .post(gateway.at(&path))
        .json(&json!({"content": "Nice"}));
    let comment = comment.send().await.expect("an answer");
    assert_eq!(comment.status(), StatusCode::CREATED);
    assert!(number(&comment, "minibus-seq") > seq);
    let comments: Value = comment.json().await.expect("JSON");
    assert_eq!(comments[0]["content"], "Nice", "{comments}");
    let listed = http.get(gateway.at(&path)).send().await.expect("an answer");
    assert_eq!(listed.status(), StatusCode::OK);
    let listed: Value = listed.json().await.expect("JSON");
    assert_eq!(listed[0]["id"], comments[0]["id"]);
    gateway.stop().await;
}

#[tokio::test]
async fn the_services_refusals_come_back_unchanged() {
    let stack = TestStack::start().await;
    let gateway = stack.gateway(false).await;
    let http = gateway.http();

    let empty = http
        .post(gateway.at("/posts"))
        .json(&json!({"title": "  "}));
    let empty = empty.send().await.expect("an answer");
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    let body: Value = empty.json().await.expect("JSON");
    assert_eq!(body["error"], "invalid_title", "{body}");

    let text = http
        .post(gateway.at("/posts/create"))
        .body("{\"title\": \"x\"}");
    let text = text
        .header("content-type", "text/plain")
        .send()
        .await
        .expect("an answer");
    assert_eq!(text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let missing = http.get(gateway.at("/posts/0000000000000000")).send().await;
    let missing = missing.expect("an answer");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(
        header(&missing, "minibus-applied-seq").is_some(),
        "query's header passes"
    );
    let body: Value = missing.json().await.expect("JSON");
    assert_eq!(body["error"], "not_found", "{body}");

    let bad_wait = http.get(gateway.at("/posts?wait_ms=lots")).send().await;
    assert_eq!(
        bad_wait.expect("an answer").status(),
        StatusCode::BAD_REQUEST
    );
    gateway.stop().await;
}
