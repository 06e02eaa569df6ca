//! A subscription URL's password (`http://user:password@host/…`, sent as HTTP Basic auth)
//! is never served: every answer shows `***` in its place. A PUT that sends the shown URL
//! back keeps the stored password; a `***` that stands for no stored password is refused.

use crate::helpers::{assert_error, publish_n, spec};
use bus::testkit::FakeSubscriber;
use reqwest::StatusCode;
use serde_json::json;

/// `url` (`http://host…`) with `user:password@` in it.
fn with_credentials(url: &str, user: &str, password: &str) -> String {
    url.replacen("http://", &format!("http://{user}:{password}@"), 1)
}

/// `Basic base64("user:s3cret")`, what each delivery must carry.
const BASIC_USER_S3CRET: &str = "Basic dXNlcjpzM2NyZXQ=";

#[tokio::test]
async fn a_url_password_is_shown_as_stars_everywhere_and_still_sent() {
    let app = crate::helpers::spawn_app().await;
    let sub = FakeSubscriber::start().await;
    let real = with_credentials(&sub.url, "user", "s3cret");
    let shown = with_credentials(&sub.url, "user", "***");
    let created = app.create_sub("n4", spec(&real, json!({}))).await;
    assert_eq!(created["url"], shown.as_str(), "{created}");
    assert_eq!(app.sub("n4").await["url"], shown.as_str());
    let listed = app.get_text("/subscriptions").await;
    assert!(listed.contains(&shown), "{listed}");
    for answer in [created.to_string(), listed] {
        assert!(
            !answer.contains("s3cret"),
            "the password is served: {answer}"
        );
    }

    publish_n(&app, "A", 1).await;
    let first = sub.next_request().await;
    assert_eq!(first.header("authorization"), Some(BASIC_USER_S3CRET));

    // The status sent back as it was shown (another batch size): the password is kept.
    let (code, updated) = app.put_sub("n4", spec(&shown, json!({"batch": 10}))).await;
    assert_eq!(code, StatusCode::OK, "{updated}");
    assert_eq!(updated["url"], shown.as_str());
    assert_eq!(updated["batch"], 10);
    publish_n(&app, "A", 1).await;
    let second = sub.next_request().await;
    assert_eq!(second.seqs, [2]);
    assert_eq!(second.header("authorization"), Some(BASIC_USER_S3CRET));
}

#[tokio::test]
async fn stars_that_stand_for_no_stored_password_are_refused() {
    let app = crate::helpers::spawn_app().await;
    let sub = FakeSubscriber::start().await;
    let shown = with_credentials(&sub.url, "user", "***");
    let (code, body) = app.put_sub("new", spec(&shown, json!({}))).await;
    assert_error(
        code,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_subscription",
        "a new one",
    );
    assert!(app.get_array("/subscriptions").await.is_empty());

    app.create_sub(
        "n4",
        spec(&with_credentials(&sub.url, "user", "s3cret"), json!({})),
    )
    .await;
    let other_path = format!("{shown}/elsewhere");
    for (case, url) in [
        ("another user", with_credentials(&sub.url, "admin", "***")),
        ("another path", other_path),
    ] {
        let (code, body) = app.put_sub("n4", spec(&url, json!({}))).await;
        assert_error(
            code,
            &body,
            StatusCode::BAD_REQUEST,
            "invalid_subscription",
            case,
        );
    }
    let (code, body) = app.put_sub("plain", spec(&sub.url, json!({}))).await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    let (code, body) = app
        .put_sub(
            "plain",
            spec(&with_credentials(&sub.url, "user", "***"), json!({})),
        )
        .await;
    assert_error(
        code,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_subscription",
        "none stored",
    );
    // Nothing refused was stored.
    assert_eq!(
        app.sub("n4").await["url"],
        with_credentials(&sub.url, "user", "***").as_str()
    );
    assert_eq!(app.sub("plain").await["url"], sub.url.as_str());
}
