//! `sdk::Error`: what a call to the bus can fail with.

use crate::wire::ErrorBody;

/// Why a call to the bus (a publish, a registration) failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bus could not be reached, or its reply was cut or unreadable: the outcome is
    /// unknown. A publish is safe to retry with the same events (same ids): the bus
    /// deduplicates.
    #[error("bus unreachable: {0}")]
    Transport(#[from] reqwest::Error),
    /// The bus answered with an error: a 4xx means the request must change; a `503`
    /// (`storage_unavailable`) that the same request may be retried later.
    #[error("bus answered {status}: {} ({})", body.message, body.error)]
    Rejected {
        /// The HTTP status of the answer (4xx or 5xx).
        status: u16,
        /// The JSON error body, whose `error` is the machine-readable code.
        body: ErrorBody,
    },
}

impl Error {
    /// The machine-readable code the bus answered (e.g. `wrong_expected_version`), if it
    /// answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Transport(_) => None,
            Self::Rejected { body, .. } => Some(&body.error),
        }
    }

    /// What a non-2xx `response` from the bus stands for: [`Error::Rejected`] with its
    /// status and error body (`unreadable_error` when the body is not one).
    pub async fn rejected(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let body = response
            .json::<ErrorBody>()
            .await
            .unwrap_or_else(|e| ErrorBody {
                error: "unreadable_error".into(),
                message: e.to_string(),
                extra: Default::default(),
            });
        Self::Rejected { status, body }
    }
}
