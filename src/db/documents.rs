//! The `documents` table: each org's knowledge-base documents, keyed by document id. A
//! document's passages live in `chunks` (`chunks.rs`); its status changes and its deletion
//! take its chunks along in the same transaction.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use surrealdb::types::RecordId;

use super::{Db, DbError, shape};
use crate::ids::{DocumentId, OrgId};
use crate::model::conversation::{Cursor, Page};
use crate::model::knowledge::{Document, DocumentStatus};

const TABLE: &str = "documents";

/// A document with what only assist needs: the hash of its content (a re-upload of the same
/// content is not embedded twice) and, while it is processed, where its source waits.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredDocument {
    pub document: Document,
    pub content_hash: String,
    /// The upload's object name while the document is processed.
    pub source: Option<String>,
}

#[derive(Deserialize)]
struct Row {
    document: DocumentId,
    title: String,
    content_type: String,
    bytes: u64,
    status: DocumentStatus,
    error: Option<String>,
    chunks: u32,
    content_hash: String,
    source: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Row> for StoredDocument {
    fn from(row: Row) -> Self {
        Self {
            document: Document {
                id: row.document,
                title: row.title,
                content_type: row.content_type,
                bytes: row.bytes,
                status: row.status,
                error: row.error,
                chunks: row.chunks,
                created_at: row.created_at,
                updated_at: row.updated_at,
            },
            content_hash: row.content_hash,
            source: row.source,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Documents {
    db: Db,
}

impl Documents {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn create(&self, org: &OrgId, stored: &StoredDocument) -> Result<(), DbError> {
        let d = &stored.document;
        let query = self
            .db
            .write(
                "CREATE $rid SET document = $document, org = $org, title = $title, \
                 content_type = $content_type, bytes = $bytes, status = $status, error = NONE, \
                 chunks = 0, content_hash = $hash, source = $source, created_at = $at, \
                 updated_at = $at RETURN NONE",
            )
            .bind(("rid", record(&d.id)))
            .bind(("document", d.id.as_str().to_owned()))
            .bind(("org", org.as_str().to_owned()))
            .bind(("title", d.title.clone()))
            .bind(("content_type", d.content_type.clone()))
            .bind(("bytes", i64::try_from(d.bytes).unwrap_or(i64::MAX)))
            .bind(("status", status(d.status)))
            .bind(("hash", stored.content_hash.clone()))
            .bind(("source", stored.source.clone()))
            .bind(("at", d.created_at));
        self.db.commit(query).await?;
        Ok(())
    }

    pub async fn get(&self, org: &OrgId, id: &DocumentId) -> Result<Option<StoredDocument>, DbError> {
        Ok(self.db.owned::<Row>(TABLE, record(id), org).await?.map(StoredDocument::from))
    }

    /// The org's document with this content, if any.
    pub async fn with_hash(&self, org: &OrgId, hash: &str) -> Result<Option<StoredDocument>, DbError> {
        let rows = self
            .select("WHERE org = $org AND content_hash = $hash LIMIT 1")
            .bind(("org", org.as_str().to_owned()))
            .bind(("hash", hash.to_owned()))
            .await?
            .take(0)?;
        Ok(parse(rows)?.into_iter().next())
    }

    /// The org's documents still being processed: after a restart, their ingestion resumes.
    pub async fn processing(&self, org: &OrgId) -> Result<Vec<StoredDocument>, DbError> {
        let rows = self
            .select("WHERE org = $org AND status = 'processing'")
            .bind(("org", org.as_str().to_owned()))
            .await?
            .take(0)?;
        parse(rows)
    }

    /// Newest first; one extra row tells whether another page exists.
    pub async fn list(
        &self,
        org: &OrgId,
        after: Option<&Cursor>,
        limit: u32,
    ) -> Result<Page<Document>, DbError> {
        let rows = self
            .select(
                "WHERE org = $org \
                 AND ($at = NONE OR created_at < $at OR (created_at = $at AND document < $after_id)) \
                 ORDER BY created_at DESC, document DESC LIMIT $limit",
            )
            .bind(("org", org.as_str().to_owned()))
            .bind(("at", after.map(|c| c.at)))
            .bind(("after_id", after.map(|c| c.id.clone())))
            .bind(("limit", i64::from(limit) + 1))
            .await?
            .take(0)?;
        let mut items: Vec<Document> = parse(rows)?.into_iter().map(|s| s.document).collect();
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor = more
            .then(|| items.last().map(|d| Cursor { at: d.created_at, id: d.id.as_str().to_owned() }.encode()))
            .flatten();
        Ok(Page { items, next_cursor })
    }

    /// Makes the document's staged chunks searchable and the document ready, at once.
    pub async fn ready(
        &self,
        org: &OrgId,
        id: &DocumentId,
        chunks: u32,
        at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let query = self
            .db
            .write(
                "UPDATE chunks SET live = true WHERE org = $org AND document = $document RETURN NONE; \
                 UPDATE $rid SET status = 'ready', error = NONE, chunks = $chunks, source = NONE, \
                 updated_at = $at WHERE org = $org RETURN NONE",
            )
            .bind(("rid", record(id)))
            .bind(("org", org.as_str().to_owned()))
            .bind(("document", id.as_str().to_owned()))
            .bind(("chunks", i64::from(chunks)))
            .bind(("at", at));
        self.db.commit(query).await?;
        self.db.chunk_index().forget(org);
        Ok(())
    }

    /// Marks the document failed with `reason`, dropping whatever chunks were staged for it.
    pub async fn failed(
        &self,
        org: &OrgId,
        id: &DocumentId,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let query = self
            .db
            .write(
                "DELETE chunks WHERE org = $org AND document = $document RETURN NONE; \
                 UPDATE $rid SET status = 'failed', error = $reason, chunks = 0, source = NONE, \
                 updated_at = $at WHERE org = $org RETURN NONE",
            )
            .bind(("rid", record(id)))
            .bind(("org", org.as_str().to_owned()))
            .bind(("document", id.as_str().to_owned()))
            .bind(("reason", reason.to_owned()))
            .bind(("at", at));
        self.db.commit(query).await?;
        self.db.chunk_index().forget(org);
        Ok(())
    }

    /// Deletes the document and its chunks in one transaction: gone from search at once.
    pub async fn delete(&self, org: &OrgId, id: &DocumentId) -> Result<(), DbError> {
        let query = self
            .db
            .write(
                "DELETE chunks WHERE org = $org AND document = $document RETURN NONE; \
                 DELETE $rid WHERE org = $org RETURN NONE",
            )
            .bind(("rid", record(id)))
            .bind(("org", org.as_str().to_owned()))
            .bind(("document", id.as_str().to_owned()));
        self.db.commit(query).await?;
        self.db.chunk_index().forget(org);
        Ok(())
    }

    fn select(&self, condition: &str) -> surrealdb::method::Query<'_, surrealdb::engine::any::Any> {
        self.db.client().query(format!("SELECT * OMIT id FROM documents {condition}"))
    }
}

fn parse(rows: Vec<serde_json::Value>) -> Result<Vec<StoredDocument>, DbError> {
    rows.into_iter()
        .map(|row| serde_json::from_value::<Row>(row).map(StoredDocument::from).map_err(shape(TABLE)))
        .collect()
}

fn status(status: DocumentStatus) -> &'static str {
    match status {
        DocumentStatus::Processing => "processing",
        DocumentStatus::Ready => "ready",
        DocumentStatus::Failed => "failed",
    }
}

fn record(id: &DocumentId) -> RecordId {
    RecordId::new(TABLE, id.as_str())
}
