//! Calls to Vapi's REST API on a tenant's behalf, with the tenant's own private key.
//!
//! - [`client`]: [`VapiClient`], one per process; every call goes through the same steps:
//!   breaker check → per-org slot → attempts with timeout and backoff.
//! - [`types`]: the documented subset of Vapi's objects that assist passes on.
//! - the reliability pieces (breaker, per-org limit, retries) are shared with the AI client, in
//!   [`crate::upstream`].
//!
//! The private key only ever travels inside a [`crate::crypto::Secret`] and the `Authorization`
//! header (marked sensitive); it is never part of an error, a log line or a Debug output.

pub mod client;
pub mod types;

use std::time::Duration;

pub use client::VapiClient;
pub use types::{Assistant, ModelSummary, PhoneNumber, VoiceSummary};

use crate::error::{ApiError, Chain, ErrorCode};

#[derive(Clone, Debug)]
pub struct VapiConfig {
    /// `ASSIST_VAPI_BASE_URL`; tests point it at a loopback fake.
    pub base_url: String,
    /// Per attempt, covering the whole response body.
    pub call_timeout: Duration,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    pub per_org_concurrency: usize,
    /// Consecutive Vapi faults (5xx, timeouts, connection errors) that open the breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses before letting one trial call through.
    pub breaker_cooldown: Duration,
}

impl Default for VapiConfig {
    fn default() -> Self {
        Self {
            base_url: "https://api.vapi.ai".to_owned(),
            call_timeout: Duration::from_secs(10),
            max_attempts: 3,
            per_org_concurrency: 4,
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VapiError {
    /// Vapi answered 401: the key is wrong, revoked, or the public key was sent.
    #[error("Vapi refused the private key")]
    InvalidKey,
    /// Vapi is down, slow, rate limiting past our retries, or the breaker is open; worth a retry
    /// later.
    #[error("Vapi is unavailable: {0}")]
    Unavailable(String),
    /// An answer we do not know how to use (another 4xx, a body that does not parse).
    #[error("unexpected answer from Vapi: {0}")]
    Unexpected(String),
}

impl From<VapiError> for ApiError {
    fn from(err: VapiError) -> Self {
        match err {
            VapiError::InvalidKey => ApiError::invalid(
                "privateApiKey",
                "Vapi refused the key; use the organization's private API key (not the public key) \
                 from the Vapi dashboard",
            ),
            // The cause was logged by the client when the call failed.
            VapiError::Unavailable(_) => {
                ApiError::new(ErrorCode::Unavailable, "Vapi is unavailable; retry later")
            }
            VapiError::Unexpected(_) => {
                tracing::error!(cause = %Chain(&err), "internal error");
                ApiError::internal()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_key_is_a_bad_argument_naming_the_field() {
        let err = ApiError::from(VapiError::InvalidKey);
        assert_eq!(err.code, ErrorCode::InvalidArgument);
        assert!(err.message.starts_with("privateApiKey: "), "{}", err.message);
    }

    #[test]
    fn an_outage_is_unavailable_and_an_odd_answer_is_internal() {
        let unavailable = ApiError::from(VapiError::Unavailable("timed out".into()));
        assert_eq!(unavailable.code, ErrorCode::Unavailable);
        assert!(!unavailable.message.contains("timed out"));
        let unexpected = ApiError::from(VapiError::Unexpected("GET /assistant answered 418".into()));
        assert_eq!(unexpected.code, ErrorCode::Internal);
        assert!(!unexpected.message.contains("418"));
    }
}
