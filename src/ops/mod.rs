//! Operations: what lets operators see and trust a running node.
//!
//! - [`node`]: the node's id (`ASSIST_NODE_ID`) and its heartbeat in the `assist_nodes` bucket,
//!   which tells the tree which nodes to expect.
//! - [`tree`]: the supervision tree a node reports, and the scatter-gather over every node.
//! - [`admin`]: the NATS responder for `assist.v1.admin.<node>|all.<verb>`.
//! - [`metrics`]: the per-App Prometheus registry behind `GET /metrics`.

pub mod admin;
pub mod metrics;
pub mod node;
mod render;
pub mod tree;

pub use crate::ids::NodeId;
pub use metrics::Metrics;
