//! The `contact_sessions` table: one record per widget end-user session, keyed by its id.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use surrealdb::types::RecordId;

use super::{Db, DbError, shape};
use crate::ids::{ContactSessionId, OrgId};
use crate::model::contact_session::{ContactSession, Metadata};

const TABLE: &str = "contact_sessions";

#[derive(Deserialize)]
struct Row {
    session: ContactSessionId,
    name: String,
    email: String,
    metadata: Metadata,
    token_hash: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

/// A stored session with the hash its token must match.
pub struct StoredSession {
    pub session: ContactSession,
    pub token_hash: String,
}

#[derive(Clone, Debug)]
pub struct ContactSessions {
    db: Db,
}

impl ContactSessions {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Creates several sessions in one transaction: one commit (and one sync to disk) for all
    /// the sessions a busy org's actor has queued.
    pub async fn create_many(
        &self,
        org: &OrgId,
        sessions: &[(ContactSession, String)],
    ) -> Result<(), DbError> {
        let statements: Vec<String> = (0..sessions.len())
            .map(|i| {
                format!(
                    "CREATE $rid{i} SET session = $session{i}, org = $org, name = $name{i}, email = $email{i}, \
                     metadata = $metadata{i}, token_hash = $token_hash{i}, created_at = $created_at{i}, \
                     expires_at = $expires_at{i} RETURN NONE"
                )
            })
            .collect();
        let mut query = self.db.write(&statements.join("; ")).bind(("org", org.as_str().to_owned()));
        for (i, (session, token_hash)) in sessions.iter().enumerate() {
            let metadata = serde_json::to_value(&session.metadata).map_err(shape(TABLE))?;
            query = query
                .bind((format!("rid{i}"), record(&session.id)))
                .bind((format!("session{i}"), session.id.as_str().to_owned()))
                .bind((format!("name{i}"), session.name.clone()))
                .bind((format!("email{i}"), session.email.clone()))
                .bind((format!("metadata{i}"), metadata))
                .bind((format!("token_hash{i}"), token_hash.clone()))
                .bind((format!("created_at{i}"), session.created_at))
                .bind((format!("expires_at{i}"), session.expires_at));
        }
        self.db.commit(query).await?;
        Ok(())
    }

    /// The session if it belongs to `org`; another org's session reads as absent.
    pub async fn get(&self, org: &OrgId, id: &ContactSessionId) -> Result<Option<StoredSession>, DbError> {
        let row: Option<Row> = self.db.owned(TABLE, record(id), org).await?;
        Ok(row.map(|row| StoredSession {
            token_hash: row.token_hash,
            session: ContactSession {
                id: row.session,
                name: row.name,
                email: row.email,
                metadata: row.metadata,
                created_at: row.created_at,
                expires_at: row.expires_at,
            },
        }))
    }

    pub async fn extend(
        &self,
        org: &OrgId,
        id: &ContactSessionId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let query = self
            .db
            .write("UPDATE $rid SET expires_at = $expires_at WHERE org = $org RETURN NONE")
            .bind(("rid", record(id)))
            .bind(("org", org.as_str().to_owned()))
            .bind(("expires_at", expires_at));
        self.db.commit(query).await?;
        Ok(())
    }

    /// Deletes every session that expired before `now`, across orgs: expired sessions are
    /// refused anyway, so this races with no writer.
    pub async fn delete_expired(&self, now: DateTime<Utc>) -> Result<usize, DbError> {
        let deleted: Vec<serde_json::Value> = self
            .db
            .client()
            .query("DELETE contact_sessions WHERE expires_at < $now RETURN BEFORE")
            .bind(("now", now))
            .await?
            .take(0)?;
        Ok(deleted.len())
    }
}

fn record(id: &ContactSessionId) -> RecordId {
    RecordId::new(TABLE, id.as_str())
}
