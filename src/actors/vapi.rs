//! The Vapi gateway: the only place that talks to Vapi. It serves the private subjects
//! (`assist.v1.private.<org>.vapi.<verb>`, closed to outside NATS users), opens the tenant's
//! sealed key only for the call, and relies on the client's timeouts, retries, per-org limit and
//! circuit breaker, so a failing Vapi answers fast and never holds up other tenants.

use async_nats::Message;
use serde::{Deserialize, Serialize};

use super::gateway::{Service, reply};
use crate::actors::org::key_context;
use crate::bus::envelope::Reply;
use crate::bus::subjects::{self, VapiVerb};
use crate::crypto::{MasterKey, Secret};
use crate::db::Repos;
use crate::error::{ApiError, Chain};
use crate::ids::OrgId;
use crate::vapi::VapiClient;

#[derive(Clone)]
pub(crate) struct GatewayArgs {
    pub nats: async_nats::Client,
    pub client: VapiClient,
    pub repos: Repos,
    pub master_key: MasterKey,
}

impl Service for GatewayArgs {
    const NAME: &'static str = "Vapi";
    const QUEUE_GROUP: &'static str = "assist-vapi";

    fn nats(&self) -> &async_nats::Client {
        &self.nats
    }

    fn subject() -> String {
        subjects::private_vapi_any()
    }

    async fn serve(self, message: Message) {
        let Some(reply_to) = message.reply.clone() else { return };
        let result = answer(&self, &message).await;
        reply(&self.nats, reply_to, result).await;
    }
}

/// `{"items": [...]}`, like every list in the API.
#[derive(Serialize)]
struct Items<T> {
    items: Vec<T>,
}

/// The body of a `check-key` request.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CheckKey {
    pub private_api_key: String,
}

async fn answer(args: &GatewayArgs, message: &Message) -> Result<Reply, ApiError> {
    let (org, verb) = subjects::parse_private_vapi(message.subject.as_str())?;
    match verb {
        VapiVerb::CheckKey => {
            let body: CheckKey = crate::model::decode(&message.payload)?;
            args.client.check_key(&org, &Secret::new(body.private_api_key)).await?;
            Reply::json(&serde_json::json!({"valid": true}))
        }
        VapiVerb::Assistants => {
            let key = stored_key(args, &org).await?;
            Reply::json(&Items { items: args.client.assistants(&org, &key).await? })
        }
        VapiVerb::PhoneNumbers => {
            let key = stored_key(args, &org).await?;
            Reply::json(&Items { items: args.client.phone_numbers(&org, &key).await? })
        }
    }
}

async fn stored_key(args: &GatewayArgs, org: &OrgId) -> Result<Secret, ApiError> {
    let plugin = args.repos.plugins().get(org).await?;
    let plugin = plugin.ok_or_else(|| ApiError::not_found("Vapi is not connected for this organization"))?;
    let key = args.master_key.open(&plugin.private_api_key_sealed, &key_context(org))?;
    let key = String::from_utf8(key).map_err(|e| {
        tracing::error!(cause = %Chain(&e), "internal error");
        ApiError::internal()
    })?;
    Ok(Secret::new(key))
}
