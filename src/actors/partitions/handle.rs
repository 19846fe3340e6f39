use std::time::Duration;

use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef};

use super::actor::{LeaseActor, LeaseMsg, PartitionsArgs};
use crate::error::ApiError;

/// The public face of the lease actor.
#[derive(Clone)]
pub(crate) struct Partitions {
    actor: ActorRef<LeaseMsg>,
}

/// A heartbeat runs a few key-value round trips per partition at most.
const CALL_TIMEOUT_MS: u64 = 15_000;

impl Partitions {
    /// Spawns the lease actor under `supervisor` (a failure of it is a node-level fault).
    pub(crate) async fn start(
        supervisor: ActorCell,
        args: PartitionsArgs,
    ) -> Result<Self, ActorProcessingErr> {
        let (actor, _) = Actor::spawn_linked(None, LeaseActor, args, supervisor).await?;
        Ok(Self { actor })
    }

    /// Runs one heartbeat now and answers when it is done: at start-up, a lone node holds every
    /// partition once this returns.
    pub(crate) async fn settle(&self) -> Result<(), ApiError> {
        ractor::call_t!(self.actor, |reply| LeaseMsg::Tick(Some(reply)), CALL_TIMEOUT_MS)
            .map_err(|e| ApiError::unavailable(format!("the partitions actor did not answer: {e}")))
    }

    /// Gives every lease back (unsubscribe, passivate, delete the key), so other nodes take the
    /// partitions over at their next heartbeat instead of after the TTL.
    pub(crate) async fn release_all(&self) {
        if let Err(err) = ractor::call_t!(self.actor, LeaseMsg::ReleaseAll, CALL_TIMEOUT_MS) {
            tracing::warn!(error = %err, "releasing the partition leases at shutdown");
        }
        let _ = self.actor.stop_and_wait(Some("shutdown".into()), Some(Duration::from_secs(5))).await;
    }
}
