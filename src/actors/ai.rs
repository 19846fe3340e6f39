//! The AI gateway: the only place that talks to the AI provider. It serves the private subjects
//! `assist.v1.private.<org>.ai.<verb>` (closed to outside NATS users) for assist's own actors,
//! with the deployment's key, and relies on the client's timeouts, retries, per-org limit and
//! circuit breaker, so a failing provider answers fast and never holds up other tenants.
//!
//! `embed` is answered once. `chat` sends each [`ChatEvent`] to the reply subject as it is
//! generated, in order, the last a `done`, or an error reply that ends the answer.

use async_nats::{Message, Subject};
use futures::StreamExt;

use super::gateway::{Service, reply};
use crate::actors::org::ai_key_context;
use crate::ai::AiClient;
use crate::bus::ai::{ChatEvent, ChatRequest, EmbedRequest};
use crate::bus::envelope::Reply;
use crate::bus::subjects::{self, AiVerb};
use crate::crypto::{MasterKey, Secret};
use crate::db::Repos;
use crate::error::{ApiError, Chain};
use crate::ids::OrgId;

#[derive(Clone)]
pub(crate) struct AiGatewayArgs {
    pub nats: async_nats::Client,
    pub client: AiClient,
    /// Where an org's own key is kept, and the key that opens it.
    pub repos: Repos,
    pub master_key: MasterKey,
}

impl Service for AiGatewayArgs {
    const NAME: &'static str = "AI";
    const QUEUE_GROUP: &'static str = "assist-ai";

    fn nats(&self) -> &async_nats::Client {
        &self.nats
    }

    fn subject() -> String {
        subjects::private_ai_any()
    }

    async fn serve(self, message: Message) {
        let Some(reply_to) = message.reply.clone() else { return };
        match subjects::parse_private_ai(message.subject.as_str()) {
            Err(err) => reply(&self.nats, reply_to, Err(err)).await,
            Ok((org, AiVerb::Embed)) => {
                let result = embed(&self, &org, &message.payload).await;
                reply(&self.nats, reply_to, result).await;
            }
            Ok((org, AiVerb::Chat)) => chat(&self, &org, &message.payload, reply_to).await,
        }
    }
}

async fn embed(args: &AiGatewayArgs, org: &OrgId, payload: &[u8]) -> Result<Reply, ApiError> {
    let request: EmbedRequest = crate::model::decode(payload)?;
    let own = own_key(args, org).await?;
    Reply::json(&args.client.embed(org, own.as_ref(), &request.input).await?)
}

/// The org's own key, opened only for the call; `None` when it uses the deployment's.
async fn own_key(args: &AiGatewayArgs, org: &OrgId) -> Result<Option<Secret>, ApiError> {
    let Some(stored) = args.repos.agents().ai_key(org).await? else { return Ok(None) };
    let key = args.master_key.open(&stored.key_sealed, &ai_key_context(org))?;
    let key = String::from_utf8(key).map_err(|e| {
        tracing::error!(cause = %Chain(&e), "internal error");
        ApiError::internal()
    })?;
    Ok(Some(Secret::new(key)))
}

/// Streams the answer to `to`; stops at the first error, which is sent as the last message.
async fn chat(args: &AiGatewayArgs, org: &OrgId, payload: &[u8], to: Subject) {
    let request: ChatRequest = match crate::model::decode(payload) {
        Ok(request) => request,
        Err(err) => return reply(&args.nats, to, Err(err)).await,
    };
    let own = match own_key(args, org).await {
        Ok(own) => own,
        Err(err) => return reply(&args.nats, to, Err(err)).await,
    };
    let mut events = match args.client.chat(org, own.as_ref(), &request).await {
        Ok(events) => events,
        Err(err) => return reply(&args.nats, to, Err(err.into())).await,
    };
    while let Some(event) = events.next().await {
        let last = !matches!(event, Ok(ChatEvent::Delta { .. } | ChatEvent::ToolCall { .. }));
        let message = event.map_err(ApiError::from).and_then(|event| Reply::json(&event));
        reply(&args.nats, to.clone(), message).await;
        if last {
            return;
        }
    }
}
