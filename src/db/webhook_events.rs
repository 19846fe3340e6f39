//! The `webhook_events` table: which upstream events were applied, keyed by source and the
//! upstream id (`svix-id`), so a delivery Svix retries hours later is applied once.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use surrealdb::types::{RecordId, SurrealValue};

use super::{Db, DbError};
use crate::bus::subjects::Source;

#[derive(Clone, Debug)]
pub struct WebhookEvents {
    db: Db,
}

impl WebhookEvents {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Which of `events` were already applied (as their [`key`]s), in one query: an ingest turn
    /// asks once for all its events.
    pub async fn seen(&self, events: &[(Source, &str)]) -> Result<HashSet<String>, DbError> {
        if events.is_empty() {
            return Ok(HashSet::new());
        }
        let records: Vec<RecordId> = events.iter().map(|(source, event)| record(*source, event)).collect();
        let keys: Vec<String> = self
            .db
            .client()
            .query("SELECT VALUE string::concat(source, '/', event) FROM $rids")
            .bind(("rids", records))
            .await?
            .take(0)?;
        Ok(keys.into_iter().collect())
    }

    /// Recorded after the events' effects are committed; a crash in between re-applies the
    /// (idempotent) effects on redelivery instead of losing them. One statement in one
    /// transaction for all the events of an ingest turn: one synced commit instead of one per
    /// event. An event recorded already (delivered twice in one turn) keeps its first record.
    pub async fn record_many(&self, events: &[(Source, &str, &str)]) -> Result<(), DbError> {
        if events.is_empty() {
            return Ok(());
        }
        let rows: Vec<Recorded> = events
            .iter()
            .map(|(source, event, kind)| Recorded {
                id: record(*source, event),
                event: (*event).to_owned(),
                source: source.as_str().to_owned(),
                kind: (*kind).to_owned(),
                applied_at: Utc::now(),
            })
            .collect();
        let query = self.db.write("INSERT IGNORE INTO webhook_events $rows RETURN NONE").bind(("rows", rows));
        self.db.commit(query).await?;
        Ok(())
    }
}

/// One applied event, as [`WebhookEvents::record_many`] writes it.
#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct Recorded {
    id: RecordId,
    event: String,
    source: String,
    kind: String,
    applied_at: DateTime<Utc>,
}

/// One record per (source, id). The key is a bound value, never parsed, so any id is safe in it.
fn record(source: Source, event: &str) -> RecordId {
    RecordId::new("webhook_events", key(source, event))
}

pub fn key(source: Source, event: &str) -> String {
    format!("{}/{event}", source.as_str())
}

#[cfg(test)]
mod tests {
    use super::WebhookEvents;
    use crate::bus::subjects::Source;
    use crate::db::Db;

    #[tokio::test]
    async fn an_event_recorded_twice_keeps_one_record_and_no_error() {
        let db = Db::connect("mem://").await.unwrap();
        let events = WebhookEvents::new(db);
        let twice = [(Source::Clerk, "msg_1", "user"), (Source::Clerk, "msg_1", "user")];
        events.record_many(&twice).await.unwrap();
        events
            .record_many(&[(Source::Clerk, "msg_1", "user"), (Source::Vapi, "msg_1", "vapi")])
            .await
            .unwrap();
        let seen =
            events.seen(&[(Source::Clerk, "msg_1"), (Source::Vapi, "msg_1"), (Source::Clerk, "msg_2")]);
        let mut seen: Vec<String> = seen.await.unwrap().into_iter().collect();
        seen.sort();
        assert_eq!(seen, ["clerk/msg_1", "vapi/msg_1"]);
    }
}
