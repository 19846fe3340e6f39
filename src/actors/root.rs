use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};

/// The anchor of the supervision tree. Its children (tenants, and later the Vapi gateway and
/// system ingest) own their own restart policies; a child that fails outright is a node-level
/// fault, so root stops and the app shuts down with an error for the process supervisor to see.
pub struct Root;

impl Actor for Root {
    type Msg = ();
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<()>, _: ()) -> Result<(), ActorProcessingErr> {
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<()>,
        event: SupervisionEvent,
        _: &mut (),
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(child, err) = event {
            tracing::error!(child = %child.get_id(), error = %err, "a root child failed; stopping the node");
            myself.stop(Some(format!("child failed: {err}")));
        }
        Ok(())
    }
}
