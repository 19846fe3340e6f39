use crate::actors::Tenants;
use crate::auth::Operator;
use crate::crypto::Secret;
use crate::error::ApiError;
use crate::ids::{ContactSessionId, ConversationId, OrgId};
use crate::model::contact_session::{
    ContactSession, CreatedSession, CurrentSession, NewContactSession, SessionToken,
};
use crate::model::conversation::{
    Conversation, ConversationDetail, ListQuery, Message, NewMessage, Page, Status,
};
use crate::model::organization::OrganizationView;
use crate::model::plugin::{ConnectedPlugin, PluginView};
use crate::model::widget_settings::{PublicSettings, WidgetSettings};

use super::OrgMsg;

/// One organization's operations. Every call is routed to the org's actor (activating it when
/// needed) and bounded by the tenants' call timeout. Inputs arrive validated.
pub struct Org<'a> {
    pub(crate) tenants: &'a Tenants,
    pub(crate) id: &'a OrgId,
}

/// What a caller who proves nothing about the org hears when nobody made it known.
enum Refusal {
    NotFound,
    /// No session token of an unknown org can be valid.
    Session,
    /// Nor can a stream ticket.
    Ticket,
}

impl Org<'_> {
    /// Refuses callers of an org nobody made known before any actor starts for it: looking up
    /// a made-up org must write nothing.
    async fn gate(&self, refusal: Refusal) -> Result<(), ApiError> {
        if self.tenants.is_known(self.id).await? {
            return Ok(());
        }
        Err(match refusal {
            Refusal::NotFound => {
                ApiError::not_found(format!("organization {} is not known to assist", self.id))
            }
            Refusal::Session => ApiError::unauthenticated(crate::model::contact_session::SESSION_REFUSED),
            Refusal::Ticket => ApiError::unauthenticated(super::tickets::TICKET_REFUSED),
        })
    }

    pub async fn settings(&self, op: &Operator) -> Result<WidgetSettings, ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::GetSettings(op.clone(), r)).await
    }

    pub async fn put_settings(
        &self,
        op: &Operator,
        settings: WidgetSettings,
    ) -> Result<WidgetSettings, ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::PutSettings(op.clone(), settings.clone(), r)).await
    }

    pub async fn organization(&self, op: &Operator) -> Result<OrganizationView, ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::GetOrganization(op.clone(), r)).await
    }

    pub async fn conversations(
        &self,
        op: &Operator,
        query: ListQuery,
    ) -> Result<Page<Conversation>, ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::ListConversations(op.clone(), query.clone(), r)).await
    }

    pub async fn conversation(
        &self,
        op: &Operator,
        id: ConversationId,
    ) -> Result<ConversationDetail, ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::GetConversation(op.clone(), id.clone(), r)).await
    }

    pub async fn set_status(
        &self,
        op: &Operator,
        id: ConversationId,
        status: Status,
    ) -> Result<Conversation, ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::SetStatus(op.clone(), id.clone(), status, r)).await
    }

    pub async fn reply(
        &self,
        op: &Operator,
        id: ConversationId,
        message: NewMessage,
    ) -> Result<Message, ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::OperatorReply(op.clone(), id.clone(), message.clone(), r)).await
    }

    pub async fn messages(&self, op: &Operator, id: ConversationId) -> Result<Page<Message>, ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::ListMessages(op.clone(), id.clone(), r)).await
    }

    pub async fn contact_session(
        &self,
        op: &Operator,
        id: ContactSessionId,
    ) -> Result<ContactSession, ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::GetContactSession(op.clone(), id.clone(), r)).await
    }

    pub async fn plugin(&self, op: &Operator) -> Result<PluginView, ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::GetPlugin(op.clone(), r)).await
    }

    pub async fn may_connect(&self, op: &Operator) -> Result<(), ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::MayConnect(op.clone(), r)).await
    }

    pub async fn connect(
        &self,
        op: &Operator,
        public: String,
        private: Secret,
    ) -> Result<ConnectedPlugin, ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::Connect(op.clone(), public.clone(), private.clone(), r)).await
    }

    pub async fn disconnect(&self, op: &Operator) -> Result<PluginView, ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::Disconnect(op.clone(), r)).await
    }

    pub async fn require_vapi(&self, op: &Operator) -> Result<(), ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::RequireVapi(op.clone(), r)).await
    }

    pub async fn create_ticket(&self, op: &Operator) -> Result<super::Ticket, ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::CreateTicket(op.clone(), r)).await
    }

    pub async fn redeem_ticket(&self, ticket: String) -> Result<(), ApiError> {
        self.gate(Refusal::Ticket).await?;
        self.tenants.ask(self.id, |r| OrgMsg::RedeemTicket(ticket.clone(), r)).await
    }

    /// Applies a Clerk change; used by system ingest.
    pub async fn apply(&self, change: super::OrgChange) -> Result<(), ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::Apply(change.clone(), r)).await
    }

    /// Makes the organization known with these widget settings, with no operator or webhook
    /// behind it: how `assist serve --demo` seeds its organization. Settings arrive validated.
    pub async fn seed(&self, settings: WidgetSettings) -> Result<(), ApiError> {
        self.tenants.ask(self.id, |r| OrgMsg::Seed(settings.clone(), r)).await
    }

    pub async fn widget_settings(&self) -> Result<PublicSettings, ApiError> {
        self.gate(Refusal::NotFound).await?;
        self.tenants.ask(self.id, OrgMsg::WidgetSettings).await
    }

    pub async fn create_session(&self, new: NewContactSession) -> Result<CreatedSession, ApiError> {
        self.gate(Refusal::NotFound).await?;
        self.tenants.ask(self.id, |r| OrgMsg::CreateSession(new.clone(), r)).await
    }

    pub async fn current_session(&self, token: SessionToken) -> Result<CurrentSession, ApiError> {
        self.gate(Refusal::Session).await?;
        self.tenants.ask(self.id, |r| OrgMsg::CurrentSession(token.clone(), r)).await
    }

    pub async fn start_conversation(&self, token: SessionToken) -> Result<Conversation, ApiError> {
        self.gate(Refusal::Session).await?;
        self.tenants.ask(self.id, |r| OrgMsg::StartConversation(token.clone(), r)).await
    }

    pub async fn my_conversations(
        &self,
        token: SessionToken,
        query: ListQuery,
    ) -> Result<Page<Conversation>, ApiError> {
        self.gate(Refusal::Session).await?;
        self.tenants.ask(self.id, |r| OrgMsg::MyConversations(token.clone(), query.clone(), r)).await
    }

    pub async fn my_conversation(
        &self,
        token: SessionToken,
        id: ConversationId,
    ) -> Result<Conversation, ApiError> {
        self.gate(Refusal::Session).await?;
        self.tenants.ask(self.id, |r| OrgMsg::MyConversation(token.clone(), id.clone(), r)).await
    }

    pub async fn send_message(
        &self,
        token: SessionToken,
        id: ConversationId,
        message: NewMessage,
    ) -> Result<Message, ApiError> {
        self.gate(Refusal::Session).await?;
        self.tenants
            .ask(self.id, |r| OrgMsg::SendMessage(token.clone(), id.clone(), message.clone(), r))
            .await
    }

    pub async fn my_messages(
        &self,
        token: SessionToken,
        id: ConversationId,
    ) -> Result<Page<Message>, ApiError> {
        self.gate(Refusal::Session).await?;
        self.tenants.ask(self.id, |r| OrgMsg::MyMessages(token.clone(), id.clone(), r)).await
    }
}
