//! What a blog service refuses at start, before it announces that it listens: each refusal
//! one line on stderr (`minibus: …`), exit status 1, nothing on stdout.

use crate::helpers::{minibus, run_to_exit, Finished};

/// The blog services that call the bus.
const SERVICES: [&str; 4] = ["posts", "comments", "moderation", "query"];

/// `minibus SERVICE --listen LISTEN --data-dir <temp> EXTRA…`, run to its end.
fn start(service: &str, listen: &str, extra: &[&str]) -> Finished {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = minibus();
    cmd.args([service, "--listen", listen, "--data-dir"])
        .arg(dir.path())
        .args(extra);
    run_to_exit(cmd)
}

/// Exit status 1, nothing announced, and one line on stderr holding every one of `names`.
fn assert_refused(done: &Finished, names: &[&str]) {
    assert_eq!(done.status.code(), Some(1), "stderr: {}", done.stderr);
    assert_eq!(done.stdout, "", "nothing announced");
    let lines: Vec<&str> = done.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {:?}", done.stderr);
    assert!(lines[0].starts_with("minibus: "), "{}", lines[0]);
    for name in names {
        assert!(lines[0].contains(name), "{name:?} in {:?}", lines[0]);
    }
}

#[test]
fn a_bus_url_that_cannot_be_called_is_refused_at_start() {
    for url in ["notaurl", "https://127.0.0.1:4005"] {
        for service in SERVICES {
            let done = start(service, "127.0.0.1:0", &["--bus-url", url]);
            assert_refused(&done, &["--bus-url", url, "not an http:// URL"]);
        }
    }
}

#[test]
fn every_interface_without_an_advertise_url_is_refused_before_listening() {
    for service in ["comments", "moderation", "query"] {
        let done = start(service, "0.0.0.0:0", &[]);
        assert_refused(&done, &["0.0.0.0:0", "--advertise-url"]);
    }
}
