//! The dashboard's operations: an operator of the org, proven by a Clerk session JWT, then the
//! org actor's answer.

use bytes::Bytes;
use futures::FutureExt;
use serde::Deserialize;

use super::call::Call;
use crate::actors::org::Refusal;
use crate::actors::vapi::CheckKey;
use crate::bus::envelope::{self, Reply};
use crate::bus::subjects::VapiVerb;
use crate::error::{ApiError, Chain};
use crate::faults::Fault;
use crate::ids::{ContactSessionId, ConversationId};
use crate::model::conversation::{ConversationChange, ListQuery, NewMessage};
use crate::model::plugin::VapiKeys;
use crate::model::widget_settings::WidgetSettings;

pub(super) async fn org_get(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    Reply::json(&call.at().run(move |org| async move { org.organization_view(&op).await }.boxed()).await?)
}

pub(super) async fn settings_get(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    Reply::json(&call.at().run(move |org| async move { org.settings(&op).await }.boxed()).await?)
}

pub(super) async fn settings_put(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    let settings: WidgetSettings = call.json()?;
    settings.validate()?;
    let id = call.org.clone();
    let at = call.at();
    let saved = at.run(move |org| {
        async move {
            let saved = org.put_settings(&op, settings).await;
            if crate::faults::fires(Fault::PanicAfterWrite, id.as_str()) {
                panic!("injected fault: org actor {id} panics after a committed write");
            }
            saved
        }
        .boxed()
    });
    Reply::json(&saved.await?)
}

pub(super) async fn conversations_list(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    let query: ListQuery = call.params()?;
    Reply::json(
        &call.at().run(move |org| async move { org.list_conversations(&op, &query).await }.boxed()).await?,
    )
}

pub(super) async fn conversation_get(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    let id = call.id(ConversationId::parse)?;
    Reply::json(
        &call.at().run(move |org| async move { org.conversation_detail(&op, &id).await }.boxed()).await?,
    )
}

pub(super) async fn conversation_patch(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    let id = call.id(ConversationId::parse)?;
    let change: ConversationChange = call.json()?;
    Reply::json(&call.at().run(move |org| async move { org.change(&op, &id, change).await }.boxed()).await?)
}

pub(super) async fn messages_list(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    let id = call.id(ConversationId::parse)?;
    Reply::json(
        &call.at().run(move |org| async move { org.operator_messages(&op, &id).await }.boxed()).await?,
    )
}

pub(super) async fn messages_create(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    let id = call.id(ConversationId::parse)?;
    let message: NewMessage = call.json()?;
    message.validate()?;
    let at = call.at();
    let sent = at.run(move |org| async move { org.operator_reply(&op, &id, message).await }.boxed());
    Reply::json_with_status(201, &sent.await?)
}

pub(super) async fn contact_session_get(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    let id = call.id(ContactSessionId::parse)?;
    Reply::json(&call.at().run(move |org| async move { org.contact_session(&op, &id).await }.boxed()).await?)
}

pub(super) async fn plugin_get(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    Reply::json(&call.at().run(move |org| async move { org.get_plugin(&op).await }.boxed()).await?)
}

/// The key is checked with Vapi (by the gateway, outside the actor) before it is stored.
pub(super) async fn plugin_put(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    // The body is checked first: a malformed request is refused as such (400) whatever the
    // org's role or subscription, as the document says.
    let keys: VapiKeys = call.json()?;
    keys.validate()?;
    let asking = op.clone();
    call.at().run(move |org| async move { org.may_connect(&asking).await }.boxed()).await?;
    let check = CheckKey { private_api_key: keys.private().expose().to_owned() };
    let check = serde_json::to_vec(&check).map_err(|e| {
        tracing::error!(cause = %Chain(&e), "internal error");
        ApiError::internal()
    })?;
    call.vapi(VapiVerb::CheckKey, check.into()).await?;
    let (public, private) = (keys.public_api_key.clone(), keys.private());
    Reply::json(
        &call.at().run(move |org| async move { org.connect(&op, public, private).await }.boxed()).await?,
    )
}

pub(super) async fn plugin_delete(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    Reply::json(&call.at().run(move |org| async move { org.disconnect(&op).await }.boxed()).await?)
}

pub(super) async fn vapi_assistants(call: Call<'_>) -> Result<Reply, ApiError> {
    vapi_listing(call, VapiVerb::Assistants).await
}

pub(super) async fn vapi_phone_numbers(call: Call<'_>) -> Result<Reply, ApiError> {
    vapi_listing(call, VapiVerb::PhoneNumbers).await
}

/// Any member may list once Vapi is connected; the gateway asks Vapi with the stored key.
async fn vapi_listing(call: Call<'_>, verb: VapiVerb) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    call.at().run(move |org| async move { org.require_vapi(&op).await }.boxed()).await?;
    call.vapi(verb, Bytes::new()).await
}

pub(super) async fn event_ticket_create(call: Call<'_>) -> Result<Reply, ApiError> {
    let op = call.operator().await?;
    Reply::json_with_status(
        201,
        &call.at().run(move |org| async move { org.create_ticket(&op).await }.boxed()).await?,
    )
}

/// A browser's EventSource cannot send a JWT, so it may bring a ticket instead.
pub(super) async fn events(call: Call<'_>) -> Result<Reply, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Ticket {
        ticket: Option<String>,
    }
    match (call.header(envelope::AUTHORIZATION), call.params::<Ticket>()?.ticket) {
        (None, Some(ticket)) => {
            call.at().gate(Refusal::Ticket).await?;
            call.at().run(move |org| async move { org.redeem_ticket(&ticket) }.boxed()).await?;
        }
        _ => drop(call.operator().await?),
    }
    Reply::json(&serde_json::json!({"audience": "operators"}))
}
