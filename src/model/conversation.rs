//! Conversations and their messages, and the cursor pages operators and end-users read them in.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::agent::SourceRef;
use super::contact_session::ContactSession;
use super::text;
use crate::error::ApiError;
use crate::ids::{ContactSessionId, ConversationId, MessageId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Unresolved,
    Escalated,
    Resolved,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Voice,
    Chat,
}

/// Who answers a conversation: the AI agent, nobody yet (handed off, a person is needed), or a
/// person who has stepped in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Handler {
    Ai,
    Waiting,
    Human,
}

impl Handler {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ai => "ai",
            Self::Waiting => "waiting",
            Self::Human => "human",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    Operator,
    System,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub id: ConversationId,
    pub status: Status,
    pub handler: Handler,
    pub channel: Channel,
    pub contact_session_id: Option<ContactSessionId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Voice fields, filled from Vapi's server messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
}

impl Conversation {
    /// A new, unresolved conversation, before any call details.
    pub fn new(
        id: ConversationId,
        channel: Channel,
        handler: Handler,
        contact_session_id: Option<ContactSessionId>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            status: Status::Unresolved,
            handler,
            channel,
            contact_session_id,
            created_at: at,
            updated_at: at,
            call_id: None,
            summary: None,
            recording_url: None,
            ended_reason: None,
            duration_seconds: None,
            cost: None,
        }
    }
}

/// An operator's view of one conversation: with the end-user who started it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationDetail {
    #[serde(flatten)]
    pub conversation: Conversation,
    pub contact_session: Option<ContactSession>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub role: Role,
    pub text: String,
    pub created_at: DateTime<Utc>,
    /// The documents an `assistant` answer drew on; absent on other messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceRef>,
}

/// `POST …/messages`: an end-user's message or an operator's reply.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewMessage {
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"
    )]
    pub text: String,
}

impl NewMessage {
    pub fn validate(&self) -> Result<(), ApiError> {
        text::paragraph("text", &self.text, 1, 4000)
    }
}

/// `PATCH /v1/orgs/{org}/conversations/{id}`: a new status, a new handler (`ai` hands the
/// conversation back to the agent), or both; what is absent (or null) stays as it is.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConversationChange {
    pub status: Option<Status>,
    pub handler: Option<Handler>,
}

/// One page, newest first; `nextCursor` is absent on the last page.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// `?status=&cursor=&limit=`.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub status: Option<Status>,
    /// A `nextCursor` this API returned (base64url); any other is refused.
    #[param(min_length = 1, pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

pub const DEFAULT_PAGE: u32 = 20;
pub const MAX_PAGE: u32 = 100;

impl ListQuery {
    pub fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_PAGE),
            Some(n @ 1..=MAX_PAGE) => Ok(n),
            Some(_) => Err(ApiError::invalid("limit", format!("must be between 1 and {MAX_PAGE}"))),
        }
    }

    pub fn cursor(&self) -> Result<Option<Cursor>, ApiError> {
        self.cursor.as_deref().map(Cursor::decode).transpose()
    }
}

/// A position in a newest-first list: the creation time and id of the last item seen. Items
/// created after the first page was read sort before it, so later pages never repeat or skip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(raw: &str) -> Result<Self, ApiError> {
        let invalid = || ApiError::invalid("cursor", "not a cursor this API returned");
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        serde_json::from_slice(&bytes).map_err(|_| invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let cursor = Cursor { at: Utc::now(), id: "conv_1".into() };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        assert_eq!(Cursor::decode("%%%").unwrap_err().message, "cursor: not a cursor this API returned");
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(ListQuery::default().limit().unwrap(), DEFAULT_PAGE);
        assert!(ListQuery { limit: Some(0), ..Default::default() }.limit().is_err());
        assert!(ListQuery { limit: Some(101), ..Default::default() }.limit().is_err());
    }
}
