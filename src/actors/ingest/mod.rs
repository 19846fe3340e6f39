//! System ingest: the durable consumer of webhook events. Each event is applied at least once
//! and, because every effect is idempotent and applied ids are recorded, once in effect. An
//! event that keeps failing is parked on the dead-letter subject after a bounded number of
//! deliveries instead of being retried forever.

mod actor;
mod apply;
mod turn;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub(crate) use actor::IngestActor;
pub(crate) use apply::{Owners, apply_owned};
use async_nats::jetstream;
use serde::{Deserialize, Serialize};

use crate::db::Repos;

/// How many deliveries an event gets before it is dead-lettered.
pub const MAX_DELIVER: i64 = 5;

/// What the ingest actor starts from; its turns share it.
#[derive(Clone)]
pub(crate) struct IngestArgs {
    pub js: jetstream::Context,
    /// Org-scoped effects go to the org's owner, on this node or another.
    pub owners: Owners,
    pub repos: Repos,
    pub stats: Arc<IngestStats>,
    /// How long a delivered event may go unacknowledged before JetStream delivers it again.
    pub ack_wait: Duration,
}

/// Counters for operators (and the metrics endpoint).
#[derive(Debug, Default)]
pub struct IngestStats {
    received: AtomicU64,
    applied: AtomicU64,
    duplicates: AtomicU64,
    unknown: AtomicU64,
    retried: AtomicU64,
    dead_lettered: AtomicU64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngestCounts {
    pub received: u64,
    pub applied: u64,
    pub duplicates: u64,
    pub unknown: u64,
    pub retried: u64,
    pub dead_lettered: u64,
}

impl IngestStats {
    pub fn counts(&self) -> IngestCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        IngestCounts {
            received: get(&self.received),
            applied: get(&self.applied),
            duplicates: get(&self.duplicates),
            unknown: get(&self.unknown),
            retried: get(&self.retried),
            dead_lettered: get(&self.dead_lettered),
        }
    }

    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
