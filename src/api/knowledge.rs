//! The knowledge base's operations: an operator of the org (admins add and delete), the org
//! actor for the documents, and searches run on the request's own task.

use futures::FutureExt;

use super::call::Call;
use crate::bus::envelope::{self, Reply};
use crate::bus::uploads::Source;
use crate::error::ApiError;
use crate::ids::DocumentId;
use crate::model::knowledge::{ContentType, DocumentQuery, NewDocument, SearchRequest, SearchResults};

/// A file the edge stored (`Assist-Upload`), or the JSON form's text, stored here.
pub(super) async fn create(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    call.ai_ready().await?;
    let upload = call.header(envelope::UPLOAD).map(str::to_owned);
    let new = match upload {
        Some(_) => None,
        None => {
            let new: NewDocument = call.json()?;
            new.validate()?;
            Some(new)
        }
    };
    let asking = op.clone();
    call.at().run(move |org| async move { org.may_change_knowledge(&asking).await }.boxed()).await?;
    let uploads = &call.ctx.uploads;
    let (name, source) = match (upload, new) {
        (Some(name), _) => {
            let source = uploads.describe(&call.org, &name).await?;
            (name, source)
        }
        (None, Some(new)) => {
            let source = Source::describe(new.title, ContentType::Text.media_type(), new.text.as_bytes());
            (uploads.put(&call.org, &source, new.text.as_bytes()).await?, source)
        }
        (None, None) => return Err(ApiError::invalid("body", "a JSON object is required")),
    };
    let at = call.at();
    let added = at.run(move |org| async move { org.add_document(&op, name, source).await }.boxed());
    Reply::json_with_status(202, &added.await?)
}

pub(super) async fn list(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    call.ai_ready().await?;
    let query: DocumentQuery = call.params()?;
    Reply::json(&call.at().run(move |org| async move { org.documents(&op, &query).await }.boxed()).await?)
}

pub(super) async fn get(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    call.ai_ready().await?;
    let id = call.id(DocumentId::parse)?;
    Reply::json(&call.at().run(move |org| async move { org.document(&op, &id).await }.boxed()).await?)
}

pub(super) async fn delete(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    call.ai_ready().await?;
    let id = call.id(DocumentId::parse)?;
    Reply::json(&call.at().run(move |org| async move { org.delete_document(&op, &id).await }.boxed()).await?)
}

/// The passages the agent would be given for `query`: the query embedded through the AI
/// gateway, then ranked against the org's own passages only.
pub(super) async fn search(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    call.ai_ready().await?;
    let search: SearchRequest = call.json()?;
    let limit = search.validate()?;
    let chunks = call.at().read(move |org| async move { org.knowledge_reader(&op).await }.boxed()).await?;
    let (query, _) = call.embed(search.query).await?;
    Reply::json(&SearchResults { items: chunks.search(&call.org, &query, limit as usize).await? })
}
