//! A route's parameter cannot lead its call out of the route: a `.` or `..` segment,
//! percent-encoded or not, is a `404` that reaches no upstream (a URL would resolve it to
//! another path); a `%2F` stays inside the one segment it is in.

use crate::passthrough::gateway_to_fakes;

/// Every route with a parameter (`{}` marks it): method, the gateway's path, the upstream
/// (index into the fakes), the upstream's path.
const PARAMETERISED: [(&str, &str, usize, &str); 8] = [
    ("GET", "/posts/{}", 2, "/posts/{}"),
    ("POST", "/posts/{}/comments", 1, "/posts/{}/comments"),
    ("GET", "/posts/{}/comments", 1, "/posts/{}/comments"),
    ("GET", "/bus/subscriptions/{}", 3, "/subscriptions/{}"),
    (
        "GET",
        "/bus/subscriptions/{}/dead-letters",
        3,
        "/subscriptions/{}/dead-letters",
    ),
    (
        "POST",
        "/bus/subscriptions/{}/pause",
        3,
        "/subscriptions/{}/pause",
    ),
    (
        "POST",
        "/bus/subscriptions/{}/resume",
        3,
        "/subscriptions/{}/resume",
    ),
    (
        "POST",
        "/bus/subscriptions/{}/rewind",
        3,
        "/subscriptions/{}/rewind",
    ),
];

#[tokio::test]
async fn a_dot_segment_in_a_parameter_is_a_404_that_reaches_no_upstream() {
    let (fakes, gateway) = gateway_to_fakes().await;
    for (method, path, _, _) in PARAMETERISED {
        for dots in ["%2e%2e", "%2E%2e", "..", ".%2e", ".", "%2e"] {
            let target = path.replace("{}", dots);
            let (status, body) = gateway.raw(method, &target).await;
            assert_eq!(status, 404, "{method} {target}: {body}");
            assert!(body.contains("not_found"), "{method} {target}: {body}");
        }
    }
    let reached: Vec<_> = fakes.iter().flat_map(|fake| fake.seen()).collect();
    assert!(reached.is_empty(), "reached upstream: {reached:?}");
    gateway.stop().await;
}

#[tokio::test]
async fn a_percent_encoded_slash_stays_in_its_segment() {
    let (fakes, gateway) = gateway_to_fakes().await;
    for (method, path, upstream, upstream_path) in PARAMETERISED {
        for id in ["a%2Fb", "..%2F..", "a.b"] {
            let target = path.replace("{}", id);
            let (status, body) = gateway.raw(method, &target).await;
            assert_eq!(status, 202, "{method} {target}: {body}");
            let seen = fakes[upstream].last();
            assert_eq!(
                seen.target,
                upstream_path.replace("{}", id),
                "{method} {target}"
            );
        }
    }
    gateway.stop().await;
}
