//! # assist
//!
//! A multi-tenant backend for an embeddable AI voice assistant: organizations configure a widget
//! and a Vapi assistant, end-users talk to it, operators watch from a dashboard.
//!
//! # Layout
//!
//! A request flows edge → bus → actors → db, and the reply comes back the same way:
//!
//! - [`http`]: the axum edge. Each route becomes a NATS request on its subject; headers
//!   (`Authorization`, `X-Contact-Session`, `X-Request-Id`) become NATS headers. Event streams
//!   share the node's one subscription to the change feed ([`http::EventHub`]).
//! - [`bus`]: every subject name ([`bus::subjects`]), the request/reply envelope, the NATS micro
//!   service that serves the partitions this node holds (NATS maps `assist.v1.public.<org>.>`
//!   onto the org's partition; callers are authenticated in one place), the resend of requests
//!   nobody took, and the bundled nats-server for single-machine runs.
//! - [`actors`]: ractor actors. `root` → `partitions` (leases: which orgs this node owns) and
//!   `tenants` → one `org:<id>` actor per owned organization, the single writer of its data,
//!   activated on demand and passivated when idle.
//! - [`db`]: SurrealDB through the `any` engine; the schema, one repository per table, and the
//!   fencing check every org write carries.
//! - [`auth`]: Clerk session-JWT verification (JWKS, RS256, org claims v1 and v2).
//! - [`model`]: the JSON shapes callers see, with their validation.
//! - [`error`]: the one table of error codes shared by HTTP bodies and NATS error headers.
//! - [`widget`]: the embed script, the widget page and the demo, served by the edge as
//!   static files; the page calls the widget routes like any other client.
//! - [`ops`]: what operators see: the node id and heartbeat, the supervision tree gathered from
//!   every node over `assist.v1.admin.*`, and the per-App metrics registry.
//! - [`app`]: building and running the whole thing; [`config`]: what it is built from.

pub mod actors;
pub mod api;
pub mod app;
pub mod auth;
pub mod bus;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod faults;
pub mod http;
pub mod ids;
pub mod model;
pub mod ops;
#[cfg(test)]
mod properties;
pub mod vapi;
pub mod webhooks;
pub mod widget;

pub use app::{App, AppError};
pub use config::Config;
