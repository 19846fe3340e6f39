//! The `chunks` table: the passages of every org's documents with their embeddings, and the
//! exact per-org search over them.
//!
//! Ingestion stages a document's chunks unsearchable (`live = false`); the org actor makes them
//! live in the transaction that marks the document ready (`documents.rs`). Search reads only
//! live chunks of one org: it ranks all of them by cosine similarity, so no other tenant's
//! passages can crowd out the right answer, as an approximate index filtered after its nearest
//! neighbours can (see docs/knowledge.md).

use surrealdb::types::{RecordId, SurrealValue};

use super::chunk_index::{OrgVectors, normalized};
use super::{Db, DbError, shape};
use crate::ids::{DocumentId, OrgId};
use crate::model::knowledge::SearchHit;

const TABLE: &str = "chunks";

/// One passage of a document, with its embedding.
#[derive(Clone, Debug)]
pub struct NewChunk {
    pub seq: u32,
    pub text: String,
    pub embedding: Vec<f32>,
}

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct StagedRow {
    id: RecordId,
    org: String,
    document: String,
    title: String,
    seq: i64,
    text: String,
    /// Little-endian `f32`s, normalized to length 1: a tenth of the size of a number array,
    /// and read back without parsing.
    embedding: bytes::Bytes,
    live: bool,
}

#[derive(SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub(super) struct VectorRow {
    pub chunk: String,
    pub embedding: bytes::Bytes,
}

#[derive(serde::Deserialize)]
struct TextRow {
    chunk: String,
    document: DocumentId,
    title: String,
    text: String,
}

#[derive(Clone, Debug)]
pub struct Chunks {
    db: Db,
}

impl Chunks {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Stores chunks of a document being ingested, not searchable yet. Written through the
    /// node's unfenced connection (see `actors/ingestion.rs`): only the org actor's fenced
    /// commit makes them live.
    pub async fn stage(
        &self,
        org: &OrgId,
        document: &DocumentId,
        title: &str,
        chunks: &[NewChunk],
    ) -> Result<(), DbError> {
        let rows: Vec<StagedRow> = chunks
            .iter()
            .map(|chunk| StagedRow {
                id: RecordId::new(TABLE, chunk_key(document, chunk.seq)),
                org: org.as_str().to_owned(),
                document: document.as_str().to_owned(),
                title: title.to_owned(),
                seq: i64::from(chunk.seq),
                text: chunk.text.clone(),
                embedding: to_bytes(&normalized(&chunk.embedding)),
                live: false,
            })
            .collect();
        let query = self.db.write("INSERT INTO chunks $rows RETURN NONE").bind(("rows", rows));
        self.db.commit(query).await?;
        Ok(())
    }

    /// Drops what an earlier, interrupted ingestion of the document staged.
    pub async fn unstage(&self, org: &OrgId, document: &DocumentId) -> Result<(), DbError> {
        let query = self
            .db
            .write("DELETE chunks WHERE org = $org AND document = $document AND live = false RETURN NONE")
            .bind(("org", org.as_str().to_owned()))
            .bind(("document", document.as_str().to_owned()));
        self.db.commit(query).await?;
        Ok(())
    }

    /// Drops the org's embeddings this node keeps in memory: they may have changed elsewhere.
    pub fn forget_cached(&self, org: &OrgId) {
        self.db.chunk_index().forget(org);
    }

    /// The `limit` live passages of `org` closest to `query`, best first.
    pub async fn search(&self, org: &OrgId, query: &[f32], limit: usize) -> Result<Vec<SearchHit>, DbError> {
        let vectors = match self.db.chunk_index().get(org) {
            Some(vectors) => vectors,
            None => {
                let vectors = self.load(org).await?;
                self.db.chunk_index().keep(org, vectors)
            }
        };
        let best = vectors.nearest(&normalized(query), limit);
        if best.is_empty() {
            return Ok(Vec::new());
        }
        let records: Vec<RecordId> = best.iter().map(|(key, _)| RecordId::new(TABLE, key.as_str())).collect();
        let rows: Vec<serde_json::Value> = self
            .db
            .client()
            .query("SELECT meta::id(id) AS chunk, document, title, text FROM $records WHERE org = $org AND live = true")
            .bind(("records", records))
            .bind(("org", org.as_str().to_owned()))
            .await?
            .take(0)?;
        let mut texts = rows
            .into_iter()
            .map(|row| serde_json::from_value::<TextRow>(row).map_err(shape(TABLE)))
            .collect::<Result<Vec<_>, _>>()?;
        // In rank order; a chunk deleted since the index was read is left out.
        Ok(best
            .into_iter()
            .filter_map(|(key, score)| {
                let at = texts.iter().position(|row| row.chunk == key)?;
                let row = texts.swap_remove(at);
                Some(SearchHit { document_id: row.document, title: row.title, text: row.text, score })
            })
            .collect())
    }

    async fn load(&self, org: &OrgId) -> Result<OrgVectors, DbError> {
        let rows: Vec<VectorRow> = self
            .db
            .client()
            .query("SELECT meta::id(id) AS chunk, embedding FROM chunks WHERE org = $org AND live = true")
            .bind(("org", org.as_str().to_owned()))
            .await?
            .take(0)?;
        Ok(OrgVectors::from_rows(rows))
    }
}

fn chunk_key(document: &DocumentId, seq: u32) -> String {
    format!("{document}-{seq:06}")
}

fn to_bytes(vector: &[f32]) -> bytes::Bytes {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>().into()
}
