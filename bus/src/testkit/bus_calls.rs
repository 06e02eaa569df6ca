//! What a test reads from its [`TestBus`] over HTTP (the log by event type, a
//! subscription's status, any JSON the bus serves), and its publishes straight to it.

use super::TestBus;
use serde_json::Value;

impl TestBus {
    /// Publishes `events` (one event, or an array of them) straight to the bus; fails the
    /// test unless the bus appends them (`201`). The bus's reply: `{"seq", "id"}`, or an
    /// array of them.
    pub async fn publish(&self, events: &Value) -> Value {
        let answer = reqwest::Client::new()
            .post(self.at("/events"))
            .json(events)
            .send()
            .await
            .expect("the bus answers");
        let status = answer.status();
        assert_eq!(
            status,
            reqwest::StatusCode::CREATED,
            "POST /events: {status}"
        );
        answer.json().await.expect("a JSON reply")
    }

    /// `GET path` (which starts with `/`) as JSON; fails the test unless the bus answers
    /// 2xx.
    pub async fn get_json(&self, path: &str) -> Value {
        let answer = reqwest::get(self.at(path)).await.expect("the bus answers");
        let status = answer.status();
        assert!(status.is_success(), "GET {path}: {status}");
        answer.json().await.expect("a JSON answer")
    }

    /// Every event of type `ty` in the log (up to 10,000), in seq order.
    pub async fn events_of(&self, ty: &str) -> Vec<Value> {
        let events = self
            .get_json(&format!("/events?type={ty}&limit=10000"))
            .await;
        events.as_array().expect("an array of events").clone()
    }

    /// `GET /subscriptions/{name}`: the subscription's settings and delivery status.
    pub async fn subscription(&self, name: &str) -> Value {
        self.get_json(&format!("/subscriptions/{name}")).await
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::spawn_bus;
    use serde_json::json;

    #[tokio::test]
    async fn events_of_a_type_come_in_seq_order_without_the_others() {
        let bus = spawn_bus().await;
        assert_eq!(bus.publish(&json!({"type": "Kept"})).await["seq"], 1);
        let two = json!([{"type": "Other"}, {"type": "Kept"}]);
        let seqs: Vec<_> = bus
            .publish(&two)
            .await
            .as_array()
            .expect("replies")
            .iter()
            .map(|r| r["seq"].clone())
            .collect();
        assert_eq!(seqs, [json!(2), json!(3)]);
        let kept = bus.events_of("Kept").await;
        let seqs: Vec<_> = kept.iter().map(|e| e["seq"].clone()).collect();
        assert_eq!(seqs, [json!(1), json!(3)]);
        assert_eq!(bus.get_json("/info").await["head_seq"], 3);
    }

    #[tokio::test]
    #[should_panic(expected = "POST /events: 200 OK")]
    async fn a_publish_the_bus_does_not_append_fails_the_test() {
        let bus = spawn_bus().await;
        let event = json!({"id": "once", "type": "Kept"});
        bus.publish(&event).await;
        bus.publish(&event).await;
    }

    #[tokio::test]
    #[should_panic(expected = "GET /subscriptions/nobody: 404")]
    async fn a_read_the_bus_refuses_fails_the_test() {
        spawn_bus().await.subscription("nobody").await;
    }
}
