//! The org actor's side of the AI agent: its settings, who handles a new chat, starting and
//! stopping replies (which run elsewhere, `actors/agent`), and committing what they report.

use super::conversations::audience;
use super::plugin::ai_key_context;
use super::state::{OrgState, Running};
use crate::actors::agent::{Action, Agent, Answer, AnswerReport, Turn};
use crate::auth::Operator;
use crate::bus::ai::Usage;
use crate::bus::events::Audience;
use crate::db::agents::StoredAiKey;
use crate::db::chunks::Chunks;
use crate::error::{ApiError, ErrorCode};
use crate::ids::ConversationId;
use crate::model::agent::{AgentSettings, AgentUsage, AiKey, AiKeyView};
use crate::model::conversation::{Channel, Conversation, Handler, Message, Role, Status};

impl OrgState {
    /// The agent's settings, read once per activation.
    pub(super) async fn agent_settings(&mut self) -> Result<&AgentSettings, ApiError> {
        if self.agent_settings.is_none() {
            let stored = self.repos.agents().get(&self.org).await?.unwrap_or_default();
            self.agent_settings = Some(Box::new(stored));
        }
        Ok(self.agent_settings.as_deref().expect("just loaded"))
    }

    pub(crate) async fn get_agent(&mut self, operator: &Operator) -> Result<AgentSettings, ApiError> {
        self.first_sight(operator).await?;
        Ok(self.agent_settings().await?.clone())
    }

    /// Turning the agent on is an admin's decision and a paid feature, like voice.
    pub(crate) async fn put_agent(
        &mut self,
        operator: &Operator,
        settings: AgentSettings,
    ) -> Result<AgentSettings, ApiError> {
        self.first_sight(operator).await?;
        if !operator.is_admin() {
            return Err(ApiError::forbidden("only an organization admin may change the agent"));
        }
        if !self.subscription_active {
            return Err(ApiError::new(
                ErrorCode::PaymentRequired,
                "the AI agent needs an active subscription",
            ));
        }
        self.repos.agents().put(&self.org, &settings).await?;
        tracing::info!(org = %self.org, user = %operator.user_id, enabled = settings.enabled, "agent settings replaced");
        self.agent_settings = Some(Box::new(settings.clone()));
        self.emit("agent", "updated", Audience::Operators, &settings).await;
        Ok(settings)
    }

    pub(crate) async fn agent_usage(&mut self, operator: &Operator) -> Result<AgentUsage, ApiError> {
        self.first_sight(operator).await?;
        if !operator.is_admin() {
            return Err(ApiError::forbidden("only an organization admin may see the AI usage"));
        }
        let month = self.month();
        let (input_tokens, output_tokens) = self.repos.agents().usage(&self.org, &month).await?;
        Ok(AgentUsage {
            month,
            input_tokens,
            output_tokens,
            budget_tokens: self.agent.config().budget_tokens,
        })
    }

    /// Adds a provider call's tokens to the org's count for this month.
    pub(crate) async fn add_usage(&self, usage: Usage) -> Result<(), ApiError> {
        if usage == Usage::default() {
            return Ok(());
        }
        let month = self.month();
        Ok(self.repos.agents().add_usage(&self.org, &month, usage.input_tokens, usage.output_tokens).await?)
    }

    /// Who answers a new chat, and the note to leave when the budget turned the agent away.
    pub(super) async fn new_chat_handler(&mut self) -> Result<(Handler, Option<&'static str>), ApiError> {
        if !self.agent_settings().await?.enabled || !self.subscription_active {
            return Ok((Handler::Waiting, None));
        }
        let (input, output) = self.repos.agents().usage(&self.org, &self.month()).await?;
        if input.saturating_add(output) >= self.agent.config().budget_tokens {
            return Ok((Handler::Waiting, Some("This month's AI budget is used up: a person will answer.")));
        }
        Ok((Handler::Ai, None))
    }

    /// Whether the agent answers chats now: on, and the subscription active. A chat it handles
    /// while it cannot answer goes to a person rather than waiting for nobody.
    pub(super) async fn agent_can_answer(&mut self) -> Result<bool, ApiError> {
        Ok(self.agent_settings().await?.enabled && self.subscription_active)
    }

    /// Posts the handoff message; the conversation waits for a person.
    pub(super) async fn hand_off(&mut self, conversation: &mut Conversation) -> Result<(), ApiError> {
        let handoff_message = self.agent_settings().await?.handoff_message.clone();
        self.append_message(conversation, Role::Assistant, handoff_message, Vec::new(), None, Some(false))
            .await?;
        conversation.handler = Handler::Waiting;
        if conversation.status == Status::Unresolved {
            conversation.status = Status::Escalated;
        }
        self.change_conversation(conversation, false).await
    }

    /// Starts an answer to everything the end-user has written, stopping one already under
    /// way: two quick messages get one answer that takes both into account.
    pub(super) async fn answer(&mut self, conversation: &Conversation) -> Result<(), ApiError> {
        self.stop_reply(&conversation.id);
        let transcript = self.repos.messages().list(&self.org, &conversation.id).await?;
        let instructions = self.agent_settings().await?.instructions.clone();
        let turn = Turn {
            org: self.org.clone(),
            conversation: conversation.id.clone(),
            audience: audience(conversation),
            instructions,
            transcript,
            chunks: self.repos.chunks(),
        };
        let (message, cancel) = self.agent.start(turn);
        self.replies.push(Running { conversation: conversation.id.clone(), message, cancel });
        Ok(())
    }

    /// Stops the reply under way for the conversation, if any; it reports nothing.
    pub(super) fn stop_reply(&mut self, conversation: &ConversationId) {
        self.replies.retain(|running| {
            let same = &running.conversation == conversation;
            if same {
                running.cancel.cancel();
            }
            !same
        });
    }

    /// Commits what a reply reports, unless the conversation moved on: a newer answer is under
    /// way, or a person or a status change took it from the agent.
    pub(crate) async fn answered(&mut self, report: AnswerReport) -> Result<(), ApiError> {
        self.add_usage(report.usage).await?;
        let running = self.replies.iter().position(|r| r.conversation == report.conversation_id);
        match running {
            Some(at) if self.replies[at].message != report.message_id => return Ok(()),
            Some(at) => drop(self.replies.swap_remove(at)),
            None => {}
        }
        let Some(mut conversation) =
            self.repos.conversations().get(&self.org, &report.conversation_id).await?
        else {
            return Ok(());
        };
        if conversation.handler != Handler::Ai || conversation.status == Status::Resolved {
            return Ok(());
        }
        let now = self.clock.now();
        let (text, sources, action) = match report.answer {
            Answer::Answered { text, sources, action } => (text, sources, action),
            Answer::Failed { reason } => {
                tracing::warn!(org = %self.org, conversation = %conversation.id, %reason, "the agent could not answer");
                let note = format!(
                    "The assistant could not answer ({reason}); the conversation waits for a person."
                );
                self.append_message(&conversation, Role::System, note, Vec::new(), None, Some(false)).await?;
                (String::new(), Vec::new(), Some(Action::Handoff))
            }
        };
        if !text.is_empty() {
            let message = Message {
                id: report.message_id,
                conversation_id: conversation.id.clone(),
                role: Role::Assistant,
                text,
                created_at: now,
                sources,
            };
            self.commit_message(&conversation, &message, Some(false)).await?;
        }
        match action {
            None => self.settle_owed(&mut conversation).await?,
            Some(Action::Resolve) => {
                conversation.status = Status::Resolved;
                self.change_conversation(&mut conversation, false).await?;
            }
            Some(Action::Handoff) => self.hand_off(&mut conversation).await?,
        }
        Ok(())
    }

    /// An answer with no tool call: the conversation is owed nothing more, and says so.
    async fn settle_owed(&mut self, conversation: &mut Conversation) -> Result<(), ApiError> {
        conversation.updated_at = self.clock.now();
        self.repos.conversations().set_state(&self.org, conversation, false).await?;
        Ok(())
    }

    /// Writes a conversation's status and handler and tells its audience.
    pub(super) async fn change_conversation(
        &mut self,
        conversation: &mut Conversation,
        awaiting: bool,
    ) -> Result<(), ApiError> {
        conversation.updated_at = self.clock.now();
        self.repos.conversations().set_state(&self.org, conversation, awaiting).await?;
        self.emit("conversation", "updated", audience(conversation), conversation).await;
        Ok(())
    }

    /// After a restart: conversations the agent still owes an answer get one (or a handoff).
    pub(super) async fn resume_answers(&mut self) -> Result<(), ApiError> {
        for mut conversation in self.repos.conversations().awaiting_agent(&self.org).await? {
            if conversation.handler != Handler::Ai
                || conversation.channel != Channel::Chat
                || self.agent.is_answering(&conversation.id)
            {
                continue;
            }
            tracing::info!(org = %self.org, conversation = %conversation.id, "answering after a restart");
            match self.agent_can_answer().await? {
                true => self.answer(&conversation).await?,
                false => self.hand_off(&mut conversation).await?,
            }
        }
        Ok(())
    }

    /// What a drafted reply is made from: the transcript and where to search.
    pub(crate) async fn draft_inputs(
        &mut self,
        operator: &Operator,
        id: &ConversationId,
    ) -> Result<(Vec<Message>, Chunks, Agent), ApiError> {
        self.first_sight(operator).await?;
        let conversation = self.load(id).await?;
        let transcript = self.repos.messages().list(&self.org, &conversation.id).await?;
        Ok((transcript, self.repos.chunks(), self.agent.clone()))
    }

    /// Where Vapi's assistant searches mid-call; only an org assist knows has knowledge.
    pub(crate) fn voice_knowledge(&self) -> Result<Chunks, ApiError> {
        self.require_known()?;
        Ok(self.repos.chunks())
    }

    pub(crate) async fn ai_key(&mut self, operator: &Operator) -> Result<AiKeyView, ApiError> {
        self.first_sight(operator).await?;
        let stored = self.repos.agents().ai_key(&self.org).await?;
        Ok(ai_key_view(stored))
    }

    /// An admin's decision: the org's AI calls go out with this key from now on.
    pub(crate) async fn put_ai_key(
        &mut self,
        operator: &Operator,
        key: AiKey,
    ) -> Result<AiKeyView, ApiError> {
        self.may_change_ai_key(operator).await?;
        let hint: String = key.api_key.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        let stored = StoredAiKey {
            key_sealed: self.master_key.seal(key.api_key.as_bytes(), &ai_key_context(&self.org)),
            hint,
            connected_at: self.clock.now(),
        };
        self.repos.agents().put_ai_key(&self.org, &stored).await?;
        tracing::info!(org = %self.org, user = %operator.user_id, "own AI key set");
        let view = ai_key_view(Some(stored));
        self.emit("ai-key", "updated", Audience::Operators, &view).await;
        Ok(view)
    }

    pub(crate) async fn delete_ai_key(&mut self, operator: &Operator) -> Result<AiKeyView, ApiError> {
        self.may_change_ai_key(operator).await?;
        self.repos.agents().delete_ai_key(&self.org).await?;
        tracing::info!(org = %self.org, user = %operator.user_id, "own AI key removed");
        let view = ai_key_view(None);
        self.emit("ai-key", "updated", Audience::Operators, &view).await;
        Ok(view)
    }

    /// Whether the org brings its own AI key: then it needs no deployment key.
    pub(crate) async fn has_ai_key(&self) -> Result<bool, ApiError> {
        Ok(self.repos.agents().ai_key(&self.org).await?.is_some())
    }

    async fn may_change_ai_key(&mut self, operator: &Operator) -> Result<(), ApiError> {
        self.first_sight(operator).await?;
        if !operator.is_admin() {
            return Err(ApiError::forbidden("only an organization admin may change the AI key"));
        }
        Ok(())
    }

    fn month(&self) -> String {
        self.clock.now().format("%Y-%m").to_string()
    }
}

fn ai_key_view(stored: Option<StoredAiKey>) -> AiKeyView {
    match stored {
        Some(key) => {
            AiKeyView { connected: true, key_hint: Some(key.hint), connected_at: Some(key.connected_at) }
        }
        None => AiKeyView { connected: false, key_hint: None, connected_at: None },
    }
}
