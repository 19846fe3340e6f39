use std::collections::VecDeque;
use std::time::Duration;

use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use tokio::time::Instant;

use super::ingest::{IngestActor, IngestArgs};

/// The anchor of the supervision tree. Tenants keeps its own per-org restart policy, and a
/// failure of tenants itself is a node-level fault: root stops and the app exits with an error
/// for the process supervisor to see. System ingest keeps all its state in NATS and the
/// database, so root restarts it, within a bounded intensity.
pub(crate) struct Root;

pub(crate) enum RootMsg {
    /// Start system ingest under root's supervision; answered once it runs.
    StartIngest(Box<IngestArgs>, RpcReplyPort<Result<(), String>>),
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
    ingest: Option<(IngestArgs, ActorCell)>,
    ingest_failures: VecDeque<Instant>,
    ingest_restarts: u32,
}

const INGEST_MAX_RESTARTS: usize = 5;
const INGEST_WINDOW: Duration = Duration::from_secs(60);

impl Root {
    async fn spawn_ingest(myself: &ActorRef<RootMsg>, args: IngestArgs) -> Result<ActorCell, String> {
        let (ingest, _) = Actor::spawn_linked(None, IngestActor, args, myself.get_cell())
            .await
            .map_err(|e| e.to_string())?;
        Ok(ingest.get_cell())
    }
}

impl Actor for Root {
    type Msg = RootMsg;
    type State = RootState;
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<RootMsg>, _: ()) -> Result<RootState, ActorProcessingErr> {
        Ok(RootState { ingest: None, ingest_failures: VecDeque::new(), ingest_restarts: 0 })
    }

    async fn handle(
        &self,
        myself: ActorRef<RootMsg>,
        msg: RootMsg,
        state: &mut RootState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            RootMsg::StartIngest(args, reply) => {
                let started = Self::spawn_ingest(&myself, (*args).clone()).await;
                if let Ok(cell) = &started {
                    state.ingest = Some((*args, cell.clone()));
                }
                let _ = reply.send(started.map(drop));
            }
            RootMsg::Ingest(reply) => {
                let status = state.ingest.as_ref().map(|(_, cell)| cell.get_status());
                let _ = reply.send(IngestStatus { status, restarts: state.ingest_restarts });
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
        let SupervisionEvent::ActorFailed(child, err) = event else { return Ok(()) };
        let ingest = state.ingest.take_if(|(_, cell)| cell.get_id() == child.get_id());
        let Some((args, _)) = ingest else {
            tracing::error!(child = %child.get_id(), error = %err, "a root child failed; stopping the node");
            myself.stop(Some(format!("child failed: {err}")));
            return Ok(());
        };
        let now = Instant::now();
        state.ingest_failures.retain(|at| now.duration_since(*at) < INGEST_WINDOW);
        state.ingest_failures.push_back(now);
        if state.ingest_failures.len() > INGEST_MAX_RESTARTS {
            tracing::error!(error = %err, "system ingest keeps failing; stopping the node");
            myself.stop(Some("system ingest keeps failing".into()));
            return Ok(());
        }
        tracing::warn!(error = %err, "system ingest failed; restarting it");
        state.ingest_restarts += 1;
        match Self::spawn_ingest(&myself, args.clone()).await {
            Ok(cell) => state.ingest = Some((args, cell)),
            Err(cause) => {
                tracing::error!(%cause, "system ingest could not restart; stopping the node");
                myself.stop(Some(cause));
            }
        }
        Ok(())
    }
}
