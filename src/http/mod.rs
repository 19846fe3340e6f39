//! The edge: a thin axum layer that turns each route into a request on its NATS subject and the
//! reply back into HTTP. It authenticates nothing itself; the bus service does, in one place, for
//! HTTP and NATS callers alike.

mod error;
mod forward;
pub mod limits;
pub mod openapi;
mod ops;
mod routes;
pub mod server;
mod settings_cache;
mod sse;
mod upload;
mod webhooks;

pub use ops::AdminToken;
pub use routes::{EdgeOptions, EdgeService, router, served_routes};
pub use server::ConnectionLimits;
pub use settings_cache::SettingsCache;
pub use sse::{EventHub, StreamLimits};

/// What every edge handler shares (through an `Arc`: see `routes.rs`).
pub struct Edge {
    pub nats: async_nats::Client,
    pub js: async_nats::jetstream::Context,
    pub db: crate::db::Db,
    pub request_timeout: std::time::Duration,
    pub clerk_webhooks: Option<crate::webhooks::svix::SvixVerifier>,
    pub clock: crate::clock::Clock,
    /// Cancelled when the node shuts down, so long-lived streams end.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// The node's live change feed, shared by its event streams.
    pub events: EventHub,
    /// The widget settings the feed last told of, served without asking the owner.
    pub settings: SettingsCache,
    pub metrics: crate::ops::Metrics,
    /// `None`: the `/admin/*` routes are not served.
    pub admin_token: Option<AdminToken>,
    /// Checks that an upload comes from an admin of its org before storing it.
    pub auth: crate::auth::Authenticator,
    /// Where uploaded knowledge-base files wait to be read.
    pub uploads: crate::bus::uploads::Uploads,
}
