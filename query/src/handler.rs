//! `Projector`: the SDK handler of query's subscription. Each delivered event is decoded
//! and applied to the read model; an event that can never be applied is refused with `422`
//! so that the bus parks it instead of blocking the projection.

use crate::events::BlogEvent;
use crate::projection::Unapplicable;
use crate::read_model::{ApplyError, ReadModel};
use bus::kit::error_chain;
use bus::sdk::{Handler, HandlerError};
use bus::Envelope;

/// Applies deliveries to a [`ReadModel`].
#[derive(Debug, Clone)]
pub struct Projector {
    model: ReadModel,
}

impl Projector {
    /// A handler applying to `model`.
    pub fn new(model: ReadModel) -> Self {
        Self { model }
    }
}

impl Handler for Projector {
    async fn handle(&self, event: Envelope) -> Result<(), HandlerError> {
        let applied = match BlogEvent::decode(&event.ty, &event.data) {
            Ok(decoded) => self.model.apply(event.seq, &decoded).await,
            Err(e) => Err(Unapplicable::Malformed(e.to_string()).into()),
        };
        match applied {
            Ok(()) => Ok(()),
            Err(ApplyError::Unapplicable(why)) => {
                tracing::warn!(seq = event.seq, r#type = %event.ty, reason = %why, "refusing an event that can never apply");
                self.model.pass(event.seq).await.map_err(retry)?;
                Err(HandlerError::Reject(why.to_string()))
            }
            Err(ApplyError::Store(e)) => Err(retry(e)),
        }
    }

    /// A rewind to 0 (a replaced log, a checkpoint beyond the head) starts over from an
    /// empty projection. A rewind to a later seq keeps the state: applying events again
    /// changes nothing (duplicates are ignored, updates checked by version), so what is
    /// redelivered lands where it already is.
    async fn on_rewind(&self, after: u64) {
        if after > 0 {
            return;
        }
        tracing::info!("starting the projection over");
        if let Err(e) = self.model.reset().await {
            tracing::error!(error = %error_chain(&e), "cannot drop the projection's stored state");
        }
    }
}

fn retry(error: crate::store::StoreError) -> HandlerError {
    let error = error_chain(&error);
    tracing::error!(%error, "cannot store the projection");
    HandlerError::Retry(error)
}
