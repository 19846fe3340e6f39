//! The `contact_sessions` table: one record per widget end-user session, keyed by its id.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use surrealdb::types::{RecordId, RecordIdKey, RecordIdKeyRange, SurrealValue};

use super::group_commit::GroupCounts;
use super::{Db, DbError, shape};
use crate::ids::{ContactSessionId, OrgId};
use crate::model::contact_session::{ContactSession, LIFETIME_HOURS, Metadata};

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

/// What the node's group commit runs for a group of batches ([`Db`]'s `sessions`).
pub(super) const INSERT: &str = "INSERT INTO contact_sessions $rows RETURN NONE";

/// A session as written: one element of the array a batch inserts in one statement.
#[derive(Clone, Debug, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub(super) struct NewRow {
    id: RecordId,
    session: String,
    org: String,
    name: String,
    email: String,
    metadata: serde_json::Value,
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

    /// Creates several sessions in one transaction, which may also hold other orgs' batches
    /// (`src/db/group_commit.rs`): one commit (and one sync to disk) for all the sessions a busy org's
    /// actor has queued, and for what other orgs queued meanwhile.
    pub async fn create_many(
        &self,
        org: &OrgId,
        sessions: &[(ContactSession, String)],
    ) -> Result<(), DbError> {
        let rows = sessions
            .iter()
            .map(|(session, token_hash)| {
                Ok(NewRow {
                    id: record(&session.id),
                    session: session.id.as_str().to_owned(),
                    org: org.as_str().to_owned(),
                    name: session.name.clone(),
                    email: session.email.clone(),
                    metadata: serde_json::to_value(&session.metadata).map_err(shape(TABLE))?,
                    token_hash: token_hash.clone(),
                    created_at: session.created_at,
                    expires_at: session.expires_at,
                })
            })
            .collect::<Result<Vec<_>, DbError>>()?;
        self.db.sessions.commit(&self.db, rows).await
    }

    /// What the node's group commit of session batches did since start.
    pub fn commit_counts(&self) -> GroupCounts {
        self.db.sessions.counts()
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
    /// refused anyway, so this races with no writer. There is no index on the expiry, which would
    /// be a large share of what a session write costs SurrealDB. Instead: a session
    /// expires [`LIFETIME_HOURS`] after its creation or later (a refresh only extends it), and
    /// its id sorts by creation time, so only the ids created before that lifetime ago are
    /// read: the expired sessions, and the live ones that were refreshed.
    pub async fn delete_expired(&self, now: DateTime<Utc>) -> Result<usize, DbError> {
        let created_before = ContactSessionId::first_at(now - Duration::hours(LIFETIME_HOURS));
        let old = RecordIdKeyRange::from(..RecordIdKey::String(created_before.as_str().to_owned()));
        let deleted: Vec<serde_json::Value> = self
            .db
            .client()
            .query("DELETE $old WHERE expires_at < $now RETURN BEFORE")
            .bind(("old", RecordId::new(TABLE, RecordIdKey::Range(Box::new(old)))))
            .bind(("now", now))
            .await?
            .take(0)?;
        Ok(deleted.len())
    }
}

fn record(id: &ContactSessionId) -> RecordId {
    RecordId::new(TABLE, id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Repos;

    fn session(created_at: DateTime<Utc>, expires_at: DateTime<Utc>) -> (ContactSession, String) {
        let id = ContactSessionId::generate(created_at);
        let (name, email, metadata) = ("Ada".into(), "ada@example.com".into(), Metadata::default());
        (ContactSession { id, name, email, metadata, created_at, expires_at }, "hash".into())
    }

    #[tokio::test]
    async fn the_sweep_deletes_expired_sessions_and_keeps_refreshed_ones() {
        let db = Db::connect("mem://").await.unwrap();
        let sessions = Repos::new(&db).contact_sessions();
        let org = OrgId::parse("org_a").unwrap();
        let now = Utc::now();
        let h = Duration::hours;
        let expired = [session(now - h(30), now - h(6)), session(now - h(24) - h(1), now - h(1))];
        let refreshed = session(now - h(30), now - h(6));
        let fresh = session(now - h(1), now + h(23));
        // Cannot happen (created an hour ago, it expires in 23): shows that only old ids are read.
        let unread = session(now - h(1), now - h(1));
        let all: Vec<_> = expired.iter().chain([&refreshed, &fresh, &unread]).cloned().collect();
        sessions.create_many(&org, &all).await.unwrap();
        sessions.extend(&org, &refreshed.0.id, now + h(10)).await.unwrap();

        assert_eq!(sessions.delete_expired(now).await.unwrap(), 2);
        for (gone, _) in &expired {
            assert!(sessions.get(&org, &gone.id).await.unwrap().is_none(), "{:?}", gone.id);
        }
        for (kept, _) in [&refreshed, &fresh, &unread] {
            assert!(sessions.get(&org, &kept.id).await.unwrap().is_some(), "{:?}", kept.id);
        }
        assert_eq!(sessions.delete_expired(now).await.unwrap(), 0);
    }
}
