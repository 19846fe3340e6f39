use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use tokio::time::Instant;

use super::ingest::{IngestActor, IngestArgs};
use super::vapi::{GatewayArgs, VapiGateway};

/// The anchor of the supervision tree. Tenants keeps its own per-org restart policy, and a
/// failure of tenants itself is a node-level fault: root stops and the app exits with an error
/// for the process supervisor to see. System ingest and the Vapi gateway keep all their state in
/// NATS and the database, so root restarts them, within a bounded intensity.
pub(crate) struct Root;

/// A child root knows how to start again.
#[derive(Clone)]
pub(crate) enum Child {
    Ingest(IngestArgs),
    Vapi(GatewayArgs),
}

impl Child {
    fn name(&self) -> &'static str {
        match self {
            Self::Ingest(_) => "system-ingest",
            Self::Vapi(_) => "vapi",
        }
    }

    async fn spawn(&self, root: &ActorRef<RootMsg>) -> Result<ActorId, String> {
        let cell = root.get_cell();
        let spawned = match self.clone() {
            Self::Ingest(args) => {
                Actor::spawn_linked(None, IngestActor, args, cell).await.map(|(a, _)| a.get_id())
            }
            Self::Vapi(args) => {
                Actor::spawn_linked(None, VapiGateway, args, cell).await.map(|(a, _)| a.get_id())
            }
        };
        spawned.map_err(|e| format!("{}: {e}", self.name()))
    }
}

pub(crate) enum RootMsg {
    /// Start a restartable child under root's supervision; answered once it runs.
    Start(Child, RpcReplyPort<Result<(), String>>),
}

pub(crate) struct RootState {
    children: HashMap<ActorId, Child>,
    failures: VecDeque<Instant>,
}

/// More restarts than this within the window mean something is wrong beyond one child.
const MAX_RESTARTS: usize = 5;
const WINDOW: Duration = Duration::from_secs(60);

impl Actor for Root {
    type Msg = RootMsg;
    type State = RootState;
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<RootMsg>, _: ()) -> Result<RootState, ActorProcessingErr> {
        Ok(RootState { children: HashMap::new(), failures: VecDeque::new() })
    }

    async fn handle(
        &self,
        myself: ActorRef<RootMsg>,
        msg: RootMsg,
        state: &mut RootState,
    ) -> Result<(), ActorProcessingErr> {
        let RootMsg::Start(child, reply) = msg;
        let started = child.spawn(&myself).await;
        if let Ok(id) = &started {
            state.children.insert(*id, child);
        }
        let _ = reply.send(started.map(drop));
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<RootMsg>,
        event: SupervisionEvent,
        state: &mut RootState,
    ) -> Result<(), ActorProcessingErr> {
        let SupervisionEvent::ActorFailed(failed, err) = event else { return Ok(()) };
        let Some(child) = state.children.remove(&failed.get_id()) else {
            tracing::error!(child = %failed.get_id(), error = %err, "a root child failed; stopping the node");
            myself.stop(Some(format!("child failed: {err}")));
            return Ok(());
        };
        let now = Instant::now();
        state.failures.retain(|at| now.duration_since(*at) < WINDOW);
        state.failures.push_back(now);
        if state.failures.len() > MAX_RESTARTS {
            tracing::error!(child = child.name(), error = %err, "children keep failing; stopping the node");
            myself.stop(Some(format!("{} keeps failing", child.name())));
            return Ok(());
        }
        tracing::warn!(child = child.name(), error = %err, "child failed; restarting it");
        match child.spawn(&myself).await {
            Ok(id) => {
                state.children.insert(id, child);
            }
            Err(cause) => {
                tracing::error!(%cause, "a child could not restart; stopping the node");
                myself.stop(Some(cause));
            }
        }
        Ok(())
    }
}
