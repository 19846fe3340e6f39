//! Knowledge-base ingestion, off the org actor's path: read the source, extract its text, cut
//! it into passages, embed them through the AI gateway and stage them, then tell the org's
//! owner (over NATS, wherever the org lives by then) whether the document is ready or failed.
//! The org actor alone makes a document ready or failed; until then nothing of it is
//! searchable.
//!
//! Each document is ingested on a task of its own, at most one per document on a node and a
//! bounded number at once. A task that dies with its node leaves the document `processing`:
//! the org actor starts it again when it next activates (`org/knowledge.rs`), and staging
//! starts over.
//!
//! Staging writes are not fenced: every fenced write of an org touches its fence record, so
//! staging fenced would conflict with the org actor's own writes (and with another document of
//! the org being staged) and fail them. Staged passages are invisible until the org actor's
//! fenced commit makes them live.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::bus::ai::{self, Usage};
use crate::bus::subjects::{self, OwnerVerb};
use crate::bus::uploads::Uploads;
use crate::db::chunks::NewChunk;
use crate::db::documents::StoredDocument;
use crate::db::{DbError, Repos};
use crate::error::{ApiError, ErrorCode};
use crate::ids::{DocumentId, OrgId};
use crate::knowledge::{self, Chunking};
use crate::model::knowledge::ContentType;

/// Passages embedded per gateway call: their vectors come back in one NATS message, which the
/// bundled config bounds at 1 MB (1536 numbers in JSON are about 20 KB).
const BATCH: usize = 16;
/// Reading a source back is tried this many times, a second apart and more: the object store
/// refuses reads for a moment when many run at once.
const READS: u32 = 5;

/// What ingestion tells the org's owner about one document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestReport {
    pub document_id: DocumentId,
    pub outcome: Outcome,
    /// Tokens the embedding provider counted, whatever the outcome.
    pub usage: Usage,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum Outcome {
    Ready { chunks: u32 },
    Failed { reason: String },
}

/// The node's ingestion: shared by every org actor of the node.
#[derive(Clone)]
pub(crate) struct Ingestion(Arc<Inner>);

struct Inner {
    nats: async_nats::Client,
    /// The node's unfenced repositories.
    repos: Repos,
    uploads: Uploads,
    chunking: Chunking,
    /// The longest one embedding call may take, retries included.
    deadline: Duration,
    running: Mutex<HashSet<DocumentId>>,
    slots: Semaphore,
}

impl Ingestion {
    pub(crate) fn new(
        nats: async_nats::Client,
        repos: Repos,
        uploads: Uploads,
        chunking: Chunking,
        deadline: Duration,
        concurrency: usize,
    ) -> Self {
        Self(Arc::new(Inner {
            nats,
            repos,
            uploads,
            chunking,
            deadline,
            running: Mutex::new(HashSet::new()),
            slots: Semaphore::new(concurrency.max(1)),
        }))
    }

    pub(crate) fn uploads(&self) -> &Uploads {
        &self.0.uploads
    }

    /// Ingests `document` unless this node is ingesting it already.
    pub(crate) fn start(&self, org: OrgId, document: StoredDocument) {
        let id = document.document.id.clone();
        if !self.0.running.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone()) {
            return;
        }
        let inner = self.0.clone();
        tokio::spawn(async move {
            let report = {
                let _slot = inner.slots.acquire().await;
                ingest(&inner, &org, &document).await
            };
            tell_owner(&inner, &org, &report).await;
            // Only once the owner has the report: an org woken by it must not ingest again.
            inner.running.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
        });
    }
}

async fn ingest(inner: &Inner, org: &OrgId, stored: &StoredDocument) -> IngestReport {
    let document = &stored.document;
    let mut usage = Usage::default();
    let outcome = match passages(inner, org, stored).await {
        Err(reason) => Outcome::Failed { reason },
        Ok(passages) => match embed_and_stage(inner, org, stored, &passages, &mut usage).await {
            Ok(()) => Outcome::Ready { chunks: u32::try_from(passages.len()).unwrap_or(u32::MAX) },
            Err(reason) => Outcome::Failed { reason },
        },
    };
    IngestReport { document_id: document.id.clone(), outcome, usage }
}

/// The document's passages, or why it has none.
async fn passages(inner: &Inner, org: &OrgId, stored: &StoredDocument) -> Result<Vec<String>, String> {
    let source = stored.source.as_deref().ok_or("the document's source is missing; add it again")?;
    let mut tries = 0;
    let bytes = loop {
        tries += 1;
        match inner.uploads.read(org, source).await {
            Ok(Some(bytes)) => break bytes,
            Ok(None) => return Err("the uploaded file expired before it was read; add it again".into()),
            Err(err) if tries >= READS => return Err(err.message),
            Err(_) => tokio::time::sleep(Duration::from_secs(u64::from(tries))).await,
        }
    };
    let content_type = ContentType::from_media_type(&stored.document.content_type)
        .ok_or_else(|| format!("{} cannot be read", stored.document.content_type))?;
    let chunking = inner.chunking;
    let read = tokio::task::spawn_blocking(move || {
        knowledge::extract(content_type, &bytes).map(|text| knowledge::split(content_type, &text, chunking))
    });
    match read.await {
        Ok(Ok(passages)) if passages.is_empty() => Err(knowledge::Unreadable::NoText.to_string()),
        Ok(Ok(passages)) => Ok(passages),
        Ok(Err(unreadable)) => Err(unreadable.to_string()),
        Err(_) => Err("the document could not be read".into()),
    }
}

async fn embed_and_stage(
    inner: &Inner,
    org: &OrgId,
    stored: &StoredDocument,
    passages: &[String],
    usage: &mut Usage,
) -> Result<(), String> {
    let (document, chunks) = (&stored.document, inner.repos.chunks());
    chunks.unstage(org, &document.id).await.map_err(stop)?;
    for (batch, texts) in passages.chunks(BATCH).enumerate() {
        let embedded = ai::embed(&inner.nats, org, texts.to_vec(), inner.deadline).await.map_err(refused)?;
        *usage += embedded.usage;
        if embedded.embeddings.len() != texts.len() {
            return Err("the embedding provider answered with the wrong number of vectors".into());
        }
        let staged: Vec<NewChunk> = texts
            .iter()
            .zip(embedded.embeddings)
            .enumerate()
            .map(|(i, (text, embedding))| NewChunk {
                seq: u32::try_from(batch * BATCH + i).unwrap_or(u32::MAX),
                text: text.clone(),
                embedding,
            })
            .collect();
        chunks.stage(org, &document.id, &document.title, &staged).await.map_err(stop)?;
    }
    Ok(())
}

fn stop(err: DbError) -> String {
    tracing::error!(error = %err, "staging knowledge chunks");
    "the passages could not be stored; add the document again".into()
}

fn refused(err: ApiError) -> String {
    match err.code {
        ErrorCode::Unavailable => {
            format!("the embedding provider is unavailable ({}); add the document again", err.message)
        }
        _ => format!("the embedding provider refused: {}", err.message),
    }
}

/// Tells the org's owner, retrying while no node owns the org (a handover).
async fn tell_owner(inner: &Inner, org: &OrgId, report: &IngestReport) {
    let body = match serde_json::to_vec(report) {
        Ok(body) => body,
        Err(err) => return tracing::error!(error = %err, "encoding an ingestion report"),
    };
    let subject = subjects::owner(org, OwnerVerb::Ingested);
    let sent =
        crate::bus::request(&inner.nats, subject, Default::default(), body.into(), inner.deadline).await;
    if let Err(err) = sent {
        // The document stays `processing`; its org's next activation ingests it again.
        tracing::warn!(%org, document = %report.document_id, error = %err, "could not report an ingestion");
    }
}
