//! The org actor's conversation operations, for operators and for end-users (who only ever
//! see their own).

use super::state::OrgState;
use crate::auth::Operator;
use crate::bus::events::Audience;
use crate::db::conversations::Filter;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::ids::{ConversationId, MessageId};
use crate::model::agent::SourceRef;
use crate::model::contact_session::SessionToken;
use crate::model::conversation::{
    Channel, Conversation, ConversationChange, ConversationDetail, Handler, ListQuery, Message, NewMessage,
    Page, Role, Status,
};

/// A conversation's changes go to its end-user's stream too.
pub(super) fn audience(conversation: &Conversation) -> Audience {
    conversation.contact_session_id.clone().map_or(Audience::Operators, Audience::Contact)
}

impl OrgState {
    pub(super) async fn load(&self, id: &ConversationId) -> Result<Conversation, ApiError> {
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

    /// Appends a message (with `awaiting`, also whether the agent owes an answer now) and
    /// tells the conversation's audience.
    pub(super) async fn append_message(
        &self,
        conversation: &Conversation,
        role: Role,
        text: String,
        sources: Vec<SourceRef>,
        id: Option<MessageId>,
        awaiting: Option<bool>,
    ) -> Result<Message, ApiError> {
        let message = Message {
            id: id.unwrap_or_else(MessageId::generate),
            conversation_id: conversation.id.clone(),
            role,
            text,
            created_at: self.clock.now(),
            sources,
        };
        self.commit_message(conversation, &message, awaiting).await?;
        Ok(message)
    }

    pub(super) async fn commit_message(
        &self,
        conversation: &Conversation,
        message: &Message,
        awaiting: Option<bool>,
    ) -> Result<(), ApiError> {
        self.repos.messages().append(&self.org, message, awaiting).await?;
        self.emit("message", "created", audience(conversation), message).await;
        Ok(())
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

    /// An operator changes the status, the handler, or both. Handing back to the agent needs
    /// it on; taking the conversation from it stops any answer under way.
    pub(crate) async fn change(
        &mut self,
        operator: &Operator,
        id: &ConversationId,
        change: ConversationChange,
    ) -> Result<Conversation, ApiError> {
        self.first_sight(operator).await?;
        let mut conversation = self.load(id).await?;
        if change.handler == Some(Handler::Ai) && !self.agent_settings().await?.enabled {
            return Err(ApiError::new(ErrorCode::Conflict, "handler: the agent is off; turn it on first"));
        }
        conversation.status = change.status.unwrap_or(conversation.status);
        conversation.handler = change.handler.unwrap_or(conversation.handler);
        if conversation.handler != Handler::Ai || conversation.status == Status::Resolved {
            self.stop_reply(id);
        }
        self.change_conversation(&mut conversation, false).await?;
        Ok(conversation)
    }

    /// An operator stepping in is an escalation: an unresolved conversation becomes escalated,
    /// and a person handles it from now on (the agent is silent there).
    pub(crate) async fn operator_reply(
        &mut self,
        operator: &Operator,
        id: &ConversationId,
        message: NewMessage,
    ) -> Result<Message, ApiError> {
        self.first_sight(operator).await?;
        let mut conversation = self.load(id).await?;
        self.stop_reply(id);
        let sent = self
            .append_message(&conversation, Role::Operator, message.text, Vec::new(), None, Some(false))
            .await?;
        if conversation.status == Status::Unresolved || conversation.handler != Handler::Human {
            if conversation.status == Status::Unresolved {
                conversation.status = Status::Escalated;
            }
            conversation.handler = Handler::Human;
            self.change_conversation(&mut conversation, false).await?;
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
        let (handler, note) = self.new_chat_handler().await?;
        let conversation = Conversation::new(
            ConversationId::generate(),
            Channel::Chat,
            handler,
            Some(session.id),
            self.clock.now(),
        );
        let conversation = self.open(conversation).await?;
        if let Some(note) = note {
            self.append_message(&conversation, Role::System, note.into(), Vec::new(), None, None).await?;
        }
        Ok(conversation)
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
        let mut conversation = self.load_own(token, id).await?;
        if conversation.status == Status::Resolved {
            return Err(ApiError::new(
                crate::error::ErrorCode::Conflict,
                format!("conversation {id} is resolved; start a new conversation"),
            ));
        }
        if conversation.handler != Handler::Ai || conversation.channel != Channel::Chat {
            return self
                .append_message(&conversation, Role::User, message.text, Vec::new(), None, None)
                .await;
        }
        if !self.agent_can_answer().await? {
            let sent =
                self.append_message(&conversation, Role::User, message.text, Vec::new(), None, None).await?;
            self.hand_off(&mut conversation).await?;
            return Ok(sent);
        }
        let sent = self
            .append_message(&conversation, Role::User, message.text, Vec::new(), None, Some(true))
            .await?;
        self.answer(&conversation).await?;
        Ok(sent)
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
