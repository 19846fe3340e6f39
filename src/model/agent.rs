//! The AI agent as callers see it: its settings, its usage against the budget, a drafted
//! reply, and the pieces of an answer streamed as it is generated.

use serde::{Deserialize, Serialize};

use super::text;
use crate::error::ApiError;
use crate::ids::{ConversationId, DocumentId, MessageId};

pub const MAX_INSTRUCTIONS: usize = 4000;
pub const MAX_HANDOFF: usize = 500;
const DEFAULT_HANDOFF: &str = "Thanks for your patience: a person from our team will reply here shortly.";

/// `GET`/`PUT /v1/orgs/{org}/agent`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentSettings {
    /// Whether the agent answers new chats.
    pub enabled: bool,
    /// Tone, what it may promise, when to hand off; given to the model before every answer.
    #[schema(max_length = 4000, pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$")]
    pub instructions: String,
    /// What the end-user is told when the conversation goes to a person.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"
    )]
    pub handoff_message: String,
}

impl Default for AgentSettings {
    fn default() -> Self {
        Self { enabled: false, instructions: String::new(), handoff_message: DEFAULT_HANDOFF.into() }
    }
}

impl AgentSettings {
    pub fn validate(&self) -> Result<(), ApiError> {
        text::paragraph("instructions", &self.instructions, 0, MAX_INSTRUCTIONS)?;
        text::paragraph("handoffMessage", &self.handoff_message, 1, MAX_HANDOFF)
    }
}

/// `GET /v1/orgs/{org}/agent/usage`: this month's tokens, in and out, against the budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentUsage {
    /// `YYYY-MM`, UTC.
    pub month: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Past this many tokens (in and out together) new chats go to a person.
    pub budget_tokens: u64,
}

/// `PUT /v1/orgs/{org}/plugins/ai`: the org's own key for the AI provider, used instead of the
/// deployment's for every call made for the org.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AiKey {
    #[schema(min_length = 8, max_length = 512, pattern = "^[!-~]+$")]
    pub api_key: String,
}

impl AiKey {
    pub fn validate(&self) -> Result<(), ApiError> {
        let length = self.api_key.len();
        if !(8..=512).contains(&length) {
            return Err(ApiError::invalid("apiKey", "must be 8 to 512 characters"));
        }
        if !self.api_key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::invalid("apiKey", "must be printable ASCII without spaces"));
        }
        Ok(())
    }
}

/// Whether the org brings its own AI key (never the key itself).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AiKeyView {
    pub connected: bool,
    /// The key's last four characters.
    pub key_hint: Option<String>,
    pub connected_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A document an answer drew on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceRef {
    pub document_id: DocumentId,
    pub title: String,
}

/// `POST …/conversations/{id}/suggestion`: a reply an operator may send or edit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Suggestion {
    pub text: String,
    pub sources: Vec<SourceRef>,
}

/// The `message.delta` event: the next piece of an answer being generated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageDelta {
    pub conversation_id: ConversationId,
    /// The id the finished answer will have in `message.created`.
    pub message_id: MessageId,
    /// From 0, one per piece.
    pub seq: u32,
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_bounded() {
        assert!(AgentSettings::default().validate().is_ok());
        let long = AgentSettings { instructions: "x".repeat(MAX_INSTRUCTIONS + 1), ..Default::default() };
        assert!(long.validate().unwrap_err().message.starts_with("instructions:"));
        let empty = AgentSettings { handoff_message: " ".into(), ..Default::default() };
        assert!(empty.validate().unwrap_err().message.starts_with("handoffMessage:"));
    }
}
