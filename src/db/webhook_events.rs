//! The `webhook_events` table: which upstream events were applied, keyed by source and the
//! upstream id (`svix-id`), so a delivery Svix retries hours later is applied once.

use std::collections::HashSet;

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
    RecordId::new("webhook_events", key(source, event))
}

pub fn key(source: Source, event: &str) -> String {
    format!("{}/{event}", source.as_str())
}
