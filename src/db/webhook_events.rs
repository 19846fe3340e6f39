//! The `webhook_events` table: which upstream events were applied, keyed by source and the
//! upstream id (`svix-id`), so a delivery Svix retries hours later is applied once.

use surrealdb::types::RecordId;

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

    pub async fn seen(&self, source: Source, event: &str) -> Result<bool, DbError> {
        let found: Option<String> = self
            .db
            .client()
            .query("(SELECT VALUE event FROM $rid)[0]")
            .bind(("rid", record(source, event)))
            .await?
            .take(0)?;
        Ok(found.is_some())
    }

    /// Recorded after the events' effects are committed; a crash in between re-applies the
    /// (idempotent) effects on redelivery instead of losing them. One transaction for all the
    /// events of an ingest turn: one synced commit instead of one per event.
    pub async fn record_many(&self, events: &[(Source, &str, &str)]) -> Result<(), DbError> {
        if events.is_empty() {
            return Ok(());
        }
        let statements: Vec<String> = (0..events.len())
            .map(|i| {
                format!(
                    "UPSERT $rid{i} SET event = $event{i}, source = $source{i}, kind = $kind{i}, \
                     applied_at = time::now() RETURN NONE"
                )
            })
            .collect();
        let mut query = self.db.write(&statements.join("; "));
        for (i, (source, event, kind)) in events.iter().enumerate() {
            query = query
                .bind((format!("rid{i}"), record(*source, event)))
                .bind((format!("event{i}"), (*event).to_owned()))
                .bind((format!("source{i}"), source.as_str()))
                .bind((format!("kind{i}"), (*kind).to_owned()));
        }
        self.db.commit(query).await?;
        Ok(())
    }
}

/// One record per (source, id). The key is a bound value, never parsed, so any id is safe in it.
fn record(source: Source, event: &str) -> RecordId {
    RecordId::new("webhook_events", format!("{}/{event}", source.as_str()))
}
