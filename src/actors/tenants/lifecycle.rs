//! One org's life on this node as the tenants actor tracks it, in one place, so that what may
//! be true of an org at once (starting with callers waiting, or suspended, never both) is what
//! the type allows.

use std::collections::HashMap;

use ractor::RpcReplyPort;
use tokio::time::Instant;

use super::OrgStatus;
use crate::actors::RestartWindow;
use crate::error::ApiError;
use crate::ids::OrgId;

/// A caller waiting for an org's actor to be in the routing table.
pub(super) type Waiter = RpcReplyPort<Result<(), ApiError>>;

/// Every org not idle, or with failures or restarts to remember.
#[derive(Default)]
pub(super) struct Lifecycles(HashMap<OrgId, Tenant>);

impl Lifecycles {
    /// The org's entry, made idle if it had none.
    pub fn tenant(&mut self, org: &OrgId) -> &mut Tenant {
        self.0.entry(org.clone()).or_default()
    }

    /// Moves the org into `phase`, and forgets it when nothing is left to remember. Returns the
    /// phase it leaves.
    pub fn enter(&mut self, org: &OrgId, phase: Phase) -> Phase {
        let tenant = self.tenant(org);
        let left = std::mem::replace(&mut tenant.phase, phase);
        if tenant.forgettable() {
            self.0.remove(org);
        }
        left
    }

    pub fn restarts(&self, org: &OrgId) -> u32 {
        self.0.get(org).map_or(0, |tenant| tenant.restarts)
    }

    /// The supervision tree's lines of the orgs that are neither active nor idle.
    pub fn statuses(&self, now: Instant) -> impl Iterator<Item = OrgStatus> + '_ {
        self.0.iter().filter_map(move |(org, tenant)| tenant.status(org, now))
    }
}

/// An org tenants has a reason to remember: an actor in some phase of its life, or failures.
#[derive(Default)]
pub(super) struct Tenant {
    pub phase: Phase,
    pub failures: RestartWindow,
    /// Restarts after a failure since the node started, for the supervision tree.
    pub restarts: u32,
}

#[derive(Default)]
pub(super) enum Phase {
    /// No actor.
    #[default]
    Idle,
    /// Its actor is loading; these callers wait for it.
    Starting(Vec<Waiter>),
    /// Its actor is in the routing table.
    Active,
    /// Out of the table, its actor not yet terminated: no replacement starts before it ends,
    /// and these callers wait for the replacement.
    Stopping(Vec<Waiter>),
    /// It failed too often: refused until then.
    Suspended(Instant),
}

impl Tenant {
    /// An idle org with no failures and no restarts to report is not kept.
    fn forgettable(&self) -> bool {
        matches!(self.phase, Phase::Idle) && self.failures.is_empty() && self.restarts == 0
    }

    /// The org's line in the supervision tree, unless it is active (the routing table has that
    /// line, with the actor's mailbox and times) or idle.
    fn status(&self, org: &OrgId, now: Instant) -> Option<OrgStatus> {
        let status = match self.phase {
            Phase::Starting(_) => "starting",
            Phase::Stopping(_) => "stopping",
            Phase::Suspended(until) if now < until => "suspended",
            Phase::Idle | Phase::Active | Phase::Suspended(_) => return None,
        };
        Some(OrgStatus {
            org: org.clone(),
            status: status.into(),
            mailbox: None,
            restarts: self.restarts,
            uptime_ms: None,
            idle_ms: None,
        })
    }
}
