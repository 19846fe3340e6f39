//! What each public endpoint does: authenticate (in this one place, for HTTP and NATS callers
//! alike), decode and validate the input, then ask the org actor.

use async_nats::HeaderMap;
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::envelope::{self, Reply};
use super::subjects::{self, Endpoint, VapiVerb};
use crate::actors::Tenants;
use crate::actors::vapi::CheckKey;
use crate::auth::{Authenticator, Operator};
use crate::error::ApiError;
use crate::ids::{ContactSessionId, ConversationId, OrgId};
use crate::model::contact_session::{NewContactSession, SessionToken};
use crate::model::conversation::{ListQuery, NewMessage, StatusChange};
use crate::model::plugin::VapiKeys;
use crate::model::{self, widget_settings::WidgetSettings};

/// Everything a request handler needs; shared by all endpoint tasks.
#[derive(Clone)]
pub struct Context {
    pub tenants: Tenants,
    pub auth: Authenticator,
    /// For private requests to the Vapi gateway.
    pub nats: async_nats::Client,
    pub request_timeout: std::time::Duration,
}

/// One request as it arrived: headers (credentials, params) and body.
pub(super) struct Input<'a> {
    pub headers: Option<&'a HeaderMap>,
    pub body: &'a Bytes,
}

impl Input<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        envelope::header(self.headers, name)
    }

    /// Path and query parameters, which travel in `Assist-Params` as a URL query string.
    fn params<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let raw = self.header(envelope::PARAMS).unwrap_or("");
        serde_urlencoded::from_str(raw).map_err(|e| ApiError::invalid("query", e))
    }

    fn id<T>(&self, parse: impl Fn(&str) -> Result<T, ApiError>) -> Result<T, ApiError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Id {
            id: String,
        }
        parse(&self.params::<Id>()?.id)
    }

    fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        model::decode(self.body)
    }

    /// Bodies of operations that take none may be absent or `{}`, nothing else.
    fn no_body(&self) -> Result<(), ApiError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Nothing {}
        if self.body.iter().all(u8::is_ascii_whitespace) { Ok(()) } else { self.json::<Nothing>().map(drop) }
    }

    fn token(&self) -> Result<SessionToken, ApiError> {
        SessionToken::parse(self.header(envelope::CONTACT_SESSION))
    }
}

impl Context {
    /// A request to the Vapi gateway on the org's private subject.
    async fn vapi(&self, org: &OrgId, verb: VapiVerb, body: Bytes) -> Result<Reply, ApiError> {
        let request = self.nats.request(subjects::private_vapi(org, verb), body);
        let message = tokio::time::timeout(self.request_timeout, request)
            .await
            .map_err(|_| ApiError::unavailable("Vapi did not answer in time; retry"))?
            .map_err(|err| {
                tracing::warn!(error = %err, "private Vapi request failed");
                ApiError::unavailable("the Vapi gateway is unavailable; retry")
            })?;
        envelope::read_reply(message.headers.as_ref(), message.payload)
    }

    async fn operator(&self, input: &Input<'_>, org: &OrgId) -> Result<Operator, ApiError> {
        self.auth.operator(input.header(envelope::AUTHORIZATION), org).await
    }
}

pub(super) async fn dispatch(
    ctx: &Context,
    endpoint: Endpoint,
    org: OrgId,
    input: Input<'_>,
) -> Result<Reply, ApiError> {
    let at = ctx.tenants.org(&org);
    let conversation = || input.id(ConversationId::parse);
    match endpoint {
        Endpoint::OrgGet => {
            let op = ctx.operator(&input, &org).await?;
            Reply::json(&at.organization(&op).await?)
        }
        Endpoint::SettingsGet => {
            let op = ctx.operator(&input, &org).await?;
            Reply::json(&at.settings(&op).await?)
        }
        Endpoint::SettingsPut => {
            let op = ctx.operator(&input, &org).await?;
            let settings: WidgetSettings = input.json()?;
            settings.validate()?;
            Reply::json(&at.put_settings(&op, settings).await?)
        }
        Endpoint::ConversationsList => {
            let op = ctx.operator(&input, &org).await?;
            Reply::json(&at.conversations(&op, input.params::<ListQuery>()?).await?)
        }
        Endpoint::ConversationGet => {
            let op = ctx.operator(&input, &org).await?;
            Reply::json(&at.conversation(&op, conversation()?).await?)
        }
        Endpoint::ConversationPatch => {
            let op = ctx.operator(&input, &org).await?;
            let id = conversation()?;
            let change: StatusChange = input.json()?;
            Reply::json(&at.set_status(&op, id, change.status).await?)
        }
        Endpoint::MessagesList => {
            let op = ctx.operator(&input, &org).await?;
            Reply::json(&at.messages(&op, conversation()?).await?)
        }
        Endpoint::MessagesCreate => {
            let op = ctx.operator(&input, &org).await?;
            let id = conversation()?;
            let message: NewMessage = input.json()?;
            message.validate()?;
            Reply::json_with_status(201, &at.reply(&op, id, message).await?)
        }
        Endpoint::ContactSessionGet => {
            let op = ctx.operator(&input, &org).await?;
            Reply::json(&at.contact_session(&op, input.id(ContactSessionId::parse)?).await?)
        }
        Endpoint::PluginGet => {
            let op = ctx.operator(&input, &org).await?;
            Reply::json(&at.plugin(&op).await?)
        }
        Endpoint::PluginPut => {
            let op = ctx.operator(&input, &org).await?;
            at.may_connect(&op).await?;
            let keys: VapiKeys = input.json()?;
            keys.validate()?;
            let check = CheckKey { private_api_key: keys.private().expose().to_owned() };
            let check = serde_json::to_vec(&check).map_err(|e| ApiError::internal(&e))?;
            ctx.vapi(&org, VapiVerb::CheckKey, check.into()).await?;
            Reply::json(&at.connect(&op, keys.public_api_key.clone(), keys.private()).await?)
        }
        Endpoint::PluginDelete => {
            let op = ctx.operator(&input, &org).await?;
            Reply::json(&at.disconnect(&op).await?)
        }
        Endpoint::VapiAssistants | Endpoint::VapiPhoneNumbers => {
            let op = ctx.operator(&input, &org).await?;
            at.require_vapi(&op).await?;
            let verb = if endpoint == Endpoint::VapiAssistants {
                VapiVerb::Assistants
            } else {
                VapiVerb::PhoneNumbers
            };
            ctx.vapi(&org, verb, Bytes::new()).await
        }
        Endpoint::EventTicketCreate => {
            let op = ctx.operator(&input, &org).await?;
            Reply::json_with_status(201, &at.create_ticket(&op).await?)
        }
        Endpoint::Events => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Ticket {
                ticket: Option<String>,
            }
            match (input.header(envelope::AUTHORIZATION), input.params::<Ticket>()?.ticket) {
                (None, Some(ticket)) => at.redeem_ticket(ticket).await?,
                _ => drop(ctx.operator(&input, &org).await?),
            }
            Reply::json(&serde_json::json!({"audience": "operators"}))
        }
        Endpoint::WidgetEvents => {
            let session = at.current_session(input.token()?).await?;
            Reply::json(&serde_json::json!({"contactSessionId": session.contact_session_id}))
        }
        Endpoint::WidgetSettings => Reply::json(&at.widget_settings().await?),
        Endpoint::SessionCreate => {
            let new: NewContactSession = input.json()?;
            new.validate()?;
            Reply::json_with_status(201, &at.create_session(new).await?)
        }
        Endpoint::SessionCurrent => Reply::json(&at.current_session(input.token()?).await?),
        Endpoint::WidgetConversationCreate => {
            let token = input.token()?;
            input.no_body()?;
            Reply::json_with_status(201, &at.start_conversation(token).await?)
        }
        Endpoint::WidgetConversationsList => {
            let token = input.token()?;
            Reply::json(&at.my_conversations(token, input.params::<ListQuery>()?).await?)
        }
        Endpoint::WidgetConversationGet => {
            let token = input.token()?;
            Reply::json(&at.my_conversation(token, conversation()?).await?)
        }
        Endpoint::WidgetMessagesCreate => {
            let token = input.token()?;
            let id = conversation()?;
            let message: NewMessage = input.json()?;
            message.validate()?;
            Reply::json_with_status(201, &at.send_message(token, id, message).await?)
        }
        Endpoint::WidgetMessagesList => {
            let token = input.token()?;
            Reply::json(&at.my_messages(token, conversation()?).await?)
        }
    }
}
