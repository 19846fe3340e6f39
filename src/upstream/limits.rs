//! At most N calls to a provider in flight per org, so one tenant's burst cannot use up the
//! shared connection pool or the provider's patience with everyone else. An org's entry is
//! removed when its last call ends, so the map does not grow with the number of orgs ever seen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::ids::OrgId;

/// Cloned handles share the same slots.
#[derive(Clone)]
pub struct OrgLimits {
    per_org: usize,
    slots: Arc<Mutex<HashMap<OrgId, Arc<Semaphore>>>>,
}

/// Holds one of the org's slots until dropped. It owns its handle, so a streamed answer can
/// keep its slot for as long as it streams.
pub struct Slot {
    limits: OrgLimits,
    org: OrgId,
    permit: Option<OwnedSemaphorePermit>,
}

impl OrgLimits {
    pub fn new(per_org: usize) -> Self {
        Self { per_org: per_org.max(1), slots: Arc::default() }
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<OrgId, Arc<Semaphore>>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for one of the org's slots.
    pub async fn acquire(&self, org: &OrgId) -> Slot {
        let semaphore = Arc::clone(
            self.slots().entry(org.clone()).or_insert_with(|| Arc::new(Semaphore::new(self.per_org))),
        );
        // The semaphore is never closed, so acquiring only ends with a permit.
        let permit = semaphore.acquire_owned().await.ok();
        Slot { limits: self.clone(), org: org.clone(), permit }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.slots().len()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        drop(self.permit.take());
        let mut slots = self.limits.slots();
        // Clones are made only under this lock, so a count of one (the map's own) means no call
        // of this org holds or awaits a slot, and none can start until we let go.
        if slots.get(&self.org).is_some_and(|semaphore| Arc::strong_count(semaphore) == 1) {
            slots.remove(&self.org);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn org(id: &str) -> OrgId {
        OrgId::parse(id).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_call_of_the_same_org_waits_for_the_first() {
        let limits = OrgLimits::new(1);
        let first = limits.acquire(&org("org_a")).await;
        let waiting = tokio::time::timeout(Duration::from_secs(1), limits.acquire(&org("org_a"))).await;
        assert!(waiting.is_err(), "the second call got a slot while the first held it");
        drop(first);
        assert!(tokio::time::timeout(Duration::from_secs(1), limits.acquire(&org("org_a"))).await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn other_orgs_are_not_held_up() {
        let limits = OrgLimits::new(1);
        let _first = limits.acquire(&org("org_a")).await;
        assert!(tokio::time::timeout(Duration::from_secs(1), limits.acquire(&org("org_b"))).await.is_ok());
    }

    #[tokio::test]
    async fn idle_orgs_are_forgotten() {
        let limits = OrgLimits::new(2);
        let first = limits.acquire(&org("org_a")).await;
        let second = limits.acquire(&org("org_a")).await;
        drop(first);
        assert_eq!(limits.tracked(), 1);
        drop(second);
        assert_eq!(limits.tracked(), 0);
    }
}
