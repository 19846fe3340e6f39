//! The Vapi gateway: the only place that talks to Vapi. It serves the private subjects
//! (`assist.v1.private.<org>.vapi.<verb>`, closed to outside NATS users), opens the tenant's
//! sealed key only for the call, and relies on the client's timeouts, retries, per-org limit and
//! circuit breaker, so a failing Vapi answers fast and never holds up other tenants.

use async_nats::{Message, Subscriber};
use futures::StreamExt;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::actors::org::key_context;
use crate::bus::envelope::{self, Reply};
use crate::bus::subjects::{self, VapiVerb};
use crate::crypto::{MasterKey, Secret};
use crate::db::Repos;
use crate::error::{ApiError, Chain};
use crate::ids::OrgId;
use crate::vapi::VapiClient;

const QUEUE_GROUP: &str = "assist-vapi";

pub(crate) struct VapiGateway;

#[derive(Clone)]
pub(crate) struct GatewayArgs {
    pub nats: async_nats::Client,
    pub client: VapiClient,
    pub repos: Repos,
    pub master_key: MasterKey,
}

pub(crate) struct GatewayState {
    reader: JoinHandle<()>,
}

pub(crate) enum GatewayMsg {
    /// A private request arrived; it is served on a task of its own.
    Request(Message),
    /// The subscription ended (NATS closed it): fail, so root restarts the gateway.
    Closed,
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

impl Actor for VapiGateway {
    type Msg = GatewayMsg;
    type State = (GatewayArgs, GatewayState);
    type Arguments = GatewayArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<GatewayMsg>,
        args: GatewayArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        let subscription =
            args.nats.queue_subscribe(subjects::private_vapi_any(), QUEUE_GROUP.into()).await?;
        let reader = tokio::spawn(read(subscription, myself));
        Ok((args, GatewayState { reader }))
    }

    async fn post_stop(
        &self,
        _: ActorRef<GatewayMsg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.1.reader.abort();
        Ok(())
    }

    async fn handle(
        &self,
        _: ActorRef<GatewayMsg>,
        msg: GatewayMsg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            GatewayMsg::Request(message) => {
                tokio::spawn(serve(state.0.clone(), message));
                Ok(())
            }
            GatewayMsg::Closed => Err("the private Vapi subscription closed".into()),
        }
    }
}

async fn read(mut subscription: Subscriber, gateway: ActorRef<GatewayMsg>) {
    while let Some(message) = subscription.next().await {
        if gateway.send_message(GatewayMsg::Request(message)).is_err() {
            return;
        }
    }
    let _ = gateway.send_message(GatewayMsg::Closed);
}

async fn serve(args: GatewayArgs, message: Message) {
    let Some(reply_to) = message.reply.clone() else { return };
    let result = answer(&args, &message).await;
    let (headers, body) = match result {
        Ok(reply) => (reply.headers(), reply.body),
        Err(err) => (envelope::error_headers(&err), bytes::Bytes::new()),
    };
    if let Err(err) = args.nats.publish_with_headers(reply_to, headers, body).await {
        tracing::warn!(error = %err, "vapi gateway: could not reply");
    }
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
