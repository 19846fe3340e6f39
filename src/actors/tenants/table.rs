use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use ractor::ActorRef;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::actors::org::OrgMail;
use crate::ids::OrgId;

/// A running org actor, when it last got a request, and how many it has not answered yet.
pub(super) struct Entry {
    pub actor: ActorRef<OrgMail>,
    pub started_ms: u64,
    last_used_ms: AtomicU64,
    /// ractor 0.16 does not expose a mailbox's length, so routed requests are counted here
    /// from enqueue until answered (see [`Pending`]).
    pending: AtomicU64,
}

impl Entry {
    pub fn pending(&self) -> u64 {
        self.pending.load(Ordering::Relaxed)
    }

    pub fn touch(&self, now_ms: u64) {
        self.last_used_ms.store(now_ms, Ordering::Relaxed);
    }

    pub fn last_used_ms(&self) -> u64 {
        self.last_used_ms.load(Ordering::Relaxed)
    }
}

/// The routing table shared by every handle and the tenants actor (its only writer).
pub(super) struct Table {
    orgs: RwLock<HashMap<OrgId, Arc<Entry>>>,
    epoch: Instant,
}

impl Table {
    pub fn new() -> Self {
        Self { orgs: RwLock::new(HashMap::new()), epoch: Instant::now() }
    }

    /// Milliseconds on tokio's clock, so paused-time tests move it.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub fn read(&self) -> RwLockReadGuard<'_, HashMap<OrgId, Arc<Entry>>> {
        self.orgs.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, HashMap<OrgId, Arc<Entry>>> {
        self.orgs.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn insert(&self, org: OrgId, actor: ActorRef<OrgMail>) {
        let now = self.now_ms();
        let entry =
            Entry { actor, started_ms: now, last_used_ms: AtomicU64::new(now), pending: AtomicU64::new(0) };
        self.write().insert(org, Arc::new(entry));
    }
}

/// One request routed to an org actor and not answered yet; counted while it lives.
pub(super) struct Pending(Arc<Entry>);

impl Pending {
    pub fn new(entry: Arc<Entry>) -> Self {
        entry.pending.fetch_add(1, Ordering::Relaxed);
        Self(entry)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.pending.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One org actor as operators see it in the supervision tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgStatus {
    pub org: OrgId,
    /// `active`, `starting`, `stopping` or `suspended`.
    pub status: String,
    /// Requests queued for the actor or in its hands (`null` unless active).
    pub mailbox: Option<u64>,
    /// Restarts after a failure since the node started.
    pub restarts: u32,
    pub uptime_ms: Option<u64>,
    /// Time since the last request: the actor's last activity.
    pub idle_ms: Option<u64>,
}
