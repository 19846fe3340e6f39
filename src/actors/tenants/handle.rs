use std::sync::Arc;
use std::time::Duration;

use ractor::{ActorRef, RpcReplyPort};

use super::actor::TenantsMsg;
use super::table::{Pending, Table};
use super::unknown::UnknownOrgs;
use super::{OrgStatus, TenantCounts, TenantStats};
use crate::actors::org::{Org, OrgMsg};
use crate::actors::partitions::Ownership;
use crate::error::ApiError;
use crate::ids::OrgId;

/// The public face of the tenants actor: cheap to clone, shared by every request handler.
#[derive(Clone)]
pub struct Tenants {
    pub(super) actor: ActorRef<TenantsMsg>,
    pub(super) table: Arc<Table>,
    pub(super) stats: Arc<TenantStats>,
    pub(super) call_timeout: Duration,
    pub(super) ownership: Ownership,
    pub(super) unknown: Arc<UnknownOrgs>,
}

impl Tenants {
    pub fn org<'a>(&'a self, id: &'a OrgId) -> Org<'a> {
        Org { tenants: self, id }
    }

    /// Whether the org has a running actor right now (no activation, no actor call).
    pub fn is_active(&self, org: &OrgId) -> bool {
        self.table.read().contains_key(org)
    }

    /// Activations, passivations, failures and restarts so far, and the actors running now
    /// (no actor call: metrics scrapes never wait on the tree).
    pub fn counts(&self) -> TenantCounts {
        self.stats.counts(self.table.read().len())
    }

    /// ractor's status of the tenants actor itself.
    pub fn actor_status(&self) -> ractor::ActorStatus {
        self.actor.get_status()
    }

    /// Every org actor the tenants actor knows of, for the supervision tree.
    pub async fn statuses(&self) -> Result<Vec<OrgStatus>, ApiError> {
        ractor::call_t!(self.actor, TenantsMsg::Statuses, self.timeout_ms())
            .map_err(|e| unavailable("tenants", e))
    }

    /// Stops the org's actor (if it runs) after what it already has queued.
    pub async fn passivate(&self, org: &OrgId) -> Result<(), ApiError> {
        ractor::call_t!(self.actor, TenantsMsg::Passivate, self.timeout_ms(), org.clone())
            .map_err(|e| unavailable("tenants", e))
    }

    /// Stops every org actor of `partition` (after what each already has queued).
    pub(crate) async fn passivate_partition(&self, partition: u16) -> Result<(), ApiError> {
        ractor::call_t!(self.actor, TenantsMsg::PassivatePartition, self.timeout_ms(), partition)
            .map_err(|e| unavailable("tenants", e))
    }

    /// The partitions this node holds, with their fencing tokens.
    pub fn ownership(&self) -> &Ownership {
        &self.ownership
    }

    /// Sends one request to the org's actor, activating it first when needed, and waits for
    /// the answer at most the call timeout.
    pub(crate) async fn ask<T: Send + 'static>(
        &self,
        org: &OrgId,
        make: impl Fn(RpcReplyPort<Result<T, ApiError>>) -> OrgMsg,
    ) -> Result<T, ApiError> {
        // Two tries: the actor may stop (passivation, failure) between lookup and send.
        for _ in 0..2 {
            if let Some((mut answer, pending)) = self.try_send(org, &make) {
                let answered = tokio::time::timeout(self.call_timeout, &mut answer).await;
                if answered.is_err() {
                    // Still queued: it counts in the mailbox until the actor answers or dies.
                    tokio::spawn(async move {
                        let _ = answer.await;
                        drop(pending);
                    });
                }
                return match answered {
                    Ok(Ok(result)) => result,
                    Ok(Err(_)) => Err(ApiError::unavailable(format!(
                        "organization {org} failed while handling the request; it is being restarted, retry"
                    ))),
                    Err(_) => Err(ApiError::unavailable(format!(
                        "organization {org} did not answer within {} ms",
                        self.timeout_ms()
                    ))),
                };
            }
            self.activate(org).await?;
        }
        Err(ApiError::unavailable(format!("organization {org} could not be activated, retry")))
    }

    /// Whether the org may be served to callers that prove nothing about it (widget end-users,
    /// stream tickets): it runs now, or someone made it known. Starts no actor.
    pub(crate) async fn is_known(&self, org: &OrgId) -> Result<bool, ApiError> {
        Ok(self.is_active(org) || self.unknown.is_known(org).await?)
    }

    /// Enqueues under the table's read lock: see the module doc for why.
    fn try_send<T>(
        &self,
        org: &OrgId,
        make: &impl Fn(RpcReplyPort<Result<T, ApiError>>) -> OrgMsg,
    ) -> Option<(ractor::concurrency::OneshotReceiver<Result<T, ApiError>>, Pending)> {
        let orgs = self.table.read();
        let entry = orgs.get(org)?;
        let (tx, rx) = ractor::concurrency::oneshot();
        entry.actor.send_message(make(tx.into()).into()).ok()?;
        entry.touch(self.table.now_ms());
        Some((rx, Pending::new(entry.clone())))
    }

    async fn activate(&self, org: &OrgId) -> Result<(), ApiError> {
        ractor::call_t!(self.actor, TenantsMsg::Activate, self.timeout_ms(), org.clone())
            .map_err(|e| unavailable("tenants", e))??;
        self.unknown.forget(org);
        Ok(())
    }

    fn timeout_ms(&self) -> u64 {
        u64::try_from(self.call_timeout.as_millis()).unwrap_or(u64::MAX)
    }
}

fn unavailable(actor: &str, err: impl std::fmt::Display) -> ApiError {
    tracing::warn!(actor, error = %err, "actor call failed");
    ApiError::unavailable(format!("the {actor} actor did not answer; retry"))
}

impl Tenants {
    /// Stops every org actor (each finishes the message in hand), then the tenants actor.
    pub(crate) async fn shutdown(&self, timeout: Duration) {
        self.actor.stop_children_and_wait(Some("shutdown".into()), Some(timeout)).await;
        let _ = self.actor.stop_and_wait(Some("shutdown".into()), Some(timeout)).await;
    }
}
