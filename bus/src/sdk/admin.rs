//! `Admin`: an operator's calls on a bus's subscriptions (status, pause, resume, rewind,
//! skip, dead letters), what `minibus subs` drives. Each answer comes typed and as the
//! JSON text the bus sent, so that a tool can print the bus's own JSON for scripts.

use super::Error;
use crate::wire::{DeadLetter, RewindReply, RewindRequest, SubscriptionStatus};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::time::Duration;

/// How long an admin call may take unless told ([`Admin::with_call_timeout`]): a rewind
/// counts the events it redelivers, a skip scans for the next match, so they can take a
/// while on a long log.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long connecting to the bus may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the bus answered to an admin call.
#[derive(Debug)]
pub struct Answer<T> {
    /// The answer, parsed.
    pub value: T,
    /// The answer's JSON text, exactly as the bus sent it.
    pub json: Box<RawValue>,
}

/// Read as its JSON text, then parsed from it: an answer that is not a `T` fails as any
/// unreadable answer does ([`Error::Transport`]).
impl<'de, T: DeserializeOwned> Deserialize<'de> for Answer<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Box::<RawValue>::deserialize(deserializer)?;
        let value = serde_json::from_str(json.get()).map_err(serde::de::Error::custom)?;
        Ok(Self { value, json })
    }
}

/// The answer to a retry of dead letters (`202`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Queued {
    /// The seqs queued for redelivery, ahead of the next event.
    pub queued: Vec<u64>,
}

/// The subscription admin calls of one bus. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Admin {
    http: reqwest::Client,
    bus_url: Url,
    token: Option<String>,
    call_timeout: Duration,
}

impl Admin {
    /// A client of the bus at `bus_url` (e.g. `http://127.0.0.1:4005`, or a gateway's
    /// prefix such as `http://host/bus`), sending `token` as a bearer token when given.
    pub fn new(bus_url: Url, token: Option<String>) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            http,
            bus_url,
            token,
            call_timeout: CALL_TIMEOUT,
        }
    }

    /// These calls with `timeout` as the time each may take, its answer read, instead of
    /// [`CALL_TIMEOUT`]; past it a call fails as [`Error::Transport`] (`is_timeout`).
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// `GET /subscriptions`: every subscription's status.
    pub async fn list(&self) -> Result<Answer<Vec<SubscriptionStatus>>, Error> {
        self.call(Method::GET, &["subscriptions"], None).await
    }

    /// `GET /subscriptions/NAME`: one subscription's status.
    pub async fn status(&self, name: &str) -> Result<Answer<SubscriptionStatus>, Error> {
        self.call(Method::GET, &["subscriptions", name], None).await
    }

    /// `POST /subscriptions/NAME/pause`: its status, paused.
    pub async fn pause(&self, name: &str) -> Result<Answer<SubscriptionStatus>, Error> {
        self.call(Method::POST, &["subscriptions", name, "pause"], None)
            .await
    }

    /// `POST /subscriptions/NAME/resume`: its status, delivering again.
    pub async fn resume(&self, name: &str) -> Result<Answer<SubscriptionStatus>, Error> {
        self.call(Method::POST, &["subscriptions", name, "resume"], None)
            .await
    }

    /// `POST /subscriptions/NAME/rewind`: where delivery resumes, and how many events it
    /// redelivers (only counted with `dry_run`).
    pub async fn rewind(
        &self,
        name: &str,
        request: &RewindRequest,
    ) -> Result<Answer<RewindReply>, Error> {
        let path = ["subscriptions", name, "rewind"];
        self.call(Method::POST, &path, Some(request)).await
    }

    /// `POST /subscriptions/NAME/skip`: the event it parked in the dead letters.
    pub async fn skip(&self, name: &str) -> Result<Answer<DeadLetter>, Error> {
        self.call(Method::POST, &["subscriptions", name, "skip"], None)
            .await
    }

    /// `GET /subscriptions/NAME/dead-letters`: its dead letters, in seq order.
    pub async fn dead_letters(&self, name: &str) -> Result<Answer<Vec<DeadLetter>>, Error> {
        let path = ["subscriptions", name, "dead-letters"];
        self.call(Method::GET, &path, None).await
    }

    /// `POST /subscriptions/NAME/dead-letters/retry`: every dead letter queued for one more
    /// attempt, ahead of the next event.
    pub async fn retry_dead_letters(&self, name: &str) -> Result<Answer<Queued>, Error> {
        let path = ["subscriptions", name, "dead-letters", "retry"];
        self.call(Method::POST, &path, None).await
    }

    /// The bus URL with `segments` appended, each percent-encoded: a name typed by an
    /// operator can never reach another route.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.bus_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&RewindRequest>,
    ) -> Result<Answer<T>, Error> {
        let mut request = self
            .http
            .request(method, self.url(segments))
            .timeout(self.call_timeout);
        if let Some(body) = body {
            request = request.json(body);
        }
        super::send(request, self.token.as_deref()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin(base: &str) -> Admin {
        Admin::new(base.parse().expect("a URL"), None)
    }

    #[test]
    fn names_are_one_percent_encoded_segment_after_the_base_path() {
        let url = admin("http://127.0.0.1:4005/").url(&["subscriptions", "a/b?c", "pause"]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:4005/subscriptions/a%2Fb%3Fc/pause"
        );
        let url = admin("http://gateway/bus").url(&["subscriptions"]);
        assert_eq!(url.as_str(), "http://gateway/bus/subscriptions");
    }
}

/// Each call against a real bus: typed answers, the JSON text as the bus sent it, and the
/// bus's errors as [`Error::Rejected`].
#[cfg(all(test, feature = "testkit"))]
mod against_a_bus {
    use super::*;
    use crate::testkit::spawn_bus;
    use crate::wire::SubscriptionState;

    async fn with_subscription() -> (crate::testkit::TestBus, Admin) {
        crate::kit::init_test_tracing();
        let bus = spawn_bus().await;
        let http = reqwest::Client::new();
        for n in 0..2 {
            let event = serde_json::json!({"type": "A", "data": n});
            let answer = http.post(bus.at("/events")).json(&event).send().await;
            assert!(answer.expect("publish").status().is_success());
        }
        // A subscriber that refuses connections: delivery stays at the first event.
        let spec = serde_json::json!({"url": "http://127.0.0.1:9/"});
        let answer = http
            .put(bus.at("/subscriptions/q"))
            .json(&spec)
            .send()
            .await;
        assert!(answer.expect("PUT").status().is_success());
        let admin = Admin::new(bus.url().parse().expect("URL"), None);
        (bus, admin)
    }

    #[tokio::test]
    async fn answers_come_typed_and_as_the_bus_s_json() {
        let (bus, admin) = with_subscription().await;
        let listed = admin.list().await.expect("list");
        assert_eq!(listed.value.len(), 1);
        assert_eq!(listed.value[0].name, "q");
        assert_eq!(admin.status("q").await.expect("status").value.cursor, 0);

        let paused = admin.pause("q").await.expect("pause");
        assert_eq!(paused.value.state, SubscriptionState::Paused);
        let dry_run = RewindRequest {
            after: Some(1),
            time: None,
            dry_run: true,
        };
        let reply = admin.rewind("q", &dry_run).await.expect("rewind").value;
        assert_eq!((reply.after, reply.redeliver, reply.dry_run), (1, 1, true));
        let parked = admin.skip("q").await.expect("skip").value;
        assert_eq!(parked.seq, 1);
        let letters = admin.dead_letters("q").await.expect("dead letters");
        assert_eq!(letters.value.iter().map(|l| l.seq).collect::<Vec<_>>(), [1]);
        let url = bus.at("/subscriptions/q/dead-letters");
        let text = reqwest::get(url)
            .await
            .expect("GET")
            .text()
            .await
            .expect("text");
        assert_eq!(letters.json.get(), text, "the bus's JSON as it sent it");
        let resumed = admin.resume("q").await.expect("resume").value;
        assert_ne!(resumed.state, SubscriptionState::Paused);
        let queued = admin.retry_dead_letters("q").await.expect("retry").value;
        assert_eq!(queued.queued, [1]);
    }

    #[tokio::test]
    async fn the_bus_s_errors_keep_their_status_and_code() {
        let (_bus, admin) = with_subscription().await;
        match admin.status("nobody").await {
            Err(Error::Rejected { status: 404, .. }) => {}
            other => panic!("an unknown subscription is a 404: {other:?}"),
        }
        let beyond = RewindRequest {
            after: Some(99),
            ..RewindRequest::default()
        };
        let refused = admin
            .rewind("q", &beyond)
            .await
            .expect_err("beyond the head");
        assert_eq!(refused.code(), Some("cursor_beyond_head"));
    }
}
