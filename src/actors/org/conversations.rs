//! The org actor's conversation operations, for operators and for end-users (who only ever
//! see their own).

use super::state::OrgState;
use crate::auth::Operator;
use crate::bus::events::Audience;
use crate::db::conversations::Filter;
use crate::error::ApiError;
use crate::ids::{ConversationId, MessageId};
use crate::model::contact_session::SessionToken;
use crate::model::conversation::{
    Channel, Conversation, ConversationDetail, ListQuery, Message, NewMessage, Page, Role, Status,
};

/// A conversation's changes go to its end-user's stream too.
pub(super) fn audience(conversation: &Conversation) -> Audience {
    conversation.contact_session_id.clone().map_or(Audience::Operators, Audience::Contact)
}

impl OrgState {
    async fn load(&self, id: &ConversationId) -> Result<Conversation, ApiError> {
        let found = self.repos.conversations().get(&self.org, id).await?;
        found.ok_or_else(|| ApiError::not_found(format!("conversation {id} not found")))
    }

    /// The end-user's own conversation; someone else's reads exactly like a missing one.
    async fn load_own(
        &mut self,
        token: &SessionToken,
        id: &ConversationId,
    ) -> Result<Conversation, ApiError> {
        let session = self.authenticate(token).await?;
        let conversation = self.load(id).await?;
        if conversation.contact_session_id.as_ref() != Some(&session.id) {
            return Err(ApiError::not_found(format!("conversation {id} not found")));
        }
        Ok(conversation)
    }

    async fn append(
        &self,
        conversation: &Conversation,
        role: Role,
        text: String,
    ) -> Result<Message, ApiError> {
        let message = Message {
            id: MessageId::generate(),
            conversation_id: conversation.id.clone(),
            role,
            text,
            created_at: self.clock.now(),
        };
        self.repos.messages().append(&self.org, &message).await?;
        self.emit("message", "created", audience(conversation), &message).await;
        Ok(message)
    }

    async fn transcript(&self, conversation: &Conversation) -> Result<Page<Message>, ApiError> {
        let items = self.repos.messages().list(&self.org, &conversation.id).await?;
        Ok(Page { items, next_cursor: None })
    }

    pub(crate) async fn list_conversations(
        &mut self,
        operator: &Operator,
        query: &ListQuery,
    ) -> Result<Page<Conversation>, ApiError> {
        self.first_sight(operator).await?;
        let filter = Filter { status: query.status, contact_session: None };
        Ok(self
            .repos
            .conversations()
            .list(&self.org, &filter, query.cursor()?.as_ref(), query.limit()?)
            .await?)
    }

    pub(crate) async fn conversation_detail(
        &mut self,
        operator: &Operator,
        id: &ConversationId,
    ) -> Result<ConversationDetail, ApiError> {
        self.first_sight(operator).await?;
        let conversation = self.load(id).await?;
        let contact_session = match &conversation.contact_session_id {
            Some(session) => self.repos.contact_sessions().get(&self.org, session).await?.map(|s| s.session),
            None => None,
        };
        Ok(ConversationDetail { conversation, contact_session })
    }

    pub(crate) async fn set_status(
        &mut self,
        operator: &Operator,
        id: &ConversationId,
        status: Status,
    ) -> Result<Conversation, ApiError> {
        self.first_sight(operator).await?;
        let mut conversation = self.load(id).await?;
        conversation.status = status;
        conversation.updated_at = self.clock.now();
        self.repos.conversations().set_status(&self.org, id, status, conversation.updated_at).await?;
        self.emit("conversation", "updated", audience(&conversation), &conversation).await;
        Ok(conversation)
    }

    /// An operator stepping in is an escalation: an unresolved conversation becomes escalated.
    pub(crate) async fn operator_reply(
        &mut self,
        operator: &Operator,
        id: &ConversationId,
        message: NewMessage,
    ) -> Result<Message, ApiError> {
        self.first_sight(operator).await?;
        let mut conversation = self.load(id).await?;
        let sent = self.append(&conversation, Role::Operator, message.text).await?;
        if conversation.status == Status::Unresolved {
            self.repos.conversations().set_status(&self.org, id, Status::Escalated, sent.created_at).await?;
            conversation.status = Status::Escalated;
            conversation.updated_at = sent.created_at;
            self.emit("conversation", "updated", audience(&conversation), &conversation).await;
        }
        Ok(sent)
    }

    pub(crate) async fn operator_messages(
        &mut self,
        operator: &Operator,
        id: &ConversationId,
    ) -> Result<Page<Message>, ApiError> {
        self.first_sight(operator).await?;
        let conversation = self.load(id).await?;
        self.transcript(&conversation).await
    }

    pub(crate) async fn start_conversation(
        &mut self,
        token: &SessionToken,
    ) -> Result<Conversation, ApiError> {
        let session = self.authenticate(token).await?;
        let conversation =
            Conversation::new(ConversationId::generate(), Channel::Chat, Some(session.id), self.clock.now());
        self.open(conversation).await
    }

    /// Stores a new conversation and tells its audience.
    pub(super) async fn open(&self, conversation: Conversation) -> Result<Conversation, ApiError> {
        self.repos.conversations().create(&self.org, &conversation).await?;
        self.emit("conversation", "created", audience(&conversation), &conversation).await;
        Ok(conversation)
    }

    pub(crate) async fn my_conversations(
        &mut self,
        token: &SessionToken,
        query: &ListQuery,
    ) -> Result<Page<Conversation>, ApiError> {
        let session = self.authenticate(token).await?;
        let filter = Filter { status: query.status, contact_session: Some(session.id) };
        Ok(self
            .repos
            .conversations()
            .list(&self.org, &filter, query.cursor()?.as_ref(), query.limit()?)
            .await?)
    }

    pub(crate) async fn my_conversation(
        &mut self,
        token: &SessionToken,
        id: &ConversationId,
    ) -> Result<Conversation, ApiError> {
        self.load_own(token, id).await
    }

    /// A resolved conversation is closed: the end-user starts a new one instead.
    pub(crate) async fn send_message(
        &mut self,
        token: &SessionToken,
        id: &ConversationId,
        message: NewMessage,
    ) -> Result<Message, ApiError> {
        let conversation = self.load_own(token, id).await?;
        if conversation.status == Status::Resolved {
            return Err(ApiError::new(
                crate::error::ErrorCode::Conflict,
                format!("conversation {id} is resolved; start a new conversation"),
            ));
        }
        self.append(&conversation, Role::User, message.text).await
    }

    pub(crate) async fn my_messages(
        &mut self,
        token: &SessionToken,
        id: &ConversationId,
    ) -> Result<Page<Message>, ApiError> {
        let conversation = self.load_own(token, id).await?;
        self.transcript(&conversation).await
    }
}
