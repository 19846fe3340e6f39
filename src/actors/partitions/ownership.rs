use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::bus::subjects;
use crate::ids::OrgId;

/// The partitions this node holds and their fencing tokens, shared by the lease actor (its only
/// writer) and the tenants actor, which activates an org only under a held lease.
#[derive(Clone, Debug)]
pub struct Ownership {
    count: u16,
    held: Arc<RwLock<BTreeMap<u16, u64>>>,
}

impl Ownership {
    pub fn new(count: u16) -> Self {
        Self { count: count.max(1), held: Arc::default() }
    }

    pub fn count(&self) -> u16 {
        self.count
    }

    pub fn partition_of(&self, org: &OrgId) -> u16 {
        subjects::partition_of(org, self.count)
    }

    /// The fencing token under which this node may run `org`, if it holds the org's partition.
    pub fn token(&self, org: &OrgId) -> Option<u64> {
        self.read().get(&self.partition_of(org)).copied()
    }

    /// `(partition, token)` of every lease held, in partition order.
    pub fn held(&self) -> Vec<(u16, u64)> {
        self.read().iter().map(|(p, t)| (*p, *t)).collect()
    }

    pub(super) fn insert(&self, partition: u16, token: u64) {
        self.held.write().unwrap_or_else(PoisonError::into_inner).insert(partition, token);
    }

    pub(super) fn remove(&self, partition: u16) {
        self.held.write().unwrap_or_else(PoisonError::into_inner).remove(&partition);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<u16, u64>> {
        self.held.read().unwrap_or_else(PoisonError::into_inner)
    }
}
