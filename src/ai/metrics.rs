//! What the AI client records: calls by API and outcome with their latency (shared with the
//! Vapi client's shape), and the tokens the provider reported, by API and direction. Tokens per
//! org are the callers' to keep: they arrive with every reply (`usage`).

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use super::{AiError, Api};
use crate::bus::ai::Usage;
use crate::upstream::CallMetrics;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    api: String,
    direction: String,
}

/// [`Default`] gives a set no registry exports, for a client built on its own.
#[derive(Clone, Default)]
pub struct AiMetrics {
    calls: CallMetrics,
    tokens: Family<TokenLabels, Counter>,
}

impl AiMetrics {
    /// A call's outcome and latency; an embedding call's tokens too (a chat's arrive at its end).
    pub(super) fn observe(&self, api: Api, result: &Result<Usage, &AiError>, elapsed: Duration) {
        let outcome = match result {
            Ok(_) => "ok",
            Err(AiError::NotConfigured) => "not_configured",
            Err(AiError::Refused(..)) => "refused",
            Err(AiError::Unavailable(..)) => "unavailable",
            Err(AiError::Malformed(..)) => "malformed",
        };
        self.calls.observe(api.as_str(), outcome, elapsed);
        if let Ok(usage) = result {
            self.tokens(api, *usage);
        }
    }

    pub(super) fn tokens(&self, api: Api, usage: Usage) {
        for (direction, count) in [("input", usage.input_tokens), ("output", usage.output_tokens)] {
            let labels = TokenLabels { api: api.as_str().to_owned(), direction: direction.to_owned() };
            self.tokens.get_or_create(&labels).inc_by(count);
        }
    }

    /// Exports these from `registry` on.
    pub fn register(&self, registry: &mut Registry) {
        self.calls.register(registry, "ai", "the AI provider");
        registry.register(
            "ai_tokens",
            "Tokens the AI provider reported, by API and direction",
            self.tokens.clone(),
        );
    }
}
