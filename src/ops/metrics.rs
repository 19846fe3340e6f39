//! The per-App Prometheus registry behind `GET /metrics`. Per App, not process-global, because
//! tests run many apps in one process. Request counters and latency histograms are recorded
//! where the work happens; the actors' and ingest's counters, kept as atomics in their own
//! layers, and the NATS connection's statistics are read at scrape time by [`Sources`].

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::actors::Tenants;
use crate::actors::ingest::IngestStats;
use crate::ai::AiMetrics;
use crate::db::Repos;
use crate::error::ErrorCode;
use crate::upstream::CallMetrics;

pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// 5 ms to about 10 s: the edge's request timeout is 10 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

type Latencies<L> = Family<L, Histogram, fn() -> Histogram>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    endpoint: String,
    code: String,
}

/// One App's metrics; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    http_requests: Family<HttpLabels, Counter>,
    http_latency: Latencies<RouteLabels>,
    nats_requests: Family<EndpointLabels, Counter>,
    nats_errors: Family<ErrorLabels, Counter>,
    vapi: CallMetrics,
    ai: AiMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("assist");
        let metrics = Self {
            registry: Arc::default(),
            http_requests: Family::default(),
            http_latency: Family::new_with_constructor(latency_histogram),
            nats_requests: Family::default(),
            nats_errors: Family::default(),
            vapi: CallMetrics::default(),
            ai: AiMetrics::default(),
        };
        let r = &mut registry;
        r.register(
            "http_requests",
            "HTTP requests by route template, method and status",
            metrics.http_requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "HTTP request latency by route template",
            metrics.http_latency.clone(),
        );
        r.register(
            "nats_requests",
            "Public NATS requests served, by endpoint",
            metrics.nats_requests.clone(),
        );
        r.register(
            "nats_request_errors",
            "Public NATS requests answered with an error, by endpoint and code",
            metrics.nats_errors.clone(),
        );
        metrics.vapi.register(r, "vapi", "Vapi");
        metrics.ai.register(r);
        *metrics.registry.lock().unwrap_or_else(PoisonError::into_inner) = registry;
        metrics
    }
}

impl Metrics {
    /// `route` is the matched route template (`/v1/orgs/{org}`), never the raw path, so ids do
    /// not become label values.
    pub fn observe_http(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let labels = RouteLabels { method: method.to_owned(), route: route.to_owned() };
        self.http_latency.get_or_create(&labels).observe(elapsed.as_secs_f64());
        let RouteLabels { method, route } = labels;
        self.http_requests.get_or_create(&HttpLabels { method, route, status }).inc();
    }

    pub fn observe_nats(&self, endpoint: &str, error: Option<ErrorCode>) {
        let endpoint = endpoint.to_owned();
        if let Some(code) = error {
            let labels = ErrorLabels { endpoint: endpoint.clone(), code: code.as_str().to_owned() };
            self.nats_errors.get_or_create(&labels).inc();
        }
        self.nats_requests.get_or_create(&EndpointLabels { endpoint }).inc();
    }

    /// The handle to give the Vapi client (`VapiClient::with_metrics`).
    pub fn vapi(&self) -> CallMetrics {
        self.vapi.clone()
    }

    /// The handle to give the AI client (`AiClient::with_metrics`).
    pub fn ai(&self) -> AiMetrics {
        self.ai.clone()
    }

    /// Exports the actors', ingest's and the NATS connection's counters from now on.
    pub fn watch(&self, sources: Sources) {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner).register_collector(Box::new(sources));
    }

    /// The Prometheus text exposition (serve it with [`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(err) = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry) {
            tracing::error!(error = %err, "encoding metrics");
        }
        out
    }
}

/// Counters kept elsewhere, read at each scrape.
pub struct Sources {
    pub tenants: Tenants,
    pub ingest: Arc<IngestStats>,
    pub nats: async_nats::Client,
    /// For the group commits' counts.
    pub repos: Repos,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sources")
    }
}

fn counter(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> std::fmt::Result {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: i64) -> std::fmt::Result {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

impl Collector for Sources {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let orgs = self.tenants.counts();
        gauge(
            &mut e,
            "org_actors_active",
            "Org actors running now",
            i64::try_from(orgs.active).unwrap_or(i64::MAX),
        )?;
        counter(&mut e, "org_actors_activated", "Org actors started on demand", orgs.activated)?;
        counter(
            &mut e,
            "org_actors_passivated",
            "Org actors stopped (idle, evicted or org deleted)",
            orgs.passivated,
        )?;
        counter(
            &mut e,
            "org_actors_evicted",
            "Org actors passivated early because more than ASSIST_MAX_ACTIVE_ORGS were active",
            orgs.evicted,
        )?;
        counter(&mut e, "org_actors_failed", "Org actor failures", orgs.failed)?;
        counter(&mut e, "org_actors_restarted", "Org actors restarted after a failure", orgs.restarted)?;
        let events = self.ingest.counts();
        counter(
            &mut e,
            "webhook_events_received",
            "Webhook events delivered to ingest the first time",
            events.received,
        )?;
        counter(&mut e, "webhook_events_applied", "Webhook events applied", events.applied)?;
        counter(
            &mut e,
            "webhook_events_duplicated",
            "Webhook events already applied, acknowledged again",
            events.duplicates,
        )?;
        counter(
            &mut e,
            "webhook_events_unknown",
            "Webhook events of unknown types, acknowledged",
            events.unknown,
        )?;
        counter(
            &mut e,
            "webhook_events_retried",
            "Webhook event deliveries that failed and will be retried",
            events.retried,
        )?;
        counter(&mut e, "webhook_events_dead_lettered", "Webhook events given up on", events.dead_lettered)?;
        let commits = self.repos.contact_sessions().commit_counts();
        counter(
            &mut e,
            "session_commits",
            "Transactions committing contact sessions, each one org's batch or several orgs' together",
            commits.transactions,
        )?;
        counter(
            &mut e,
            "session_batches_committed",
            "Org batches of contact sessions committed",
            commits.batches,
        )?;
        counter(
            &mut e,
            "session_commits_split",
            "Groups of session batches whose transaction failed, then committed one org at a time",
            commits.split,
        )?;
        let activations = self.repos.activation_counts();
        counter(
            &mut e,
            "activation_commits",
            "Transactions activating org actors, each one org or several orgs together",
            activations.transactions,
        )?;
        counter(&mut e, "activations_committed", "Org activations committed", activations.batches)?;
        counter(
            &mut e,
            "activation_commits_split",
            "Groups of activations whose transaction failed, then committed one org at a time",
            activations.split,
        )?;
        // async-nats counts every successful connect, the first included.
        let connects = self.nats.statistics().connects.load(std::sync::atomic::Ordering::Relaxed);
        counter(&mut e, "nats_reconnects", "Reconnections to NATS", connects.saturating_sub(1))?;
        let connected = self.nats.connection_state() == async_nats::connection::State::Connected;
        gauge(&mut e, "nats_connected", "1 while connected to NATS", i64::from(connected))
    }
}
