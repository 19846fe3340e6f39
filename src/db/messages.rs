//! The `messages` table: every message of every conversation, keyed by message id.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use surrealdb::types::RecordId;

use super::{Db, DbError, shape};
use crate::ids::{ConversationId, MessageId, OrgId};
use crate::model::agent::SourceRef;
use crate::model::conversation::{Message, Role};

const TABLE: &str = "messages";

/// A transcript longer than this is cut to its most recent part when read.
pub const MAX_TRANSCRIPT: u32 = 1000;

#[derive(Deserialize)]
struct Row {
    message: MessageId,
    conversation: ConversationId,
    role: Role,
    text: String,
    created_at: DateTime<Utc>,
    sources: Option<Vec<SourceRef>>,
}

#[derive(Clone, Debug)]
pub struct Messages {
    db: Db,
}

impl Messages {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Appends the message and bumps the conversation's `updated_at` in one transaction; with
    /// `awaiting`, also whether the agent owes the conversation an answer now.
    pub async fn append(
        &self,
        org: &OrgId,
        message: &Message,
        awaiting: Option<bool>,
    ) -> Result<(), DbError> {
        let role = serde_json::to_value(message.role).map_err(shape(TABLE))?;
        let sources = (!message.sources.is_empty())
            .then(|| serde_json::to_value(&message.sources))
            .transpose()
            .map_err(shape(TABLE))?;
        let query = self
            .db
            .write(
                "CREATE $rid SET message = $message, org = $org, conversation = $conversation, \
                 role = $role, text = $text, sources = $sources, created_at = $created_at RETURN NONE; \
                 UPDATE $conversation_rid SET updated_at = $created_at, \
                 awaiting_agent = IF $awaiting = NONE THEN (awaiting_agent ?? false) ELSE $awaiting END \
                 WHERE org = $org RETURN NONE",
            )
            .bind(("sources", sources))
            .bind(("awaiting", awaiting))
            .bind(("rid", RecordId::new(TABLE, message.id.as_str())))
            .bind(("conversation_rid", RecordId::new("conversations", message.conversation_id.as_str())))
            .bind(("message", message.id.as_str().to_owned()))
            .bind(("org", org.as_str().to_owned()))
            .bind(("conversation", message.conversation_id.as_str().to_owned()))
            .bind(("role", role))
            .bind(("text", message.text.clone()))
            .bind(("created_at", message.created_at));
        self.db.commit(query).await?;
        Ok(())
    }

    /// Stores a message whose id derives from its content (a voice transcript line), once: `true`
    /// when it was new.
    pub async fn upsert(&self, org: &OrgId, message: &Message) -> Result<bool, DbError> {
        let rid = RecordId::new(TABLE, message.id.as_str());
        let existing: Option<String> = self
            .db
            .client()
            .query("(SELECT VALUE message FROM $rid WHERE org = $org)[0]")
            .bind(("rid", rid))
            .bind(("org", org.as_str().to_owned()))
            .await?
            .take(0)?;
        if existing.is_some() {
            return Ok(false);
        }
        self.append(org, message, None).await?;
        Ok(true)
    }

    /// The conversation's transcript, oldest first.
    pub async fn list(&self, org: &OrgId, conversation: &ConversationId) -> Result<Vec<Message>, DbError> {
        let rows: Vec<serde_json::Value> = self
            .db
            .client()
            .query(
                "SELECT * FROM (SELECT * OMIT id FROM messages WHERE org = $org AND conversation = $conversation \
                 ORDER BY created_at DESC, message DESC LIMIT $limit) ORDER BY created_at ASC, message ASC",
            )
            .bind(("org", org.as_str().to_owned()))
            .bind(("conversation", conversation.as_str().to_owned()))
            .bind(("limit", i64::from(MAX_TRANSCRIPT)))
            .await?
            .take(0)?;
        rows.into_iter()
            .map(|row| {
                let row: Row = serde_json::from_value(row).map_err(shape(TABLE))?;
                Ok(Message {
                    id: row.message,
                    conversation_id: row.conversation,
                    role: row.role,
                    text: row.text,
                    created_at: row.created_at,
                    sources: row.sources.unwrap_or_default(),
                })
            })
            .collect()
    }
}
