use std::collections::HashMap;
use std::time::Duration;

use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use tokio::time::Instant;

use super::RestartWindow;
use super::ai::AiGatewayArgs;
use super::gateway::Gateway;
use super::ingest::{IngestActor, IngestArgs};
use super::vapi::GatewayArgs;

/// The anchor of the supervision tree. Tenants keeps its own per-org restart policy, and a
/// failure of tenants itself is a node-level fault: root stops and the app exits with an error
/// for the process supervisor to see. System ingest and the Vapi and AI gateways keep all their
/// state in NATS and the database, so root restarts them, within a bounded intensity.
pub(crate) struct Root;

/// A child root knows how to start again. Boxed: the arguments are large and messages small.
#[derive(Clone)]
pub(crate) enum Child {
    Ingest(Box<IngestArgs>),
    Vapi(Box<GatewayArgs>),
    Ai(Box<AiGatewayArgs>),
}

impl Child {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Ingest(_) => "system-ingest",
            Self::Vapi(_) => "vapi",
            Self::Ai(_) => "ai",
        }
    }

    async fn spawn(&self, root: &ActorRef<RootMsg>) -> Result<ActorCell, String> {
        let cell = root.get_cell();
        let spawned = match self.clone() {
            Self::Ingest(args) => {
                Actor::spawn_linked(None, IngestActor, *args, cell).await.map(|(a, _)| a.get_cell())
            }
            Self::Vapi(args) => {
                Actor::spawn_linked(None, Gateway::new(), *args, cell).await.map(|(a, _)| a.get_cell())
            }
            Self::Ai(args) => {
                Actor::spawn_linked(None, Gateway::new(), *args, cell).await.map(|(a, _)| a.get_cell())
            }
        };
        spawned.map_err(|e| format!("{}: {e}", self.name()))
    }
}

pub(crate) enum RootMsg {
    /// Start a restartable child under root's supervision; answered once it runs.
    Start(Child, RpcReplyPort<Result<(), String>>),
    /// How system ingest is doing, for the supervision tree.
    Ingest(RpcReplyPort<IngestStatus>),
}

/// System ingest as the supervision tree shows it.
#[derive(Clone, Debug)]
pub(crate) struct IngestStatus {
    /// ractor's status of the current ingest actor; `None` between a failure and its restart.
    pub status: Option<ractor::ActorStatus>,
    /// Restarts since the node started.
    pub restarts: u32,
}

pub(crate) struct RootState {
    children: HashMap<ActorId, Supervised>,
    /// Every child's failures together: several children failing is a node-level fault too.
    failures: RestartWindow,
}

/// A running child, and how often it was restarted before this run.
struct Supervised {
    child: Child,
    cell: ActorCell,
    restarts: u32,
}

/// More restarts than this within the window mean something is wrong beyond one child.
const MAX_RESTARTS: usize = 5;
const WINDOW: Duration = Duration::from_secs(60);

impl Actor for Root {
    type Msg = RootMsg;
    type State = RootState;
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<RootMsg>, _: ()) -> Result<RootState, ActorProcessingErr> {
        Ok(RootState { children: HashMap::new(), failures: RestartWindow::default() })
    }

    async fn handle(
        &self,
        myself: ActorRef<RootMsg>,
        msg: RootMsg,
        state: &mut RootState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            RootMsg::Start(child, reply) => {
                let started = child.spawn(&myself).await;
                if let Ok(cell) = &started {
                    state
                        .children
                        .insert(cell.get_id(), Supervised { child, cell: cell.clone(), restarts: 0 });
                }
                let _ = reply.send(started.map(drop));
            }
            RootMsg::Ingest(reply) => {
                let ingest = state.children.values().find(|s| matches!(s.child, Child::Ingest(_)));
                let _ = reply.send(IngestStatus {
                    status: ingest.map(|s| s.cell.get_status()),
                    restarts: ingest.map_or(0, |s| s.restarts),
                });
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<RootMsg>,
        event: SupervisionEvent,
        state: &mut RootState,
    ) -> Result<(), ActorProcessingErr> {
        let SupervisionEvent::ActorFailed(failed, err) = event else { return Ok(()) };
        let Some(Supervised { child, restarts, .. }) = state.children.remove(&failed.get_id()) else {
            tracing::error!(child = %failed.get_id(), error = %err, "a root child failed; stopping the node");
            myself.stop(Some(format!("child failed: {err}")));
            return Ok(());
        };
        if state.failures.record(Instant::now(), WINDOW) > MAX_RESTARTS {
            tracing::error!(child = child.name(), error = %err, "children keep failing; stopping the node");
            myself.stop(Some(format!("{} keeps failing", child.name())));
            return Ok(());
        }
        tracing::warn!(child = child.name(), error = %err, "child failed; restarting it");
        match child.spawn(&myself).await {
            Ok(cell) => {
                state.children.insert(cell.get_id(), Supervised { child, cell, restarts: restarts + 1 });
            }
            Err(cause) => {
                tracing::error!(%cause, "a child could not restart; stopping the node");
                myself.stop(Some(cause));
            }
        }
        Ok(())
    }
}
