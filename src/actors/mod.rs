//! The actor tree. `root` anchors supervision; `tenants` activates one `org:<id>` actor per
//! organization on demand, passivates idle ones and restarts failed ones within a bounded
//! intensity. The org actor is the single writer for its organization, and it runs only on the
//! node holding the lease of the org's partition (`partitions`).
//!
//! ```text
//! root
//!  +-- partitions      (leases: which orgs this node owns; serves their subjects)
//!  +-- tenants
//!  |    +-- org:<id>   (one per active organization of an owned partition)
//!  +-- system-ingest   (durable consumer of webhook events)
//!  +-- vapi            (the gateway: every call to Vapi, on private subjects)
//!  +-- ai              (the gateway: every call to the AI provider, on private subjects)
//! ```

pub mod agent;
pub(crate) mod ai;
mod gateway;
pub mod ingest;
pub(crate) mod ingestion;
pub mod org;
pub mod partitions;
mod root;
pub mod tenants;
pub(crate) mod vapi;

/// What every org actor of a node shares: the key that seals its secrets, its change feed, and
/// the workers that do its long work off its mailbox.
#[derive(Clone)]
pub(crate) struct OrgServices {
    pub master_key: crate::crypto::MasterKey,
    pub events: crate::bus::events::EventPublisher,
    pub ingestion: ingestion::Ingestion,
    pub agent: agent::Agent,
}

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

pub(crate) use root::{Child, Root, RootMsg};
pub use tenants::{OrgStatus, TenantCounts, Tenants};

/// Timings and limits of the actor tree; the binary fills it from flags, tests shorten it.
#[derive(Clone, Debug)]
pub struct ActorConfig {
    /// An org actor with no request for this long is stopped; its state lives in the database.
    pub idle_timeout: Duration,
    /// More org actors active than this and the least recently used are passivated before they
    /// go idle: every active org costs memory, and a node that activates
    /// orgs faster than they idle out must not grow until the kernel kills it.
    pub max_active: usize,
    /// The longest any caller waits for an actor's answer.
    pub call_timeout: Duration,
    /// More failures than this within `restart_window` suspend the org instead of looping.
    pub max_restarts: usize,
    pub restart_window: Duration,
    /// How often expired contact sessions are deleted.
    pub session_sweep: Duration,
}

impl Default for ActorConfig {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(15 * 60),
            max_active: 50_000,
            call_timeout: Duration::from_secs(5),
            max_restarts: 3,
            restart_window: Duration::from_secs(60),
            session_sweep: Duration::from_secs(10 * 60),
        }
    }
}

/// The recent failures of what a supervisor restarts (root's children, tenants' orgs): past a
/// bound within the window, restarting again would only loop.
#[derive(Debug, Default)]
pub(crate) struct RestartWindow(VecDeque<Instant>);

impl RestartWindow {
    /// Records a failure at `now` and forgets those older than `window`: how many remain.
    pub(crate) fn record(&mut self, now: Instant, window: Duration) -> usize {
        self.0.retain(|at| now.duration_since(*at) < window);
        self.0.push_back(now);
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
