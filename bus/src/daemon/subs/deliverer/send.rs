//! Sending one request and waiting for its verdict: polling briefly for a quick answer
//! before sleeping (`--delivery-spin-us`), and giving up after the shutdown grace.

use super::Deliverer;
use crate::daemon::store::StoredEvent;
use crate::daemon::subs::request::{self, Context};
use crate::daemon::subs::subscription::Settings;
use crate::daemon::subs::verdict::{self, Verdict};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Deliveries that do not poll for their answer after one whose answer came too late.
const SPIN_BACKOFF: u32 = 16;
/// How long a delivery in flight may finish after shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

impl Deliverer {
    /// POSTs `events`; `None` when shutdown abandoned it.
    pub(super) async fn send(
        &mut self,
        settings: &Settings,
        generation: u64,
        events: &[StoredEvent],
        redelivery: bool,
    ) -> Option<Verdict> {
        let destination = match &settings.destination {
            Ok(destination) => destination,
            Err(error) => return Some(verdict::failure(error.clone())),
        };
        let spec = settings.spec();
        let context = Context {
            name: &self.subscription.name,
            generation,
            log_id: &self.backend.log_id,
        };
        let delivery = request::build(
            events,
            spec.format,
            spec.batch > 1,
            &context,
            settings.signer.as_ref(),
            redelivery,
        );
        let timeout = Duration::from_millis(spec.timeout_ms);
        let spin = if self.spin_skip > 0 {
            self.spin_skip -= 1;
            Duration::ZERO
        } else {
            self.backend.spin
        };
        let call = verdict::call(&mut self.connection, destination, delivery, timeout);
        let (verdict, late) = wait_for(call, spin, &self.subscription.cancel).await;
        if late {
            self.spin_skip = SPIN_BACKOFF;
        }
        verdict
    }
}

/// Polls `call` for up to `spin` before sleeping on it: yielding lets the runtime check the
/// socket without blocking and run the other loops meanwhile. Returns the verdict (`None`
/// if shutdown abandoned it) and whether the answer came later than `spin`.
async fn wait_for(
    call: impl Future<Output = Verdict>,
    spin: Duration,
    cancel: &CancellationToken,
) -> (Option<Verdict>, bool) {
    let mut call = std::pin::pin!(call);
    let late = !spin.is_zero();
    if late {
        if let Some(verdict) = spin_for(call.as_mut(), spin).await {
            return (Some(verdict), false);
        }
    }
    let verdict = tokio::select! {
        verdict = &mut call => Some(verdict),
        () = cancel.cancelled() => tokio::time::timeout(SHUTDOWN_GRACE, call).await.ok(),
    };
    (verdict, late)
}

/// Polls `call`, yielding between polls, for up to `spin`.
async fn spin_for(
    mut call: Pin<&mut impl Future<Output = Verdict>>,
    spin: Duration,
) -> Option<Verdict> {
    let until = std::time::Instant::now() + spin;
    loop {
        tokio::select! {
            biased;
            verdict = &mut call => return Some(verdict),
            () = tokio::task::yield_now() => {}
        }
        if std::time::Instant::now() >= until {
            return None;
        }
    }
}
