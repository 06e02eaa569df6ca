//! `GET /metrics`: classic Prometheus text unless the request's `Accept` prefers
//! OpenMetrics, each checked by a tool that reads it (promtool for classic text, the
//! official Python client's strict OpenMetrics parser for OpenMetrics), every family with
//! HELP text, after real publishes and a real subscription's deliveries.

use crate::helpers::{publish_n, spawn_app, spec, TestApp};
use bus::testkit::{tools, FakeSubscriber};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::io::Write;
use std::process::{Command, Output, Stdio};

const CLASSIC: &str = "text/plain; version=0.0.4; charset=utf-8";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What a Prometheus 2.x server sends when it scrapes.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,\
    application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// Every family the bus exports, as OpenMetrics names them (classic text names a counter
/// `<family>_total`).
const FAMILIES: [(&str, &str); 8] = [
    ("minibus_subscription_delivered", "counter"),
    ("minibus_subscription_failures", "counter"),
    ("minibus_subscription_lag", "gauge"),
    ("minibus_subscription_lag_seconds", "gauge"),
    ("minibus_events_appended", "counter"),
    ("minibus_publish_duration_seconds", "histogram"),
    ("minibus_commit_batch_events", "histogram"),
    ("minibus_head_seq", "gauge"),
];

/// A bus that has appended five events and delivered them to a subscriber, so that every
/// family has samples (the subscriber is kept running with it).
async fn busy_bus() -> (TestApp, FakeSubscriber) {
    let app = spawn_app().await;
    let subscriber = FakeSubscriber::start().await;
    app.create_sub("reader", spec(&subscriber.url, json!({})))
        .await;
    publish_n(&app, "A", 5).await;
    app.until_cursor("reader", 5).await;
    (app, subscriber)
}

/// `GET /metrics` with this `Accept` (or none): its `Content-Type` and body.
async fn scrape(app: &TestApp, accept: Option<&str>) -> (String, String) {
    let mut request = app.request(Method::GET, "/metrics");
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let answer = request.send().await.expect("GET /metrics");
    assert_eq!(answer.status(), StatusCode::OK, "Accept: {accept:?}");
    let vary = answer.headers().get("vary").cloned();
    assert_eq!(vary.as_ref().map(|v| v.to_str().ok()), Some(Some("Accept")));
    let content_type = answer.headers().get("content-type").cloned();
    let content_type = content_type
        .and_then(|v| v.to_str().ok().map(str::to_owned))
        .unwrap_or_default();
    (content_type, answer.text().await.expect("a body"))
}

/// Runs `program` with `args`, `input` as its standard input.
fn run_with_stdin(program: &std::path::Path, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write stdin");
    drop(stdin);
    child.wait_with_output().expect("wait")
}

/// Parses `body` with the official Python client's OpenMetrics parser (which refuses
/// anything off the specification, a missing `# EOF` included): `name type` of each
/// family, or what the parser said. A family without HELP text is refused too.
fn openmetrics_families(body: &str) -> Result<Vec<String>, String> {
    const PARSE: &str = "import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    if not family.documentation:
        sys.exit(f'{family.name}: no HELP text')
    print(family.name, family.type)
";
    let output = run_with_stdin(&tools::python(), &["-c", PARSE], body);
    let stdout = String::from_utf8_lossy(&output.stdout);
    match output.status.success() {
        true => Ok(stdout.lines().map(str::to_owned).collect()),
        false => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
    }
}

/// The families of a text exposition whose `# TYPE` line has no `# HELP` line of text
/// before it, and the samples of no declared family.
fn without_help(body: &str) -> Vec<String> {
    let mut helped = Vec::new();
    let mut typed = Vec::new();
    let mut missing = Vec::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            if !text.trim().is_empty() {
                helped.push(name.to_owned());
            }
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap_or_default().to_owned();
            if !helped.contains(&name) {
                missing.push(format!("family {name}"));
            }
            typed.push(name);
        } else if !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            let declared = typed.iter().any(|family| {
                ["", "_total", "_bucket", "_sum", "_count"]
                    .iter()
                    .any(|suffix| name == format!("{family}{suffix}"))
            });
            if !declared {
                missing.push(format!("sample {name}"));
            }
        }
    }
    missing
}

#[tokio::test]
async fn classic_text_by_default_is_clean_for_promtool() {
    let (app, _subscriber) = busy_bus().await;
    for accept in [None, Some("*/*"), Some("text/plain;version=0.0.4")] {
        let (content_type, body) = scrape(&app, accept).await;
        assert_eq!(content_type, CLASSIC, "Accept: {accept:?}");
        assert!(!body.contains("# EOF"), "{body}");
        let checked = run_with_stdin(&tools::promtool(), &["check", "metrics"], &body);
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&checked.stdout),
            String::from_utf8_lossy(&checked.stderr)
        );
        assert!(
            checked.status.success() && said.trim().is_empty(),
            "promtool check metrics ({:?}): {said}\n{body}",
            checked.status
        );
        assert_eq!(without_help(&body), Vec::<String>::new(), "{body}");
        for sample in [
            "minibus_events_appended_total 5",
            "minibus_head_seq 5",
            r#"minibus_subscription_delivered_total{subscription="reader"} 5"#,
            r#"minibus_subscription_lag{subscription="reader"} 0"#,
        ] {
            assert!(body.lines().any(|l| l == sample), "{sample}: {body}");
        }
        for (family, kind) in FAMILIES {
            let family = match kind {
                "counter" => format!("{family}_total"),
                _ => family.to_owned(),
            };
            let declared = format!("# TYPE {family} {kind}");
            assert!(body.lines().any(|l| l == declared), "{declared}: {body}");
        }
    }
}

#[tokio::test]
async fn openmetrics_when_accept_prefers_it_parses_strictly() {
    let (app, _subscriber) = busy_bus().await;
    let (content_type, body) = scrape(&app, Some(PROMETHEUS_ACCEPT)).await;
    assert_eq!(content_type, OPENMETRICS);
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert_eq!(without_help(&body), Vec::<String>::new(), "{body}");
    let families = openmetrics_families(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));
    let mut expected: Vec<String> = FAMILIES.iter().map(|(n, t)| format!("{n} {t}")).collect();
    let mut found = families;
    expected.sort();
    found.sort();
    assert_eq!(found, expected, "{body}");
    let counted = r#"minibus_subscription_delivered_total{subscription="reader"} 5"#;
    assert!(body.lines().any(|l| l == counted), "{body}");
}

#[tokio::test]
async fn an_idle_bus_passes_both_checks_with_families_of_no_samples() {
    let app = spawn_app().await;
    let (_, classic) = scrape(&app, None).await;
    let checked = run_with_stdin(&tools::promtool(), &["check", "metrics"], &classic);
    assert!(checked.status.success(), "{checked:?}\n{classic}");
    assert!(
        checked.stdout.is_empty() && checked.stderr.is_empty(),
        "{checked:?}"
    );
    let (_, openmetrics) = scrape(&app, Some(PROMETHEUS_ACCEPT)).await;
    let families = openmetrics_families(&openmetrics).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(families.len(), FAMILIES.len(), "{openmetrics}");
}

#[tokio::test]
async fn the_classic_form_is_not_openmetrics_and_the_checks_can_tell() {
    // Each check fails on the other format: they are not vacuous.
    let (app, _subscriber) = busy_bus().await;
    let (_, classic) = scrape(&app, None).await;
    assert!(
        openmetrics_families(&classic).is_err(),
        "no # EOF: {classic}"
    );
    let (_, openmetrics) = scrape(&app, Some("application/openmetrics-text")).await;
    let checked = run_with_stdin(&tools::promtool(), &["check", "metrics"], &openmetrics);
    assert!(
        !checked.status.success(),
        "promtool reads OpenMetrics counters as families without HELP"
    );
    let unhelpful = classic.replace("# HELP minibus_head_seq ", "# HELP minibus_other ");
    assert_eq!(without_help(&unhelpful), ["family minibus_head_seq"]);
}

#[tokio::test]
async fn the_format_follows_the_accept_header() {
    let app = spawn_app().await;
    for (accept, expected) in [
        ("application/openmetrics-text", OPENMETRICS),
        ("application/openmetrics-text; version=1.0.0", OPENMETRICS),
        (
            "text/plain;q=0.5, application/openmetrics-text;q=0.9",
            OPENMETRICS,
        ),
        (
            "application/openmetrics-text;q=0.5, text/plain;q=0.9",
            CLASSIC,
        ),
        ("application/openmetrics-text;version=0.0.1", CLASSIC),
        ("application/json", CLASSIC),
        ("text/plain", CLASSIC),
    ] {
        let (content_type, _) = scrape(&app, Some(accept)).await;
        assert_eq!(content_type, expected, "Accept: {accept}");
    }
}

#[tokio::test]
async fn the_openapi_document_lists_both_formats() {
    let app = spawn_app().await;
    let (status, document) = app.get_json("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let content = &document["paths"]["/metrics"]["get"]["responses"]["200"]["content"];
    for media in ["text/plain", "application/openmetrics-text"] {
        assert!(content.get(media).is_some(), "{media}: {content}");
    }
}
