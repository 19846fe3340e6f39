//! The org actor's knowledge base: it owns the document records and their lifecycle
//! (processing → ready or failed, or deleted) and publishes each change; the reading and
//! embedding run elsewhere (`actors/ingestion.rs`), and searches run outside the actor.

use super::state::OrgState;
use crate::actors::ingestion::{IngestReport, Outcome};
use crate::auth::Operator;
use crate::bus::events::Audience;
use crate::bus::uploads::Source;
use crate::db::chunks::Chunks;
use crate::db::documents::StoredDocument;
use crate::error::ApiError;
use crate::ids::DocumentId;
use crate::model::conversation::Page;
use crate::model::knowledge::{Document, DocumentQuery, DocumentStatus};

impl OrgState {
    /// Adding and deleting documents is an admin's decision; members read and search.
    pub(crate) async fn may_change_knowledge(&mut self, operator: &Operator) -> Result<(), ApiError> {
        self.first_sight(operator).await?;
        if !operator.is_admin() {
            return Err(ApiError::forbidden("only an organization admin may add or delete documents"));
        }
        Ok(())
    }

    /// Records a document for the source stored under `upload`, and starts its ingestion. The
    /// same content again answers with the document already made of it (nothing is embedded
    /// twice), unless that one failed: re-adding is how a failed document is retried.
    pub(crate) async fn add_document(
        &mut self,
        operator: &Operator,
        upload: String,
        source: Source,
    ) -> Result<Document, ApiError> {
        self.may_change_knowledge(operator).await?;
        let documents = self.repos.documents();
        if let Some(existing) = documents.with_hash(&self.org, &source.sha256).await? {
            if existing.document.status != DocumentStatus::Failed {
                self.ingestion.uploads().delete(&self.org, &upload).await;
                return Ok(existing.document);
            }
            documents.delete(&self.org, &existing.document.id).await?;
            self.emit("knowledge", "deleted", Audience::Operators, &existing.document).await;
        }
        let now = self.clock.now();
        let stored = StoredDocument {
            document: Document {
                id: DocumentId::generate(),
                title: source.title,
                content_type: source.content_type,
                bytes: source.bytes,
                status: DocumentStatus::Processing,
                error: None,
                chunks: 0,
                created_at: now,
                updated_at: now,
            },
            content_hash: source.sha256,
            source: Some(upload),
        };
        documents.create(&self.org, &stored).await?;
        tracing::info!(org = %self.org, document = %stored.document.id, "document added");
        self.emit("knowledge", "updated", Audience::Operators, &stored.document).await;
        let document = stored.document.clone();
        self.ingestion.start(self.org.clone(), stored);
        Ok(document)
    }

    pub(crate) async fn documents(
        &mut self,
        operator: &Operator,
        query: &DocumentQuery,
    ) -> Result<Page<Document>, ApiError> {
        self.first_sight(operator).await?;
        let list = crate::model::conversation::ListQuery {
            cursor: query.cursor.clone(),
            limit: query.limit,
            status: None,
        };
        Ok(self.repos.documents().list(&self.org, list.cursor()?.as_ref(), list.limit()?).await?)
    }

    pub(crate) async fn document(
        &mut self,
        operator: &Operator,
        id: &DocumentId,
    ) -> Result<Document, ApiError> {
        self.first_sight(operator).await?;
        Ok(self.load_document(id).await?.document)
    }

    /// Deletes the document and its passages; a search right after no longer finds them.
    pub(crate) async fn delete_document(
        &mut self,
        operator: &Operator,
        id: &DocumentId,
    ) -> Result<Document, ApiError> {
        self.may_change_knowledge(operator).await?;
        let stored = self.load_document(id).await?;
        self.repos.documents().delete(&self.org, id).await?;
        if let Some(source) = &stored.source {
            self.ingestion.uploads().delete(&self.org, source).await;
        }
        tracing::info!(org = %self.org, user = %operator.user_id, document = %id, "document deleted");
        self.emit("knowledge", "deleted", Audience::Operators, &stored.document).await;
        Ok(stored.document)
    }

    /// Where searches read: the org's chunks, for a member of the org. The search itself runs
    /// on the caller's task, so a large knowledge base never holds up the actor.
    pub(crate) async fn knowledge_reader(&mut self, operator: &Operator) -> Result<Chunks, ApiError> {
        self.first_sight(operator).await?;
        Ok(self.repos.chunks())
    }

    /// Ingestion's word on a document: it becomes ready (its passages searchable) or failed.
    /// A report for a document deleted meanwhile, or settled already, changes nothing.
    pub(crate) async fn document_ingested(&mut self, report: IngestReport) -> Result<(), ApiError> {
        self.add_usage(report.usage).await?;
        let Some(stored) = self.repos.documents().get(&self.org, &report.document_id).await? else {
            self.repos.chunks().unstage(&self.org, &report.document_id).await?;
            return Ok(());
        };
        if stored.document.status != DocumentStatus::Processing {
            return Ok(());
        }
        let (documents, now) = (self.repos.documents(), self.clock.now());
        let mut document = stored.document;
        match report.outcome {
            Outcome::Ready { chunks } => {
                documents.ready(&self.org, &document.id, chunks, now).await?;
                (document.status, document.chunks) = (DocumentStatus::Ready, chunks);
            }
            Outcome::Failed { reason } => {
                documents.failed(&self.org, &document.id, &reason, now).await?;
                tracing::info!(org = %self.org, document = %document.id, %reason, "document failed");
                (document.status, document.error) = (DocumentStatus::Failed, Some(reason));
            }
        }
        document.updated_at = now;
        if let Some(source) = &stored.source {
            self.ingestion.uploads().delete(&self.org, source).await;
        }
        self.emit("knowledge", "updated", Audience::Operators, &document).await;
        Ok(())
    }

    /// After a restart: the documents whose ingestion was cut short go through it again.
    pub(super) async fn resume_ingestion(&mut self) -> Result<(), ApiError> {
        for stored in self.repos.documents().processing(&self.org).await? {
            tracing::info!(org = %self.org, document = %stored.document.id, "resuming a document's ingestion");
            self.ingestion.start(self.org.clone(), stored);
        }
        Ok(())
    }

    async fn load_document(&self, id: &DocumentId) -> Result<StoredDocument, ApiError> {
        let found = self.repos.documents().get(&self.org, id).await?;
        found.ok_or_else(|| ApiError::not_found(format!("document {id} not found")))
    }
}
