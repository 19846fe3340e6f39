//! The typed configuration the library takes. Only the binary reads flags and environment
//! (CONTRACT.md lists them); tests build this struct directly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::actors::ActorConfig;
use crate::auth::ClerkConfig;
use crate::clock::Clock;
use crate::ops::NodeId;

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
    /// How long system ingest may hold an event unacknowledged before it is redelivered.
    pub ingest_ack_wait: Duration,
    pub actors: ActorConfig,
    /// The longest the edge waits for an answer from the bus.
    pub request_timeout: Duration,
    /// Request bodies larger than this get 413.
    pub body_limit: usize,
    /// The wall clock for expiry and timestamps; tests use a manual one.
    pub clock: Clock,
    /// This node in the supervision tree and on `assist.v1.admin.<node>.*`.
    pub node_id: NodeId,
    /// Bearer token of `/admin/*`; `None` leaves those routes out (404).
    pub admin_token: Option<String>,
}

impl Config {
    /// The embedded defaults of CONTRACT.md.
    pub fn embedded() -> Self {
        Self {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            nats_url: None,
            db: "surrealkv://./data/assist.db".into(),
            data_dir: PathBuf::from("./data"),
            clerk: ClerkConfig::default(),
            clerk_webhook_secret: None,
            ingest_ack_wait: Duration::from_secs(30),
            actors: ActorConfig::default(),
            request_timeout: Duration::from_secs(10),
            body_limit: 64 * 1024,
            clock: Clock::system(),
            node_id: NodeId::generate(),
            admin_token: None,
        }
    }
}
