//! Tenants: activates org actors on demand (virtual-actor style), passivates idle ones and
//! restarts failed ones within a bounded intensity.
//!
//! Routing does not go through the tenants actor: callers look the org up in a shared table and
//! enqueue directly, under the table's read lock. Tenants removes an entry under the write lock
//! before it asks the actor to stop, so every message routed through the table is queued ahead
//! of the stop, and a replacement actor is only started once the old one has terminated. That
//! keeps one writer per org without putting tenants on the hot path.

mod actor;
mod handle;
mod lifecycle;
mod table;
mod unknown;

pub(crate) use actor::TenantsActor;
pub use handle::Tenants;
pub use table::OrgStatus;

use std::sync::atomic::{AtomicU64, Ordering};

/// What the tenants actor has done since the node started, for the metrics endpoint.
#[derive(Debug, Default)]
pub(crate) struct TenantStats {
    activated: AtomicU64,
    passivated: AtomicU64,
    evicted: AtomicU64,
    failed: AtomicU64,
    restarted: AtomicU64,
}

/// A snapshot of [`TenantStats`] with the number of org actors running now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TenantCounts {
    pub active: u64,
    pub activated: u64,
    pub passivated: u64,
    /// Passivated before going idle, because more than `max_active` were active.
    pub evicted: u64,
    pub failed: u64,
    pub restarted: u64,
}

impl TenantStats {
    fn bump(counter: &AtomicU64) {
        Self::add(counter, 1);
    }

    fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn counts(&self, active: usize) -> TenantCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        TenantCounts {
            active: u64::try_from(active).unwrap_or(u64::MAX),
            activated: get(&self.activated),
            passivated: get(&self.passivated),
            evicted: get(&self.evicted),
            failed: get(&self.failed),
            restarted: get(&self.restarted),
        }
    }
}
