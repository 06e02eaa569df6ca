//! Checks of a service's `/openapi.json` against what the service serves, so that a
//! service's tests catch a document that drifted from its routes.

use serde_json::Value;

/// The operations the document at `base_url/openapi.json` lists, as `(METHOD, path)`
/// (`("POST", "/posts")`), sorted.
pub async fn documented_operations(base_url: &str) -> Vec<(String, String)> {
    let document: Value = reqwest::get(format!("{base_url}/openapi.json"))
        .await
        .expect("GET /openapi.json")
        .json()
        .await
        .expect("/openapi.json is JSON");
    let paths = document["paths"].as_object().expect("a paths object");
    let mut operations: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            let methods = item.as_object().into_iter().flat_map(|m| m.keys());
            methods.map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    operations.sort();
    operations
}

/// Asks every documented operation of the service at `base_url` (path parameters set to
/// `1`, a body of `{}`) and asserts that a route answers it: neither the router's own
/// `404 no route` nor a `405`. Endless answers (an event stream) are fine: only a 404's
/// body is read.
pub async fn assert_documented_routes_are_served(base_url: &str) {
    let client = reqwest::Client::new();
    for (method, path) in documented_operations(base_url).await {
        let concrete = with_parameters(&path);
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let answer = client
            .request(method.clone(), format!("{base_url}{concrete}"))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {concrete}: {e}"));
        let status = answer.status();
        // Only a 404's body says whether a route answered: any other answer is not read, as
        // it may never end (Server-Sent Events).
        let body: Value = match status.as_u16() {
            404 => answer.json().await.unwrap_or(Value::Null),
            _ => Value::Null,
        };
        let message = body["message"].as_str().unwrap_or_default();
        let unrouted =
            status == 405 || (status == 404 && message.starts_with(crate::kit::NO_ROUTE));
        assert!(
            !unrouted,
            "{method} {path} is documented but not served: {status} {body}"
        );
    }
}

/// `/posts/{id}/comments` → `/posts/1/comments`.
fn with_parameters(path: &str) -> String {
    let segments = path.split('/').map(|segment| {
        if segment.starts_with('{') && segment.ends_with('}') {
            "1"
        } else {
            segment
        }
    });
    segments.collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    #[test]
    fn path_parameters_become_ones() {
        assert_eq!(
            super::with_parameters("/posts/{id}/comments"),
            "/posts/1/comments"
        );
        assert_eq!(super::with_parameters("/healthz"), "/healthz");
    }
}
