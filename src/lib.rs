//! # assist
//!
//! A multi-tenant backend for an embeddable AI voice assistant: organizations configure a widget
//! and a Vapi assistant, end-users talk to it, operators watch from a dashboard.
//!
//! # Layout
//!
//! A request flows edge → api → bus → the owning node's api → actors → db, and the reply comes
//! back the same way. The modules are layered, and each imports only from its own layer or
//! below (`tests/layers.rs` holds them to it). From the bottom:
//!
//! 1. [`error`] (the one table of error codes shared by HTTP bodies and NATS error headers),
//!    [`ids`], [`clock`], [`crypto`], [`faults`]: the foundations; [`upstream`]: what every
//!    call to an outside provider goes through (breaker, per-org limit, retries, metrics).
//! 2. [`model`]: the JSON shapes callers see, with their validation.
//! 3. [`bus`]: every subject name ([`bus::subjects`]), the request/reply envelope, the NATS micro
//!    service that takes the requests of the partitions this node holds (NATS maps
//!    `assist.v1.public.<org>.>` onto the org's partition), the change feed, the resend of
//!    requests nobody took, and the bundled nats-server. It carries messages and knows no
//!    actor. Beside it, [`auth`]: Clerk session-JWT verification (JWKS, RS256, org claims v1
//!    and v2).
//! 4. [`db`]: SurrealDB through the `any` engine; the schema, one repository per table, the
//!    fencing check every org write carries. It speaks in its own row types.
//! 5. [`webhooks`]: Clerk's and Vapi's events, typed (and what assist records of them);
//!    [`vapi`]: the client for Vapi's API; [`ai`]: the client for an OpenAI-compatible API
//!    (embeddings, streamed chat); [`knowledge`]: reading documents into passages.
//! 6. [`actors`]: ractor actors. `root` → `partitions` (leases: which orgs this node owns) and
//!    `tenants` → one `org:<id>` actor per owned organization, the single writer of its data,
//!    activated on demand and passivated when idle; system ingest; the Vapi and AI gateways.
//! 7. [`ops`]: what operators see: the node id's heartbeat, the supervision tree gathered from
//!    every node over `assist.v1.admin.*`, and the per-App metrics registry.
//! 8. [`api`]: the public operations, each declared once; authentication (in this one place,
//!    for HTTP and NATS callers alike), decoding, validation, and the call into the org actor.
//!    The one place where the bus and the actors meet.
//! 9. [`http`]: the axum edge. Each route becomes a NATS request on its subject; headers
//!    (`Authorization`, `X-Contact-Session`, `X-Request-Id`) become NATS headers. Event streams
//!    share the node's one subscription to the change feed ([`http::EventHub`]). [`widget`]:
//!    the embed script, the widget page and the demo, served by the edge as static files;
//!    [`console`]: the operators' console, static files too, over the public HTTP API.
//! 10. [`app`]: building and running the whole thing; [`config`]: what it is built from.

pub mod actors;
pub mod ai;
pub mod api;
pub mod app;
pub mod auth;
pub mod bus;
pub mod clock;
pub mod config;
pub mod console;
pub mod crypto;
pub mod db;
pub mod error;
pub mod faults;
pub mod http;
pub mod ids;
pub mod knowledge;
pub mod model;
pub mod ops;
#[cfg(test)]
mod properties;
pub mod upstream;
pub mod vapi;
pub mod webhooks;
pub mod widget;

pub use app::{App, AppError};
pub use config::Config;
