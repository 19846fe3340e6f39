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

    /// Recorded after the event's effects are committed; a crash in between re-applies the
    /// (idempotent) effects on redelivery instead of losing them.
    pub async fn record(&self, source: Source, event: &str, kind: &str) -> Result<(), DbError> {
        self.db
            .client()
            .query("UPSERT $rid SET event = $event, source = $source, kind = $kind, applied_at = time::now() RETURN NONE")
            .bind(("rid", record(source, event)))
            .bind(("event", event.to_owned()))
            .bind(("source", source.as_str()))
            .bind(("kind", kind.to_owned()))
            .await?
            .check()?;
        Ok(())
    }
}

/// One record per (source, id). The key is a bound value, never parsed, so any id is safe in it.
fn record(source: Source, event: &str) -> RecordId {
    RecordId::new("webhook_events", format!("{}/{event}", source.as_str()))
}
