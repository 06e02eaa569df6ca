//! `GET /` answers the page.

use crate::helpers::TestGateway;

#[tokio::test]
async fn the_page_is_served_at_the_root() {
    let gateway = TestGateway::start_with(|_| {}).await;
    let answer = gateway
        .http
        .get(gateway.at("/"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(answer.status(), 200);
    let kind = answer.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(kind.starts_with("text/html"), "{kind}");
    let page = answer.text().await.expect("a body");
    assert!(page.contains("<html"), "{page}");
    gateway.stop().await;
}
