//! The subscription actions refuse what another site's page sends through the user's
//! browser (a "simple" request needs no preflight: a `POST` with no body, or `text/plain`),
//! and take the gateway's own page's requests and those of no browser (curl, the CLI).

use crate::passthrough::gateway_to_fakes;
use reqwest::StatusCode;
use serde_json::Value;

const ACTIONS: [&str; 3] = ["pause", "resume", "rewind"];

#[tokio::test]
async fn another_sites_requests_are_refused_and_never_reach_the_bus() {
    let (fakes, gateway) = gateway_to_fakes().await;
    let evil: [(&str, &str); 4] = [
        ("origin", "http://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ];
    for action in ACTIONS {
        let url = gateway.at(&format!("/bus/subscriptions/query/{action}"));
        for (name, value) in evil {
            let no_body = gateway.http().post(&url).header(name, value);
            let text = no_body.try_clone().expect("a request");
            let text = text
                .header("content-type", "text/plain")
                .body("{\"after\": 0}");
            for request in [no_body, text] {
                let answer = request.send().await.expect("an answer");
                assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{action} {name}");
                let body: Value = answer.json().await.expect("JSON");
                assert_eq!(body["error"], "cross_origin_refused", "{action}: {body}");
            }
        }
    }
    assert!(fakes[3].seen().is_empty(), "an action reached the bus");
    gateway.stop().await;
}

#[tokio::test]
async fn a_body_not_declared_json_is_refused() {
    let (fakes, gateway) = gateway_to_fakes().await;
    for action in ACTIONS {
        let url = gateway.at(&format!("/bus/subscriptions/query/{action}"));
        for kind in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            None,
        ] {
            let request = gateway.http().post(&url).body("{\"after\": 0}");
            let request = match kind {
                Some(kind) => request.header("content-type", kind),
                None => request,
            };
            let answer = request.send().await.expect("an answer");
            assert_eq!(answer.status(), 415, "{action} {kind:?}");
            let body: Value = answer.json().await.expect("JSON");
            assert_eq!(body["error"], "unsupported_media_type", "{action}: {body}");
        }
    }
    assert!(fakes[3].seen().is_empty(), "an action reached the bus");
    gateway.stop().await;
}

#[tokio::test]
async fn the_gateways_own_page_and_no_browser_are_taken() {
    let (fakes, gateway) = gateway_to_fakes().await;
    let own = format!("http://{}", gateway.authority());
    for action in ACTIONS {
        let url = gateway.at(&format!("/bus/subscriptions/query/{action}"));
        let page = gateway
            .http()
            .post(&url)
            .header("origin", &own)
            .header("sec-fetch-site", "same-origin")
            .header("content-type", "application/json; charset=utf-8")
            .body("{\"after\": 0}");
        let curl = gateway.http().post(&url);
        for request in [page, curl] {
            let answer = request.send().await.expect("an answer");
            assert_eq!(answer.status(), StatusCode::ACCEPTED, "{action}");
        }
    }
    assert_eq!(fakes[3].seen().len(), 2 * ACTIONS.len());
    gateway.stop().await;
}
