//! What an org actor keeps in memory, shared by the actor and the files of its operations.

use ractor::RpcReplyPort;

use crate::actors::agent::Agent;
use crate::actors::ingestion::Ingestion;
use crate::bus::events::{Audience, EventPublisher};
use crate::clock::Clock;
use crate::crypto::MasterKey;
use crate::db::Repos;
use crate::db::plugins::StoredPlugin;
use crate::error::ApiError;
use crate::ids::OrgId;
use crate::ids::{ConversationId, MessageId};
use crate::model::agent::AgentSettings;
use crate::model::contact_session::{ContactSession, CreatedSession};
use crate::model::organization::Organization;
use crate::model::widget_settings::WidgetSettings;

/// What the actor keeps in memory: small on purpose, since many thousands may be active.
/// Conversations and sessions stay in the database; the actor is their only writer.
pub(crate) struct OrgState {
    pub(super) org: OrgId,
    pub(super) repos: Repos,
    pub(super) clock: Clock,
    pub(super) master_key: MasterKey,
    pub(super) events: EventPublisher,
    pub(super) ingestion: Ingestion,
    pub(super) agent: Agent,
    /// The agent's settings, read on first use (`None` until then).
    pub(super) agent_settings: Option<Box<AgentSettings>>,
    /// Answers being generated, one per conversation at most.
    pub(super) replies: Vec<Running>,
    /// Whether the work a restart cut short has been looked for since the actor started.
    pub(super) resumed: bool,
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

/// An answer under way: the id it streams under, and how to stop it.
pub(crate) struct Running {
    pub(super) conversation: ConversationId,
    pub(super) message: MessageId,
    pub(super) cancel: tokio_util::sync::CancellationToken,
}

/// A session waiting for its batch's commit, with the answer its caller gets then.
pub(crate) struct PendingSession {
    pub(super) session: ContactSession,
    pub(super) token_hash: String,
    pub(super) created: CreatedSession,
    pub(super) reply: Reply<CreatedSession>,
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
