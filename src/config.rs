//! The typed configuration the library takes. Only the binary reads flags and environment
//! (`src/cli.rs`; the README lists them); tests build this struct directly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::actors::ActorConfig;
use crate::actors::agent::AgentConfig;
use crate::actors::partitions::PartitionsConfig;
use crate::ai::AiConfig;
use crate::auth::ClerkConfig;
use crate::clock::Clock;
use crate::console::PublishableKey;
use crate::http::limits::RateLimits;
use crate::http::{ConnectionLimits, StreamLimits};
use crate::knowledge::Chunking;
use crate::ops::NodeId;
use crate::vapi::VapiConfig;
use crate::widget::WidgetConfig;

#[derive(Clone, Debug)]
pub struct Config {
    /// Where the edge listens; port 0 picks a free one (see `App::http_addr`).
    pub http_addr: SocketAddr,
    /// External NATS; `None` starts the bundled nats-server as a child process.
    pub nats_url: Option<String>,
    /// SurrealDB endpoint: `mem://`, `surrealkv://path`, `ws://host:port`.
    pub db: String,
    /// Local state of the embedded defaults (NATS store, generated credentials).
    pub data_dir: PathBuf,
    pub clerk: ClerkConfig,
    /// `whsec_…` of the Clerk webhook endpoint; without it `/webhooks/clerk` answers 503.
    pub clerk_webhook_secret: Option<String>,
    /// `ASSIST_MASTER_KEY` (32 bytes, base64); `None` uses `<data_dir>/master.key`, created on
    /// first run.
    pub master_key: Option<String>,
    /// Vapi: base URL, timeouts, retries, per-org limit, circuit breaker.
    pub vapi: VapiConfig,
    /// The OpenAI-compatible provider: base URL, key, models, timeouts, limits, breaker.
    pub ai: AiConfig,
    /// How long system ingest may hold an event unacknowledged before it is redelivered.
    pub ingest_ack_wait: Duration,
    pub actors: ActorConfig,
    /// The longest the edge waits for an answer from the bus.
    pub request_timeout: Duration,
    /// Request bodies larger than this get 413.
    pub body_limit: usize,
    /// Rate limits of the anonymous widget routes (per client address, per org; per node).
    pub widget_rate: RateLimits,
    /// How long a connection may take to send headers or stay silent, and how many may be open
    /// per client and in all.
    pub connections: ConnectionLimits,
    /// Event streams open at once per contact session and per org (per node).
    pub streams: StreamLimits,
    /// Browser origins allowed to call the dashboard routes (CORS); none by default.
    pub dashboard_origins: Vec<String>,
    /// The wall clock for expiry and timestamps; tests use a manual one.
    pub clock: Clock,
    /// The embed script and widget page (`src/widget`), and whether to run the demo.
    pub widget: WidgetConfig,
    /// The Clerk instance the operator console signs in with; `None` offers no Clerk sign-in.
    pub clerk_publishable_key: Option<PublishableKey>,
    /// This node in the supervision tree and on `assist.v1.admin.<node>.*`.
    pub node_id: NodeId,
    /// Bearer token of `/admin/*`; `None` leaves those routes out (404).
    pub admin_token: Option<String>,
    /// How orgs are split among nodes, and how long a silent node keeps its share.
    pub partitions: PartitionsConfig,
    /// How knowledge-base documents are cut into passages.
    pub chunking: Chunking,
    /// The AI agent's monthly budget per org and its patience with the provider.
    pub agent: AgentConfig,
}

impl Config {
    /// The embedded defaults: one machine, bundled nats-server, SurrealDB on disk.
    pub fn embedded() -> Self {
        Self {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            nats_url: None,
            db: "surrealkv://./data/assist.db".into(),
            data_dir: PathBuf::from("./data"),
            clerk: ClerkConfig::default(),
            clerk_webhook_secret: None,
            ingest_ack_wait: Duration::from_secs(30),
            master_key: None,
            // A stalled Vapi must not outlast the edge's own deadline: 3 attempts of 3 s.
            vapi: VapiConfig { call_timeout: Duration::from_secs(3), ..VapiConfig::default() },
            ai: AiConfig::default(),
            actors: ActorConfig::default(),
            request_timeout: Duration::from_secs(10),
            body_limit: 64 * 1024,
            widget_rate: RateLimits::default(),
            connections: ConnectionLimits::default(),
            streams: StreamLimits::default(),
            dashboard_origins: Vec::new(),
            clock: Clock::system(),
            widget: WidgetConfig::default(),
            clerk_publishable_key: None,
            node_id: NodeId::generate(),
            admin_token: None,
            partitions: PartitionsConfig::default(),
            chunking: Chunking::default(),
            agent: AgentConfig::default(),
        }
    }
}
