//! The widget's operations: anonymous until the end-user has a contact session, then that
//! session's token. The org was checked to be known before any of these runs (`dispatch`).

use futures::FutureExt;

use super::call::Call;
use crate::bus::envelope::Reply;
use crate::error::ApiError;
use crate::ids::ConversationId;
use crate::model::contact_session::NewContactSession;
use crate::model::conversation::{ListQuery, NewMessage};

/// Runs beside a session batch being committed: every widget load reads this.
pub(super) async fn settings(call: Call<'_>) -> Result<Reply, ApiError> {
    Reply::json(&call.at().read(|org| async move { org.public_settings() }.boxed()).await?)
}

pub(super) async fn session_create(call: Call<'_>) -> Result<Reply, ApiError> {
    let new: NewContactSession = call.json()?;
    new.validate()?;
    Reply::json_with_status(201, &call.at().create_session(new).await?)
}

pub(super) async fn session_current(call: Call<'_>) -> Result<Reply, ApiError> {
    let token = call.token()?;
    Reply::json(&call.at().run(move |org| async move { org.current_session(&token).await }.boxed()).await?)
}

pub(super) async fn conversation_create(call: Call<'_>) -> Result<Reply, ApiError> {
    let token = call.token()?;
    call.no_body()?;
    let at = call.at();
    let started = at.run(move |org| async move { org.start_conversation(&token).await }.boxed());
    Reply::json_with_status(201, &started.await?)
}

pub(super) async fn conversations_list(call: Call<'_>) -> Result<Reply, ApiError> {
    let token = call.token()?;
    let query: ListQuery = call.params()?;
    Reply::json(
        &call.at().run(move |org| async move { org.my_conversations(&token, &query).await }.boxed()).await?,
    )
}

pub(super) async fn conversation_get(call: Call<'_>) -> Result<Reply, ApiError> {
    let token = call.token()?;
    let id = call.id(ConversationId::parse)?;
    Reply::json(
        &call.at().run(move |org| async move { org.my_conversation(&token, &id).await }.boxed()).await?,
    )
}

pub(super) async fn messages_create(call: Call<'_>) -> Result<Reply, ApiError> {
    let token = call.token()?;
    let id = call.id(ConversationId::parse)?;
    let message: NewMessage = call.json()?;
    message.validate()?;
    let at = call.at();
    let sent = at.run(move |org| async move { org.send_message(&token, &id, message).await }.boxed());
    Reply::json_with_status(201, &sent.await?)
}

pub(super) async fn messages_list(call: Call<'_>) -> Result<Reply, ApiError> {
    let token = call.token()?;
    let id = call.id(ConversationId::parse)?;
    Reply::json(&call.at().run(move |org| async move { org.my_messages(&token, &id).await }.boxed()).await?)
}

/// The stream is narrowed to the session this answers with.
pub(super) async fn events(call: Call<'_>) -> Result<Reply, ApiError> {
    let token = call.token()?;
    let session = call.at().run(move |org| async move { org.current_session(&token).await }.boxed()).await?;
    Reply::json(&serde_json::json!({"contactSessionId": session.contact_session_id}))
}
