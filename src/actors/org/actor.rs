//! The org actor itself: loading its state, and handing each message to the operation it asks for.

use ractor::{Actor, ActorProcessingErr, ActorRef};
use tracing::Instrument;

use super::mail::{OrgMail, OrgMsg};
use super::state::OrgState;
use crate::actors::agent::Agent;
use crate::actors::ingestion::Ingestion;
use crate::bus::events::EventPublisher;
use crate::clock::Clock;
use crate::crypto::MasterKey;
use crate::db::Repos;
use crate::ids::OrgId;
use crate::webhooks::clerk::SubscriptionStatus;

pub(crate) struct OrgActor;

pub(crate) struct OrgArgs {
    pub org: OrgId,
    pub repos: Repos,
    pub clock: Clock,
    pub master_key: MasterKey,
    pub events: EventPublisher,
    pub ingestion: Ingestion,
    pub agent: Agent,
}

impl Actor for OrgActor {
    type Msg = OrgMail;
    type State = OrgState;
    type Arguments = OrgArgs;

    /// Loads everything from the database, so a restarted actor is exactly as the last
    /// committed write left it.
    async fn pre_start(&self, _: ActorRef<OrgMail>, args: OrgArgs) -> Result<OrgState, ActorProcessingErr> {
        // A newer owner elsewhere makes this fail, and an older one can write no more after it.
        let rows = args.repos.activate(&args.org).await?;
        args.repos.chunks().forget_cached(&args.org);
        Ok(OrgState {
            org: args.org,
            repos: args.repos,
            clock: args.clock,
            master_key: args.master_key,
            events: args.events,
            ingestion: args.ingestion,
            agent: args.agent,
            agent_settings: None,
            replies: Vec::new(),
            resumed: false,
            organization: rows.organization.map(Box::new),
            settings: rows.settings.map(Box::new),
            subscription_active: SubscriptionStatus::pays(rows.subscription_status.as_deref()),
            plugin: rows.plugin.map(Box::new),
            tickets: Vec::new(),
            pending_sessions: Vec::new(),
            committing: None,
        })
    }

    /// Boxed, so each actor's idle footprint stays small: ractor keeps every actor's message
    /// loop allocated at its largest state, which would inline this whole dispatch in every
    /// org's footprint. A short-lived box per message costs less.
    async fn handle(
        &self,
        myself: ActorRef<OrgMail>,
        mail: OrgMail,
        state: &mut OrgState,
    ) -> Result<(), ActorProcessingErr> {
        let (msg, span) = mail.open();
        let first = !std::mem::replace(&mut state.resumed, true);
        Box::pin(dispatch(myself.clone(), msg, state)).instrument(span).await?;
        // Work a restart cut short (documents being read, answers owed) goes on, queued behind
        // the requests that woke the org and what they queued (a session batch's commit), so
        // its two reads never delay them. An actor already stopping leaves it to its successor.
        if first {
            let _ = myself.send_message(OrgMsg::Resume.into());
        }
        Ok(())
    }

    /// A stop (passivation, shutdown) may overtake the commit message: commit what is queued
    /// rather than fail the requests it has taken.
    async fn post_stop(&self, _: ActorRef<OrgMail>, state: &mut OrgState) -> Result<(), ActorProcessingErr> {
        // Answers under way go on and report to the org's next activation over NATS.
        state.replies.clear();
        state.settle_sessions().await;
        state.commit_sessions_now().await;
        Ok(())
    }
}

async fn dispatch(
    myself: ActorRef<OrgMail>,
    msg: OrgMsg,
    state: &mut OrgState,
) -> Result<(), ActorProcessingErr> {
    // Only session creation and reads run beside a batch being committed: anything else may
    // write, and two transactions of one org would conflict on its fence record.
    if !matches!(msg, OrgMsg::CreateSession(..) | OrgMsg::CommitSessions | OrgMsg::Read(_)) {
        state.settle_sessions().await;
    }
    // A closed reply port only means the caller gave up; the work is done either way.
    match msg {
        OrgMsg::Run(job) | OrgMsg::Read(job) => job(state).await,
        OrgMsg::CreateSession(new, reply) => {
            if state.queue_session(new, reply) {
                myself.send_message(OrgMsg::CommitSessions.into())?;
            }
        }
        OrgMsg::CommitSessions => state.commit_sessions(&myself),
        // The batch that sent this was settled above, like before every message but three.
        OrgMsg::SessionsCommitted => state.commit_sessions(&myself),
        OrgMsg::Apply(change, reply) => {
            let _ = reply.send(state.apply(change).await);
        }
        OrgMsg::Seed(settings, reply) => {
            let _ = reply.send(state.seed(settings).await);
        }
        OrgMsg::Resume => {
            if let Err(err) = state.resume_ingestion().await {
                tracing::warn!(org = %state.org, error = %err, "could not resume ingestion");
            }
            if let Err(err) = state.resume_answers().await {
                tracing::warn!(org = %state.org, error = %err, "could not resume the agent's answers");
            }
        }
        OrgMsg::Passivate => myself.stop(Some("passivated".into())),
    }
    Ok(())
}
