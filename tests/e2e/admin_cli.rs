//! The operator CLI (`minibus events …`, `minibus subs …`) as real processes against a
//! real bus process:
//! - `events`: publish lands in the log with its stream, id and expected version; tail
//!   prints what is published after it starts, `--json` lines are envelopes, it resumes
//!   after a bus restart without a gap or a repeat, and Ctrl-C ends it with status 0;
//! - `subs`: every action's effect seen through the bus's own API, and the tables' values;
//! - here: every error (bus unreachable, unknown subscription, wrong or missing token, the
//!   bus's 4xx) is one line on stderr naming the bus or the subscription, with a non-zero
//!   exit.

mod events;
mod subs;

use crate::helpers::{minibus, run_to_exit, Api, BusProcess, Finished};
use serde_json::{json, Value};

/// A token the bus accepts (16 characters at least).
const TOKEN: &str = "cli-token-0123456789";

/// Runs `minibus ARGS… --bus-url URL` to its end, off the async workers (a test's fake
/// subscriber keeps answering meanwhile).
async fn cli(bus_url: &str, args: &[&str]) -> Finished {
    let mut cmd = minibus();
    cmd.args(args).args(["--bus-url", bus_url]);
    tokio::task::spawn_blocking(move || run_to_exit(cmd))
        .await
        .expect("the CLI's runner")
}

/// Like [`cli`], and the command must succeed: its stdout.
async fn cli_ok(bus_url: &str, args: &[&str]) -> String {
    let done = cli(bus_url, args).await;
    assert!(
        done.status.success(),
        "minibus {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        done.status,
        done.stdout,
        done.stderr
    );
    done.stdout
}

/// A failure as promised: a non-zero exit, nothing on stdout, and one line on stderr
/// starting `minibus: ` that holds every one of `names`, with no debug dump.
fn assert_one_line_error(done: &Finished, names: &[&str]) {
    assert!(!done.status.success(), "it failed: {}", done.status);
    assert_eq!(done.stdout, "", "nothing on stdout");
    let lines: Vec<&str> = done.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", done.stderr);
    let line = lines[0];
    assert!(line.starts_with("minibus: "), "{line}");
    for name in names {
        assert!(line.contains(name), "the error names {name:?}: {line}");
    }
    for dump in ["panicked", "backtrace", "Error {", "Rejected {", "kind:"] {
        assert!(!line.contains(dump), "no debug dump ({dump}): {line}");
    }
}

/// `PUT /subscriptions/NAME` with `spec`, which must succeed.
async fn put_subscription(api_url: &str, token: Option<&str>, name: &str, spec: Value) {
    let mut request = reqwest::Client::new()
        .put(format!("{api_url}/subscriptions/{name}"))
        .json(&spec);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("PUT the subscription");
    assert!(response.status().is_success(), "{}", response.status());
}

/// A loopback URL where nothing listens: a port bound, then released.
fn nothing_listening() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn an_unreachable_bus_is_one_line_naming_its_url() {
    let url = nothing_listening();
    for args in [
        &["subs", "list"][..],
        &["subs", "show", "query"],
        &["subs", "pause", "query"],
        &["events", "publish", "PostCreated", "{}"],
        &["events", "tail"],
        &["events", "tail", "--after", "0"],
    ] {
        let done = cli(&url, args).await;
        assert_one_line_error(&done, &[&url, "cannot reach"]);
    }
}

#[tokio::test]
async fn a_bus_url_that_cannot_be_called_is_one_line_before_any_call() {
    for url in ["notaurl", "https://127.0.0.1:4005"] {
        for args in [
            &["subs", "list"][..],
            &["subs", "pause", "query"],
            &["events", "publish", "PostCreated", "{}"],
            &["events", "tail"],
        ] {
            let done = cli(url, args).await;
            assert_eq!(done.status.code(), Some(1), "{args:?}: {}", done.stderr);
            assert_one_line_error(&done, &["--bus-url", url, "not an http:// URL"]);
        }
    }
}

#[tokio::test]
async fn a_bus_that_never_answers_is_one_line_after_the_request_timeout() {
    // Connections are taken (the kernel's backlog) and never answered: nothing accepts.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", silent.local_addr().expect("addr"));
    for args in [
        &["events", "publish", "X"][..],
        &["subs", "list"],
        &["subs", "pause", "q"],
        &["events", "tail"],
        &["events", "tail", "--after", "0"],
    ] {
        let started = std::time::Instant::now();
        let mut args = args.to_vec();
        args.extend(["--request-timeout-secs", "1"]);
        let done = cli(&url, &args).await;
        assert_one_line_error(&done, &[&url, "did not answer within 1 s"]);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{args:?}"
        );
    }
}

#[tokio::test]
async fn an_unknown_subscription_is_one_line_naming_it_and_the_bus() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus = BusProcess::start(dir.path(), &[]);
    for args in [
        &["subs", "show", "nobody"][..],
        &["subs", "pause", "nobody"],
        &["subs", "resume", "nobody"],
        &["subs", "rewind", "nobody", "--after", "0"],
        &["subs", "skip", "nobody"],
        &["subs", "dead-letters", "nobody"],
        &["subs", "dead-letters", "nobody", "--retry"],
    ] {
        let done = cli(bus.url(), args).await;
        assert_one_line_error(&done, &["\"nobody\"", bus.url()]);
    }
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_one_line_saying_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus = BusProcess::start(dir.path(), &["--token", TOKEN]);
    let api = Api::new(bus.url(), Some(TOKEN));
    put_subscription(
        bus.url(),
        Some(TOKEN),
        "q",
        json!({"url": "http://127.0.0.1:9/"}),
    )
    .await;
    let wrong = "cli-token-XXXXXXXXXX";
    for args in [
        &["subs", "list"][..],
        &["subs", "pause", "q"],
        &["events", "publish", "T"],
        &["events", "tail", "--after", "0"],
        &["subs", "list", "--token", wrong],
        &["events", "publish", "T", "--token", wrong],
        &["events", "tail", "--token", wrong],
    ] {
        let done = cli(bus.url(), args).await;
        assert_one_line_error(&done, &[bus.url(), "token", "401"]);
    }
    assert_eq!(api.info().await["head_seq"], json!(0), "nothing published");
    let status = api.get_ok("/subscriptions/q").await;
    assert_eq!(status["state"], "active", "not paused: {status}");

    let listed = cli_ok(bus.url(), &["subs", "list", "--token", TOKEN]).await;
    assert!(listed.contains("q "), "{listed}");
    let mut from_env = minibus();
    from_env
        .args(["subs", "list", "--json"])
        .env("MINIBUS_BUS_URL", bus.url())
        .env("MINIBUS_TOKEN", TOKEN);
    let done = tokio::task::spawn_blocking(move || run_to_exit(from_env))
        .await
        .expect("runner");
    assert!(done.status.success(), "{}", done.stderr);
    let listed: Value = serde_json::from_str(&done.stdout).expect("JSON");
    assert_eq!(listed[0]["name"], "q", "{listed}");
}

#[tokio::test]
async fn the_bus_refusing_bad_input_is_one_line_with_its_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus = BusProcess::start(dir.path(), &[]);
    put_subscription(bus.url(), None, "q", json!({"url": "http://127.0.0.1:9/"})).await;
    let cases: [(&[&str], &str); 3] = [
        (
            &["subs", "rewind", "q", "--time", "yesterday"],
            "invalid_subscription",
        ),
        (
            &["subs", "rewind", "q", "--after", "99"],
            "cursor_beyond_head",
        ),
        (
            &["events", "publish", "T", "--stream", "not a stream"],
            "400",
        ),
    ];
    for (args, code) in cases {
        let done = cli(bus.url(), args).await;
        assert_one_line_error(&done, &[bus.url(), code]);
    }
    let done = cli(bus.url(), &["events", "publish", "T", "{not json"]).await;
    assert_one_line_error(&done, &["DATA is not JSON"]);
    assert_eq!(
        bus.api().info().await["head_seq"],
        json!(0),
        "nothing published"
    );
}

/// `minibus subs list` against `bus_url` with `MINIBUS_JSON` set to `value`: its stdout.
async fn list_with_json_variable(bus_url: &str, value: &str) -> String {
    let mut cmd = minibus();
    cmd.args(["subs", "list", "--bus-url", bus_url])
        .env("MINIBUS_JSON", value);
    let done = tokio::task::spawn_blocking(move || run_to_exit(cmd))
        .await
        .expect("the CLI's runner");
    assert!(
        done.status.success(),
        "MINIBUS_JSON={value:?}: {}",
        done.stderr
    );
    done.stdout
}

#[tokio::test]
async fn a_boolean_flag_s_variable_takes_1_yes_0_no_and_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus = BusProcess::start(dir.path(), &[]);
    put_subscription(bus.url(), None, "q", json!({"url": "http://127.0.0.1:9/"})).await;
    for on in ["1", "yes", "ON", "true"] {
        let listed = list_with_json_variable(bus.url(), on).await;
        let listed: Value = serde_json::from_str(&listed).expect("--json is JSON");
        assert_eq!(listed[0]["name"], "q", "MINIBUS_JSON={on}: {listed}");
    }
    for off in ["0", "no", "Off", "false", ""] {
        let listed = list_with_json_variable(bus.url(), off).await;
        assert!(
            serde_json::from_str::<Value>(&listed).is_err() && listed.contains("q "),
            "MINIBUS_JSON={off:?}: a table: {listed}"
        );
    }
}

/// A flag and the variable it reads.
type FlagVar = (&'static str, &'static str);

#[test]
fn help_names_every_flag_with_its_variable() {
    let cases: [(&[&str], &[FlagVar]); 4] = [
        (
            &["events", "tail"],
            &[
                ("--after", "MINIBUS_TAIL_AFTER"),
                ("--type", "MINIBUS_TAIL_TYPES"),
            ],
        ),
        (
            &["events", "publish"],
            &[
                ("--stream", "MINIBUS_PUBLISH_STREAM"),
                ("--id", "MINIBUS_PUBLISH_ID"),
                ("--expected-version", "MINIBUS_PUBLISH_EXPECTED_VERSION"),
            ],
        ),
        (
            &["subs", "rewind"],
            &[
                ("--after", "MINIBUS_REWIND_AFTER"),
                ("--time", "MINIBUS_REWIND_TIME"),
                ("--dry-run", "MINIBUS_REWIND_DRY_RUN"),
            ],
        ),
        (
            &["subs", "dead-letters"],
            &[("--retry", "MINIBUS_DEAD_LETTERS_RETRY")],
        ),
    ];
    let shared = [
        ("--bus-url", "MINIBUS_BUS_URL"),
        ("--token", "MINIBUS_TOKEN"),
        ("--json", "MINIBUS_JSON"),
        ("--request-timeout-secs", "MINIBUS_REQUEST_TIMEOUT_SECS"),
    ];
    for (command, flags) in cases {
        let mut cmd = minibus();
        cmd.args(command).arg("--help");
        let help = run_to_exit(cmd);
        assert!(help.status.success(), "{}", help.stderr);
        for (flag, var) in flags.iter().chain(&shared) {
            assert!(
                help.stdout.contains(flag),
                "{command:?} {flag}: {}",
                help.stdout
            );
            assert!(
                help.stdout.contains(var),
                "{command:?} {var}: {}",
                help.stdout
            );
        }
    }
}
