//! The AI agent's replies, off the org actor's mailbox: each on a task of its own that
//! retrieves the org's passages, streams the model's answer to the conversation's audience
//! (`message.delta`) and tells the org's owner the outcome over NATS
//! (`assist.v1.owner.<org>.answered`). The org actor alone commits the answer, the handoff or
//! the handler change (`org/agent.rs`).

pub(crate) mod prompt;
mod reply;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::bus::ai::Usage;
use crate::bus::events::{Audience, EventPublisher};
use crate::db::chunks::Chunks;
use crate::ids::{ConversationId, MessageId, OrgId};
use crate::model::agent::SourceRef;
use crate::model::conversation::Message;

/// The agent's limits, the same for every org of a deployment.
#[derive(Clone, Copy, Debug)]
pub struct AgentConfig {
    /// Tokens (in and out together) an org's AI calls may use per month; past it, new chats
    /// go to a person.
    pub budget_tokens: u64,
    /// Passages given to the model with each answer.
    pub passages: usize,
    /// The longest the provider may stay silent mid-answer before the conversation is handed off.
    pub stall: Duration,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self { budget_tokens: 2_000_000, passages: 5, stall: Duration::from_secs(20) }
    }
}

/// What the agent did with the turn it was asked to answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum Answer {
    /// Text (possibly empty when the model only called a tool), the documents it drew on, and
    /// the tool it called, if any.
    Answered { text: String, sources: Vec<SourceRef>, action: Option<Action> },
    /// The provider failed (down, timing out, answering garbage): a person takes over.
    Failed { reason: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    Handoff,
    Resolve,
}

/// The report a reply task sends to the org's owner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerReport {
    pub conversation_id: ConversationId,
    /// The id the answer was streamed under; it keeps it when committed.
    pub message_id: MessageId,
    pub answer: Answer,
    pub usage: Usage,
}

/// The node's agent: shared by every org actor of the node.
#[derive(Clone)]
pub(crate) struct Agent(Arc<Inner>);

struct Inner {
    nats: async_nats::Client,
    events: EventPublisher,
    config: AgentConfig,
    /// The longest one embedding call may take.
    deadline: Duration,
    /// The answer under way on this node for each conversation, until its report is delivered:
    /// an org woken by the report must not start the same answer again.
    running: Mutex<HashMap<ConversationId, MessageId>>,
}

/// One reply to produce.
pub(crate) struct Turn {
    pub org: OrgId,
    pub conversation: ConversationId,
    pub audience: Audience,
    pub instructions: String,
    pub transcript: Vec<Message>,
    pub chunks: Chunks,
}

impl Inner {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<ConversationId, MessageId>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Agent {
    pub(crate) fn new(
        nats: async_nats::Client,
        events: EventPublisher,
        config: AgentConfig,
        deadline: Duration,
    ) -> Self {
        Self(Arc::new(Inner { nats, events, config, deadline, running: Mutex::default() }))
    }

    pub(crate) fn config(&self) -> AgentConfig {
        self.0.config
    }

    /// Starts answering `turn`: the id the answer streams under, and the token that stops it
    /// (a newer message arrived, or a person stepped in) without a report.
    pub(crate) fn start(&self, turn: Turn) -> (MessageId, CancellationToken) {
        let (message_id, cancel) = (MessageId::generate(), CancellationToken::new());
        self.0.running().insert(turn.conversation.clone(), message_id.clone());
        let inner = self.0.clone();
        let (id, stop) = (message_id.clone(), cancel.clone());
        tokio::spawn(async move {
            let (org, conversation) = (turn.org.clone(), turn.conversation.clone());
            let answered = tokio::select! {
                answered = reply::run(&inner.nats, &inner.events, inner.config, inner.deadline, &turn, &id) => Some(answered),
                () = stop.cancelled() => None,
            };
            if let Some((answer, usage)) = answered {
                let report = AnswerReport {
                    conversation_id: conversation.clone(),
                    message_id: id.clone(),
                    answer,
                    usage,
                };
                reply::tell_owner(&inner.nats, &org, &report, inner.deadline).await;
            }
            let mut running = inner.running();
            if running.get(&conversation) == Some(&id) {
                running.remove(&conversation);
            }
        });
        (message_id, cancel)
    }

    /// Whether this node is writing an answer for the conversation.
    pub(crate) fn is_answering(&self, conversation: &ConversationId) -> bool {
        self.0.running().contains_key(conversation)
    }

    /// A reply an operator may send, grounded in the org's passages; on the caller's task.
    pub(crate) async fn draft(
        &self,
        org: &OrgId,
        chunks: &Chunks,
        transcript: &[Message],
    ) -> Result<(crate::model::agent::Suggestion, Usage), crate::error::ApiError> {
        reply::draft(&self.0.nats, self.0.config, self.0.deadline, org, chunks, transcript).await
    }
}
