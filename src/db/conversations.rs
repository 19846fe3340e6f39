//! The `conversations` table, keyed by conversation id; every query binds the org.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use surrealdb::types::RecordId;

use super::{Db, DbError, shape};
use crate::ids::{ContactSessionId, ConversationId, OrgId};
use crate::model::conversation::{Channel, Conversation, Cursor, Handler, Page, Status};

const TABLE: &str = "conversations";

#[derive(Deserialize)]
struct Row {
    conversation: ConversationId,
    status: Status,
    /// Absent on conversations older than the agent: people answered those.
    handler: Option<Handler>,
    channel: Channel,
    contact_session: Option<ContactSessionId>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    call_id: Option<String>,
    summary: Option<String>,
    recording_url: Option<String>,
    ended_reason: Option<String>,
    duration_seconds: Option<f64>,
    cost: Option<f64>,
}

impl From<Row> for Conversation {
    fn from(row: Row) -> Self {
        Self {
            id: row.conversation,
            status: row.status,
            handler: row.handler.unwrap_or(Handler::Human),
            channel: row.channel,
            contact_session_id: row.contact_session,
            created_at: row.created_at,
            updated_at: row.updated_at,
            call_id: row.call_id,
            summary: row.summary,
            recording_url: row.recording_url,
            ended_reason: row.ended_reason,
            duration_seconds: row.duration_seconds,
            cost: row.cost,
        }
    }
}

/// Which conversations a list shows.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub status: Option<Status>,
    /// Only this end-user's conversations (the widget's view).
    pub contact_session: Option<ContactSessionId>,
}

#[derive(Clone, Debug)]
pub struct Conversations {
    db: Db,
}

impl Conversations {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn create(&self, org: &OrgId, conversation: &Conversation) -> Result<(), DbError> {
        let query = self
            .db
            .write(
                "CREATE $rid SET conversation = $conversation, org = $org, status = $status, \
                 handler = $handler, channel = $channel, contact_session = $contact_session, call_id = $call_id, \
                 created_at = $created_at, updated_at = $updated_at RETURN NONE",
            )
            .bind(("rid", record(&conversation.id)))
            .bind(("conversation", conversation.id.as_str().to_owned()))
            .bind(("org", org.as_str().to_owned()))
            .bind(("status", wire(&conversation.status)?))
            .bind(("handler", conversation.handler.as_str()))
            .bind(("channel", wire(&conversation.channel)?))
            .bind((
                "contact_session",
                conversation.contact_session_id.as_ref().map(|s| s.as_str().to_owned()),
            ))
            .bind(("call_id", conversation.call_id.clone()))
            .bind(("created_at", conversation.created_at))
            .bind(("updated_at", conversation.updated_at));
        self.db.commit(query).await?;
        Ok(())
    }

    pub async fn get(&self, org: &OrgId, id: &ConversationId) -> Result<Option<Conversation>, DbError> {
        Ok(self.db.owned::<Row>(TABLE, record(id), org).await?.map(Conversation::from))
    }

    /// Newest first. Fetches one extra row to know whether another page exists.
    pub async fn list(
        &self,
        org: &OrgId,
        filter: &Filter,
        after: Option<&Cursor>,
        limit: u32,
    ) -> Result<Page<Conversation>, DbError> {
        let rows: Vec<serde_json::Value> = self
            .db
            .client()
            .query(
                "SELECT * OMIT id FROM conversations WHERE org = $org \
                 AND ($status = NONE OR status = $status) \
                 AND ($of_session = NONE OR contact_session = $of_session) \
                 AND ($at = NONE OR created_at < $at OR (created_at = $at AND conversation < $after_id)) \
                 ORDER BY created_at DESC, conversation DESC LIMIT $limit",
            )
            .bind(("org", org.as_str().to_owned()))
            .bind(("status", filter.status.as_ref().map(wire).transpose()?))
            .bind(("of_session", filter.contact_session.as_ref().map(|s| s.as_str().to_owned())))
            .bind(("at", after.map(|c| c.at)))
            .bind(("after_id", after.map(|c| c.id.clone())))
            .bind(("limit", i64::from(limit) + 1))
            .await?
            .take(0)?;
        let mut items = rows
            .into_iter()
            .map(|row| serde_json::from_value::<Row>(row).map(Conversation::from).map_err(shape(TABLE)))
            .collect::<Result<Vec<_>, _>>()?;
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor = more
            .then(|| items.last().map(|c| Cursor { at: c.created_at, id: c.id.as_str().to_owned() }.encode()))
            .flatten();
        Ok(Page { items, next_cursor })
    }

    /// Writes the conversation's status and handler, and whether the agent owes it an answer.
    pub async fn set_state(
        &self,
        org: &OrgId,
        conversation: &Conversation,
        awaiting: bool,
    ) -> Result<(), DbError> {
        let query = self
            .db
            .write(
                "UPDATE $rid SET status = $status, handler = $handler, awaiting_agent = $awaiting, \
                 updated_at = $at WHERE org = $org RETURN NONE",
            )
            .bind(("rid", record(&conversation.id)))
            .bind(("org", org.as_str().to_owned()))
            .bind(("status", wire(&conversation.status)?))
            .bind(("handler", conversation.handler.as_str()))
            .bind(("awaiting", awaiting))
            .bind(("at", conversation.updated_at));
        self.db.commit(query).await?;
        Ok(())
    }

    /// Conversations the agent owes an answer: after a restart, it answers or hands them off.
    pub async fn awaiting_agent(&self, org: &OrgId) -> Result<Vec<Conversation>, DbError> {
        let rows: Vec<serde_json::Value> = self
            .db
            .client()
            .query("SELECT * OMIT id FROM conversations WHERE org = $org AND awaiting_agent = true")
            .bind(("org", org.as_str().to_owned()))
            .await?
            .take(0)?;
        rows.into_iter()
            .map(|row| serde_json::from_value::<Row>(row).map(Conversation::from).map_err(shape(TABLE)))
            .collect()
    }
}

impl Conversations {
    /// Sets the fields Vapi reports about a call.
    pub async fn set_voice(&self, org: &OrgId, conversation: &Conversation) -> Result<(), DbError> {
        let query = self.db
            .write(
                "UPDATE $rid SET summary = $summary, recording_url = $recording_url, ended_reason = $ended_reason, \
                 duration_seconds = $duration_seconds, cost = $cost, updated_at = $updated_at WHERE org = $org RETURN NONE",
            )
            .bind(("rid", record(&conversation.id)))
            .bind(("org", org.as_str().to_owned()))
            .bind(("summary", conversation.summary.clone()))
            .bind(("recording_url", conversation.recording_url.clone()))
            .bind(("ended_reason", conversation.ended_reason.clone()))
            .bind(("duration_seconds", conversation.duration_seconds))
            .bind(("cost", conversation.cost))
            .bind(("updated_at", conversation.updated_at));
        self.db.commit(query).await?;
        Ok(())
    }
}

/// The JSON string of a unit enum (`"unresolved"`), as the schema's literal types expect.
fn wire(value: &impl serde::Serialize) -> Result<String, DbError> {
    match serde_json::to_value(value).map_err(shape(TABLE))? {
        serde_json::Value::String(s) => Ok(s),
        other => Ok(other.to_string()),
    }
}

fn record(id: &ConversationId) -> RecordId {
    RecordId::new(TABLE, id.as_str())
}
