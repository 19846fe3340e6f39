//! Calls to an OpenAI-compatible API (OpenAI, Azure OpenAI's compatible endpoint, Ollama, vLLM,
//! LM Studio) with the deployment's key: embeddings and streamed chat completions.
//!
//! - [`client`]: [`AiClient`], one per process; every call goes through the same steps as the
//!   Vapi client's ([`crate::upstream`]): per-org slot → attempts admitted by the breaker, each
//!   with a timeout, retried on 429 and 5xx after `Retry-After` or a backoff.
//! - [`wire`]: the provider's JSON (requests, embedding lists, streamed chunks) and its checks.
//! - [`chat`]: a streamed answer turned into [`crate::bus::ai::ChatEvent`]s, tool calls
//!   assembled from their fragments.
//!
//! The client is reqwest plus `eventsource-stream`, not `async-openai`: every attempt must be
//! seen by the shared breaker and retry loop with its HTTP status and `Retry-After`, and a
//! refused key told apart from an outage, which that crate's own retries and error type hide.
//! The key only travels inside a [`Secret`] and a sensitive `Authorization` header.

pub mod chat;
pub mod client;
mod metrics;
pub mod wire;

use std::time::Duration;

pub use client::AiClient;
pub use metrics::AiMetrics;

use crate::crypto::Secret;
use crate::error::{ApiError, ErrorCode};

/// The setting without which the gateway answers 503.
pub const API_KEY_SETTING: &str = "ASSIST_AI_API_KEY";

#[derive(Clone, Debug)]
pub struct AiConfig {
    /// `ASSIST_AI_BASE_URL`: the API root, `/embeddings` and `/chat/completions` below it.
    pub base_url: String,
    /// `ASSIST_AI_API_KEY`, sent as a bearer token; `None` leaves the gateway answering 503.
    pub api_key: Option<Secret>,
    /// `ASSIST_AI_CHAT_MODEL`.
    pub chat_model: String,
    /// `ASSIST_AI_EMBEDDING_MODEL`.
    pub embedding_model: String,
    /// `ASSIST_AI_EMBEDDING_DIMENSIONS`: every vector must have exactly this many entries.
    pub embedding_dimensions: u32,
    /// Texts per embeddings request; longer lists are sent in several requests.
    pub embedding_batch: usize,
    /// Per attempt: the whole embeddings answer, or a chat answer's first bytes.
    pub call_timeout: Duration,
    /// The longest silence between two pieces of a streamed chat answer.
    pub stream_idle_timeout: Duration,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    pub per_org_concurrency: usize,
    /// Consecutive provider faults (5xx, timeouts, connection errors) that open the breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses before letting one trial call through.
    pub breaker_cooldown: Duration,
}

impl Default for AiConfig {
    fn default() -> Self {
        Self {
            base_url: "https://api.openai.com/v1".to_owned(),
            api_key: None,
            chat_model: "gpt-4o-mini".to_owned(),
            embedding_model: "text-embedding-3-small".to_owned(),
            embedding_dimensions: 1536,
            embedding_batch: 96,
            call_timeout: Duration::from_secs(20),
            stream_idle_timeout: Duration::from_secs(20),
            max_attempts: 3,
            per_org_concurrency: 4,
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(30),
        }
    }
}

impl AiConfig {
    /// The setting a deployment must add before the gateway can call the provider.
    pub fn missing_setting(&self) -> Option<&'static str> {
        match &self.api_key {
            Some(key) if !key.expose().is_empty() => None,
            _ => Some(API_KEY_SETTING),
        }
    }
}

/// Which of the provider's APIs a call used, as errors and metrics name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    Embeddings,
    Chat,
}

impl Api {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Embeddings => "embeddings",
            Self::Chat => "chat",
        }
    }

    /// How an error names the provider: "the embedding provider refused: …".
    fn provider(self) -> &'static str {
        match self {
            Self::Embeddings => "the embedding provider",
            Self::Chat => "the chat provider",
        }
    }
}

/// Messages are assist's own or excerpts with the key blanked out: safe to show and log.
#[derive(Debug, thiserror::Error)]
pub enum AiError {
    #[error("no AI provider is configured: set {API_KEY_SETTING}")]
    NotConfigured,
    /// A 4xx other than 429: the key, the model or the request is wrong; retrying cannot help.
    #[error("{provider} refused: {1}", provider = .0.provider())]
    Refused(Api, String),
    /// Down, slow, rate limiting past our retries, or the breaker is open.
    #[error("{provider} is unavailable: {1}", provider = .0.provider())]
    Unavailable(Api, String),
    /// An answer that does not follow the API: bad JSON, missing vectors, broken tool calls.
    #[error("{provider} answered something unusable: {1}", provider = .0.provider())]
    Malformed(Api, String),
}

impl From<AiError> for ApiError {
    fn from(err: AiError) -> Self {
        let code = match err {
            AiError::Refused(..) => ErrorCode::InvalidArgument,
            AiError::NotConfigured | AiError::Unavailable(..) | AiError::Malformed(..) => {
                ErrorCode::Unavailable
            }
        };
        ApiError::new(code, err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_key_names_the_setting() {
        let mut config = AiConfig::default();
        assert_eq!(config.missing_setting(), Some("ASSIST_AI_API_KEY"));
        config.api_key = Some(Secret::new(String::new()));
        assert_eq!(config.missing_setting(), Some("ASSIST_AI_API_KEY"));
        config.api_key = Some(Secret::new("sk-test".into()));
        assert_eq!(config.missing_setting(), None);
    }

    #[test]
    fn refusals_are_bad_requests_and_outages_are_unavailable() {
        let not_configured = ApiError::from(AiError::NotConfigured);
        assert_eq!(not_configured.code, ErrorCode::Unavailable);
        assert!(not_configured.message.contains("ASSIST_AI_API_KEY"), "{}", not_configured.message);
        let refused = ApiError::from(AiError::Refused(Api::Embeddings, "the model does not exist".into()));
        assert_eq!(refused.code, ErrorCode::InvalidArgument);
        assert_eq!(refused.message, "the embedding provider refused: the model does not exist");
        let down = ApiError::from(AiError::Unavailable(Api::Chat, "it answered 503".into()));
        assert_eq!(down.code, ErrorCode::Unavailable);
    }
}
