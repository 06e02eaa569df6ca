//! What a subscription's status says (`GET /subscriptions[/NAME]`), and the lag gauges
//! built from it.

use super::subscription::{DeliveryState, Settings};
use super::{SubError, Subscriptions};
use crate::envelope::format_time;
use crate::wire::{SubscriptionState, SubscriptionStatus};

impl Subscriptions {
    /// `GET /subscriptions/NAME`.
    pub(crate) fn status(&self, name: &str) -> Result<SubscriptionStatus, SubError> {
        let subscription = self.subscription(name)?;
        let cursor = self.stored_cursor(name)?;
        let head = self.backend.head().max(cursor.after);
        let lag_seconds = self.lag_seconds(cursor.after, head)?;
        let dead_letters = self.backend.store.dead_letter_count(name);
        let settings = subscription.settings();
        let state = subscription.state();
        let spec = settings.spec();
        Ok(SubscriptionStatus {
            name: name.into(),
            url: super::url_credentials::redacted(&spec.url),
            types: spec.types.clone(),
            cursor: cursor.after,
            generation: cursor.generation,
            head_seq: head,
            lag: head - cursor.after,
            lag_seconds,
            state: state_of(&settings, &state),
            attempts: state.attempts,
            last_error: state.refused_host.clone().or(state.last_error.clone()),
            last_delivered_at: state.last_delivered_ms.map(format_time),
            delivered: cursor.delivered,
            dead_letters,
            paused_reason: settings.stored.paused.clone(),
            batch: spec.batch,
            format: spec.format,
            delivery: spec.delivery,
        })
    }

    /// The age of the next event to deliver, in seconds.
    fn lag_seconds(&self, cursor: u64, head: u64) -> Result<f64, SubError> {
        if cursor >= head {
            return Ok(0.0);
        }
        let Some(next) = self.backend.log.get(cursor + 1)? else {
            return Ok(0.0);
        };
        let age_ms = chrono::Utc::now().timestamp_millis() - next.time_ms();
        Ok(age_ms.max(0) as f64 / 1000.0)
    }

    /// `GET /subscriptions`, by name.
    pub(crate) fn list(&self) -> Result<Vec<SubscriptionStatus>, SubError> {
        let names = self.names();
        let mut out = Vec::with_capacity(names.len());
        for name in &names {
            match self.status(name) {
                Ok(status) => out.push(status),
                Err(SubError::NotFound(_)) => {} // deleted meanwhile
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Updates the lag gauges (called before `/metrics` renders).
    pub(crate) fn refresh_metrics(&self) {
        let statuses = match self.list() {
            Ok(statuses) => statuses,
            Err(error) => {
                let error: &(dyn std::error::Error + 'static) = &error;
                tracing::error!(error, "cannot read the subscriptions' lag");
                return;
            }
        };
        for status in statuses {
            self.backend
                .metrics
                .set_lag(&status.name, status.lag, status.lag_seconds);
        }
    }
}

/// `paused` over `blocked` over `retrying` over `active`.
fn state_of(settings: &Settings, state: &DeliveryState) -> SubscriptionState {
    let blocked = state.blocked || state.refused_host.is_some();
    match (&settings.stored.paused, blocked, state.attempts) {
        (Some(_), _, _) => SubscriptionState::Paused,
        (None, true, _) => SubscriptionState::Blocked,
        (None, false, 0) => SubscriptionState::Active,
        (None, false, _) => SubscriptionState::Retrying,
    }
}
