//! What a provider's client records: calls by endpoint and outcome, and their latency (retries
//! included). The node's registry (`crate::ops::Metrics`) exports them under the provider's name.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    endpoint: String,
    outcome: String,
}

/// 5 ms to about 10 s, the buckets of the edge's latencies.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

/// [`Default`] gives a set no registry exports, for a client built on its own.
#[derive(Clone)]
pub struct CallMetrics {
    calls: Family<OutcomeLabels, Counter>,
    latency: Family<EndpointLabels, Histogram, fn() -> Histogram>,
}

impl Default for CallMetrics {
    fn default() -> Self {
        Self { calls: Family::default(), latency: Family::new_with_constructor(latency_histogram) }
    }
}

impl CallMetrics {
    /// `outcome` is one of a few fixed words of the client (`ok`, `unavailable`, …).
    pub fn observe(&self, endpoint: &str, outcome: &str, elapsed: Duration) {
        let (endpoint, outcome) = (endpoint.to_owned(), outcome.to_owned());
        self.latency
            .get_or_create(&EndpointLabels { endpoint: endpoint.clone() })
            .observe(elapsed.as_secs_f64());
        self.calls.get_or_create(&OutcomeLabels { endpoint, outcome }).inc();
    }

    /// Exports these from `registry` on as `<name>_calls` and `<name>_call_duration_seconds`;
    /// `provider` is the name people know it by, for the help texts.
    pub fn register(&self, registry: &mut Registry, name: &str, provider: &str) {
        registry.register(
            format!("{name}_calls"),
            format!("Calls to {provider} by endpoint and outcome"),
            self.calls.clone(),
        );
        registry.register(
            format!("{name}_call_duration_seconds"),
            format!("Latency of calls to {provider}, retries included"),
            self.latency.clone(),
        );
    }
}
