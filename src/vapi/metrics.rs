//! What the Vapi client records: calls by endpoint and outcome, and their latency (retries
//! included). The node's registry (`crate::ops::Metrics`) exports them.

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
pub struct VapiMetrics {
    calls: Family<OutcomeLabels, Counter>,
    latency: Family<EndpointLabels, Histogram, fn() -> Histogram>,
}

impl Default for VapiMetrics {
    fn default() -> Self {
        Self { calls: Family::default(), latency: Family::new_with_constructor(latency_histogram) }
    }
}

impl VapiMetrics {
    /// `outcome`: `ok`, `invalid_key`, `unavailable` or `unexpected`.
    pub fn observe(&self, endpoint: &str, outcome: &str, elapsed: Duration) {
        let (endpoint, outcome) = (endpoint.to_owned(), outcome.to_owned());
        self.latency
            .get_or_create(&EndpointLabels { endpoint: endpoint.clone() })
            .observe(elapsed.as_secs_f64());
        self.calls.get_or_create(&OutcomeLabels { endpoint, outcome }).inc();
    }

    /// Exports these from `registry` on.
    pub fn register(&self, registry: &mut Registry) {
        registry.register("vapi_calls", "Calls to Vapi by endpoint and outcome", self.calls.clone());
        registry.register(
            "vapi_call_duration_seconds",
            "Latency of calls to Vapi, retries included",
            self.latency.clone(),
        );
    }
}
