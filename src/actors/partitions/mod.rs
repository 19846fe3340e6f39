//! One owner per organization, across nodes. Orgs are split into a fixed number of partitions
//! (nats-server maps each org's subjects onto its partition); each partition is held by at most
//! one node at a time under a lease in the JetStream key-value bucket `assist_partitions`.
//!
//! - A node renews its leases and its membership key every heartbeat (a quarter of the TTL).
//! - A lease, or a membership, not renewed for the TTL is expired. Expiry is judged by how long
//!   the *observer* has seen a key unchanged, on its own clock, so nodes' clocks never matter.
//! - Every node aims at a fair share, `ceil(partitions / live nodes)`: it claims free or expired
//!   partitions while under it, and releases (unsubscribes, passivates, deletes the key) while
//!   over it, which is how a joining node gets work.
//! - Claims and renewals are compare-and-set on the key's revision, so two nodes never both
//!   believe a claim succeeded. The revision of the claim is the lease's fencing token; it only
//!   grows, and the database refuses writes under an older one (`crate::db::Fence`), so a node
//!   that lost a lease without noticing (frozen, cut off) can never write.

mod actor;
mod handle;
mod ownership;

use std::time::Duration;

pub(crate) use actor::PartitionsArgs;
pub(crate) use handle::Partitions;
pub use ownership::Ownership;

pub const BUCKET: &str = "assist_partitions";

#[derive(Clone, Debug)]
pub struct PartitionsConfig {
    /// Must equal the partition count of the NATS mappings (16 in the bundled config).
    pub count: u16,
    /// A lease not renewed for this long may be taken over: the bound on a handover, plus one
    /// heartbeat. Longer than NATS takes to drop a silent client (the bundled config's pings), so
    /// a frozen node's subscriptions are gone before its partitions move.
    pub ttl: Duration,
}

impl Default for PartitionsConfig {
    fn default() -> Self {
        Self { count: crate::bus::subjects::DEFAULT_PARTITIONS, ttl: Duration::from_secs(5) }
    }
}
