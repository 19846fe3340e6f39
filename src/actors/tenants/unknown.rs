//! The gate anonymous callers pass before an org actor is started for them. An org becomes
//! known only through an operator's verified token or Clerk; a widget request naming any other
//! id must cost one read at most, never an actor, an activation transaction or a fence record.

use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use crate::db::organizations::Organizations;
use crate::error::ApiError;
use crate::ids::OrgId;

/// Enough to absorb a flood of made-up ids without growing with it.
const CAPACITY: usize = 16_384;

/// How long an org read as unknown is answered from memory. Activating the org forgets it at
/// once on this node; the bound covers an org made known on another node meanwhile.
const TTL: Duration = Duration::from_secs(10);

pub(crate) struct UnknownOrgs {
    organizations: Organizations,
    seen: Cache<OrgId, Instant>,
}

impl UnknownOrgs {
    pub(crate) fn new(organizations: Organizations) -> Self {
        Self { organizations, seen: Cache::new(CAPACITY) }
    }

    /// Whether anyone made the org known (and Clerk has not deleted it).
    pub(crate) async fn is_known(&self, org: &OrgId) -> Result<bool, ApiError> {
        if self.seen.get(org).is_some_and(|at| at.elapsed() < TTL) {
            return Ok(false);
        }
        if self.organizations.get(org).await?.is_some() {
            return Ok(true);
        }
        self.seen.insert(org.clone(), Instant::now());
        Ok(false)
    }

    pub(crate) fn forget(&self, org: &OrgId) {
        self.seen.remove(org);
    }
}
