//! The AI gateway's wire: what assist's actors send on `assist.v1.private.<org>.ai.<verb>` and
//! what comes back. The gateway alone talks to the provider; callers know only these shapes.
//!
//! - `embed`: a request with an [`EmbedRequest`], answered once with an [`EmbedReply`].
//! - `chat`: a request with a [`ChatRequest`] whose reply subject receives several messages,
//!   in order: [`ChatEvent`]s, the last a `done`, or an error reply (the envelope's error
//!   headers) at any point.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use super::envelope;
use super::subjects::{self, AiVerb};
use crate::error::{ApiError, Chain};
use crate::ids::OrgId;

/// Texts to embed, in order.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbedRequest {
    pub input: Vec<String>,
}

/// One vector per input text, in the order given.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbedReply {
    pub embeddings: Vec<Vec<f32>>,
    pub usage: Usage,
}

/// Tokens a provider call consumed, as the provider reported them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Self) {
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    System,
    User,
    Assistant,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessage {
    pub role: ChatRole,
    pub content: String,
}

/// A function the model may call; `parameters` is its JSON Schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    pub name: String,
    pub description: String,
    pub parameters: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatRequest {
    pub messages: Vec<ChatMessage>,
    #[serde(default)]
    pub tools: Vec<Tool>,
}

/// One message of a streamed chat answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ChatEvent {
    /// The next piece of the answer's text.
    Delta { text: String },
    /// The model called one of the request's tools, with parsed arguments.
    ToolCall { name: String, arguments: serde_json::Value },
    /// The answer is complete.
    Done { usage: Usage },
}

/// Embeds `input` for `org` through the gateway.
pub async fn embed(
    nats: &async_nats::Client,
    org: &OrgId,
    input: Vec<String>,
    deadline: Duration,
) -> Result<EmbedReply, ApiError> {
    let body = encode(&EmbedRequest { input })?;
    let request = nats.request(subjects::private_ai(org, AiVerb::Embed), body);
    let message = tokio::time::timeout(deadline, request)
        .await
        .map_err(|_| ApiError::unavailable("the AI provider did not answer in time"))?
        .map_err(|err| {
            tracing::warn!(error = %err, "private AI request failed");
            ApiError::unavailable("the AI gateway is unavailable")
        })?;
    let reply = envelope::read_reply(message.headers.as_ref(), message.payload)?;
    crate::model::decode(&reply.body)
}

/// One text's embedding for `org`, and the tokens it cost.
pub async fn embed_one(
    nats: &async_nats::Client,
    org: &OrgId,
    text: String,
    deadline: Duration,
) -> Result<(Vec<f32>, Usage), ApiError> {
    let reply = embed(nats, org, vec![text], deadline).await?;
    let vector = reply.embeddings.into_iter().next();
    let vector =
        vector.ok_or_else(|| ApiError::unavailable("the embedding provider answered without a vector"))?;
    Ok((vector, reply.usage))
}

/// A chat answer for `org`, as it is generated. The stream ends after `done` or the first
/// error; a gap longer than `idle` between two messages ends it with an error.
pub async fn chat(
    nats: &async_nats::Client,
    org: &OrgId,
    request: &ChatRequest,
    idle: Duration,
) -> Result<BoxStream<'static, Result<ChatEvent, ApiError>>, ApiError> {
    let body = encode(request)?;
    let inbox = nats.new_inbox();
    let subscription = nats.subscribe(inbox.clone()).await.map_err(|err| {
        tracing::warn!(error = %err, "could not subscribe for a chat answer");
        ApiError::unavailable("the AI gateway is unavailable")
    })?;
    nats.publish_with_reply(subjects::private_ai(org, AiVerb::Chat), inbox, body).await.map_err(|err| {
        tracing::warn!(error = %err, "could not send a chat request");
        ApiError::unavailable("the AI gateway is unavailable")
    })?;
    let events = futures::stream::unfold(Some(subscription), move |subscription| async move {
        let mut subscription = subscription?;
        let event = match tokio::time::timeout(idle, subscription.next()).await {
            Err(_) => Err(ApiError::unavailable("the AI provider stopped answering")),
            Ok(None) => Err(ApiError::unavailable("the AI gateway went away mid-answer")),
            Ok(Some(message)) => envelope::read_reply(message.headers.as_ref(), message.payload)
                .and_then(|reply| crate::model::decode::<ChatEvent>(&reply.body)),
        };
        let last = !matches!(event, Ok(ChatEvent::Delta { .. } | ChatEvent::ToolCall { .. }));
        Some((event, (!last).then_some(subscription)))
    });
    Ok(events.boxed())
}

fn encode(value: &impl Serialize) -> Result<Bytes, ApiError> {
    serde_json::to_vec(value).map(Bytes::from).map_err(|e| {
        tracing::error!(cause = %Chain(&e), "internal error");
        ApiError::internal()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_events_are_tagged_by_type() {
        let event = ChatEvent::ToolCall { name: "handoff".into(), arguments: serde_json::json!({}) };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json, serde_json::json!({"type": "toolCall", "name": "handoff", "arguments": {}}));
        let done: ChatEvent =
            serde_json::from_str(r#"{"type": "done", "usage": {"inputTokens": 3, "outputTokens": 4}}"#)
                .unwrap();
        assert_eq!(done, ChatEvent::Done { usage: Usage { input_tokens: 3, output_tokens: 4 } });
    }
}
