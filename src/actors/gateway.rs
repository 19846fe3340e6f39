//! The shape every gateway to an outside provider shares (Vapi, the AI provider): a queue
//! subscription to its private subjects, each request served on a task of its own so a slow
//! provider call never holds up the next request, and a failure when NATS closes the
//! subscription, so root restarts it.

use std::marker::PhantomData;

use async_nats::{Message, Subscriber};
use futures::StreamExt;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::task::JoinHandle;

use crate::bus::envelope::{self, Reply};
use crate::error::ApiError;

/// What a gateway serves; its value is cloned into every request's task.
pub(crate) trait Service: Clone + Send + Sync + 'static {
    /// For the failure root logs.
    const NAME: &'static str;
    const QUEUE_GROUP: &'static str;

    fn nats(&self) -> &async_nats::Client;

    /// Every subject it serves (a wildcard).
    fn subject() -> String;

    /// Answers one request (on its reply subject, once or several times).
    fn serve(self, message: Message) -> impl Future<Output = ()> + Send;
}

pub(crate) struct Gateway<S>(PhantomData<fn() -> S>);

impl<S> Gateway<S> {
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

pub(crate) enum GatewayMsg {
    /// A private request arrived; it is served on a task of its own.
    Request(Message),
    /// The subscription ended (NATS closed it): fail, so root restarts the gateway.
    Closed,
}

impl<S: Service> Actor for Gateway<S> {
    type Msg = GatewayMsg;
    type State = (S, JoinHandle<()>);
    type Arguments = S;

    async fn pre_start(
        &self,
        myself: ActorRef<GatewayMsg>,
        service: S,
    ) -> Result<Self::State, ActorProcessingErr> {
        let subscription = service.nats().queue_subscribe(S::subject(), S::QUEUE_GROUP.into()).await?;
        let reader = tokio::spawn(read(subscription, myself));
        Ok((service, reader))
    }

    async fn post_stop(
        &self,
        _: ActorRef<GatewayMsg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.1.abort();
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
                tokio::spawn(state.0.clone().serve(message));
                Ok(())
            }
            GatewayMsg::Closed => Err(format!("the private {} subscription closed", S::NAME).into()),
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

/// Sends one reply: a success with its status, or the error in the envelope's headers.
pub(crate) async fn reply(
    nats: &async_nats::Client,
    to: async_nats::Subject,
    result: Result<Reply, ApiError>,
) {
    let (headers, body) = match result {
        Ok(reply) => (reply.headers(), reply.body),
        Err(err) => (envelope::error_headers(&err), bytes::Bytes::new()),
    };
    if let Err(err) = nats.publish_with_headers(to, headers, body).await {
        tracing::warn!(error = %err, "gateway: could not reply");
    }
}
