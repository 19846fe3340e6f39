//! The agent's operations: its settings, its usage, drafted replies for operators, and the
//! knowledge search Vapi's assistant makes mid-call.

use bytes::Bytes;
use futures::FutureExt;
use serde::{Deserialize, Serialize};

use super::call::{Call, Context};
use crate::bus::envelope::Reply;
use crate::error::ApiError;
use crate::ids::{ConversationId, OrgId};
use crate::model::agent::{AgentSettings, AiKey};
use crate::model::knowledge::{DEFAULT_HITS, SearchResults};

pub(super) async fn get(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    call.ai_ready().await?;
    Reply::json(&call.at().run(move |org| async move { org.get_agent(&op).await }.boxed()).await?)
}

pub(super) async fn put(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    call.ai_ready().await?;
    let settings: AgentSettings = call.json()?;
    settings.validate()?;
    Reply::json(&call.at().run(move |org| async move { org.put_agent(&op, settings).await }.boxed()).await?)
}

/// Whether the org brings its own AI key; never the key.
pub(super) async fn key_get(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    Reply::json(&call.at().run(move |org| async move { org.ai_key(&op).await }.boxed()).await?)
}

pub(super) async fn key_put(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    let key: AiKey = call.json()?;
    key.validate()?;
    Reply::json(&call.at().run(move |org| async move { org.put_ai_key(&op, key).await }.boxed()).await?)
}

pub(super) async fn key_delete(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    Reply::json(&call.at().run(move |org| async move { org.delete_ai_key(&op).await }.boxed()).await?)
}

pub(super) async fn usage(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    call.ai_ready().await?;
    Reply::json(&call.at().run(move |org| async move { org.agent_usage(&op).await }.boxed()).await?)
}

/// Drafted on the request's task: the actor only hands over the transcript.
pub(super) async fn suggestion(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    call.ai_ready().await?;
    let id = call.id(ConversationId::parse)?;
    call.no_body()?;
    let at = call.at();
    let (transcript, chunks, agent) =
        at.run(move |org| async move { org.draft_inputs(&op, &id).await }.boxed()).await?;
    let (suggestion, usage) = agent.draft(&call.org, &chunks, &transcript).await?;
    at.run(move |org| async move { org.add_usage(usage).await }.boxed()).await?;
    Reply::json(&suggestion)
}

/// What the edge sends once a Vapi `tool-calls` message proved it comes from the org's Vapi.
#[derive(Deserialize, Serialize)]
pub struct VoiceSearch {
    pub query: String,
}

/// Passages for Vapi's `search_knowledge` tool; the edge has checked the org's webhook secret.
pub(super) async fn voice_search(ctx: &Context, org: OrgId, body: &Bytes) -> Result<Reply, ApiError> {
    let search: VoiceSearch = crate::model::decode(body)?;
    let at = ctx.tenants.org(&org);
    super::call::ai_ready(ctx, &at).await?;
    let chunks = at.read(|state| async move { state.voice_knowledge() }.boxed()).await?;
    let (vector, usage) =
        crate::bus::ai::embed_one(&ctx.nats, &org, search.query, ctx.request_timeout).await?;
    let items = chunks.search(&org, &vector, DEFAULT_HITS as usize).await?;
    at.run(move |state| async move { state.add_usage(usage).await }.boxed()).await?;
    Reply::json(&SearchResults { items })
}
