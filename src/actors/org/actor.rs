use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tracing::{Instrument, Span};

use futures::future::BoxFuture;

use super::sessions::PendingSession;
use super::system::OrgChange;
use crate::bus::events::{Audience, EventPublisher};
use crate::clock::Clock;
use crate::crypto::MasterKey;
use crate::db::Repos;
use crate::db::plugins::StoredPlugin;
use crate::error::ApiError;
use crate::ids::OrgId;
use crate::model::contact_session::{CreatedSession, NewContactSession};
use crate::model::organization::Organization;
use crate::model::widget_settings::WidgetSettings;
use crate::webhooks::clerk::SubscriptionStatus;

pub(crate) struct OrgActor;

pub(crate) struct OrgArgs {
    pub org: OrgId,
    pub repos: Repos,
    pub clock: Clock,
    pub master_key: MasterKey,
    pub events: EventPublisher,
}

/// What the actor keeps in memory: small on purpose, since many thousands may be active.
/// Conversations and sessions stay in the database; the actor is their only writer.
pub(crate) struct OrgState {
    pub(super) org: OrgId,
    pub(super) repos: Repos,
    pub(super) clock: Clock,
    pub(super) master_key: MasterKey,
    pub(super) events: EventPublisher,
    /// The three records are boxed: the state lives in the actor's task for its whole life,
    /// and most orgs have no plugin and many no settings (360 bytes inline, 24 boxed).
    pub(super) organization: Option<Box<Organization>>,
    pub(super) settings: Option<Box<WidgetSettings>>,
    /// Whether the newest subscription is active: voice is offered only then.
    pub(super) subscription_active: bool,
    pub(super) plugin: Option<Box<StoredPlugin>>,
    /// Open stream tickets and when they expire.
    pub(super) tickets: Vec<(String, chrono::DateTime<chrono::Utc>)>,
    /// Contact sessions waiting for the next commit (`OrgMsg::CommitSessions`).
    pub(super) pending_sessions: Vec<PendingSession>,
    /// The batch of sessions being committed, on a task of its own (see `sessions.rs`).
    pub(super) committing: Option<tokio::task::JoinHandle<()>>,
}

pub(crate) type Reply<T> = RpcReplyPort<Result<T, ApiError>>;

/// An [`OrgMsg`] with the span it was sent from, so the org's log lines carry the request's
/// fields (endpoint, request id). ractor's `message_span_propogation` would do this for every
/// actor, but it reserves room for a span in each of a mailbox's 32 preallocated slots, a cost
/// every org actor pays, idle or not. Here the span lives in the message's own box, and only
/// while the message is queued.
///
/// Boxed again inside ractor's box, so the mail is a pointer: ractor's message loop, kept
/// allocated for the actor's whole life, holds a received message inline, and an `OrgMsg` is
/// large.
pub(crate) struct OrgMail(Box<Sent>);

const _: () = assert!(size_of::<OrgMail>() == size_of::<usize>(), "an org's mail must stay a pointer");

struct Sent {
    msg: OrgMsg,
    span: Span,
}

/// Takes the span current where the conversion happens, so convert where the message is sent.
impl From<OrgMsg> for OrgMail {
    fn from(msg: OrgMsg) -> Self {
        Self(Box::new(Sent { msg, span: Span::current() }))
    }
}

/// Work an operation does inside the actor with the org's state (see `crate::api`); it
/// answers its caller itself.
pub(crate) type Job = Box<dyn for<'s> FnOnce(&'s mut OrgState) -> BoxFuture<'s, ()> + Send>;

pub(crate) enum OrgMsg {
    /// An operation, once a session batch being committed has settled.
    Run(Job),
    /// A read that runs beside a session batch being committed: it must not write.
    Read(Job),
    /// The widget starts a contact session.
    CreateSession(NewContactSession, Reply<CreatedSession>),
    /// A change Clerk's webhooks reported (organization, membership, billing).
    Apply(OrgChange, Reply<()>),
    /// A local seed (`assist serve --demo`) records the organization and its widget settings.
    Seed(WidgetSettings, Reply<()>),
    /// Self-sent after a session is queued, behind it in the mailbox, so every session request
    /// already waiting joins the same transaction.
    CommitSessions,
    /// Sent by a batch's task once its callers are answered: the sessions queued meanwhile go
    /// next.
    SessionsCommitted,
    /// Sent by tenants when idle: stop once the messages already queued are answered.
    Passivate,
}

impl OrgState {
    /// Publishes a committed change on the org's change feed.
    pub(super) async fn emit(
        &self,
        resource: &'static str,
        change: &'static str,
        audience: Audience,
        data: &impl serde::Serialize,
    ) {
        self.events.publish(&self.org, resource, change, audience, data).await;
    }

    /// The public settings changed (or whether voice works did): tell operators and widgets.
    pub(super) async fn emit_public_settings(&self) {
        if let Ok(public) = self.public_settings() {
            self.emit("settings", "updated", Audience::Everyone, &public).await;
        }
    }
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
        Ok(OrgState {
            org: args.org,
            repos: args.repos,
            clock: args.clock,
            master_key: args.master_key,
            events: args.events,
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
        let Sent { msg, span } = *mail.0;
        Box::pin(dispatch(myself, msg, state)).instrument(span).await
    }

    /// A stop (passivation, shutdown) may overtake the commit message: commit what is queued
    /// rather than fail the requests it has taken.
    async fn post_stop(&self, _: ActorRef<OrgMail>, state: &mut OrgState) -> Result<(), ActorProcessingErr> {
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
        OrgMsg::Passivate => myself.stop(Some("passivated".into())),
    }
    Ok(())
}
