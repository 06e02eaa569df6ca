//! `Publisher`: POST events to the bus, always with an id, so that a retry after a lost
//! reply (or a `503 storage_unavailable`) can never append an event twice.

use super::Error;
use crate::envelope::NewEvent;
use crate::wire::PublishReply;

/// Publishes events to one bus. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Publisher {
    http: reqwest::Client,
    events_url: String,
    token: Option<String>,
    source: Option<String>,
    timeout: Option<std::time::Duration>,
}

impl Publisher {
    /// A publisher for the bus at `bus_url` (e.g. `http://127.0.0.1:4005`).
    pub fn new(bus_url: &str, token: Option<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            events_url: format!("{}/events", bus_url.trim_end_matches('/')),
            token,
            source: None,
            timeout: None,
        }
    }

    /// Each publish with `timeout` as the time it may take, its answer read (none by
    /// default); past it a publish fails as [`Error::Transport`] (`is_timeout`), its outcome
    /// unknown, safe to retry with the same events.
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets `source` on every event that has none.
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Publishes one event; gives it a UUIDv7 id first if it has none.
    pub async fn publish(&self, mut event: NewEvent) -> Result<PublishReply, Error> {
        self.prepare(&mut event);
        self.post(&event).await
    }

    /// Publishes events atomically, in order: all are appended or none.
    pub async fn publish_all(&self, mut events: Vec<NewEvent>) -> Result<Vec<PublishReply>, Error> {
        events.iter_mut().for_each(|e| self.prepare(e));
        self.post(&events).await
    }

    fn prepare(&self, event: &mut NewEvent) {
        event
            .id
            .get_or_insert_with(|| uuid::Uuid::now_v7().to_string());
        if event.source.is_none() {
            event.source.clone_from(&self.source);
        }
    }

    async fn post<B: serde::Serialize + ?Sized, R: serde::de::DeserializeOwned>(
        &self,
        body: &B,
    ) -> Result<R, Error> {
        let mut request = self.http.post(&self.events_url).json(body);
        if let Some(timeout) = self.timeout {
            request = request.timeout(timeout);
        }
        super::send(request, self.token.as_deref()).await
    }
}
