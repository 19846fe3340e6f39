//! What an operation's handler works with: the node's context and one request (headers with the
//! credentials and parameters, and the body), read the same way whichever door it came in by.

use async_nats::HeaderMap;
use bytes::Bytes;
use futures::FutureExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::actors::Tenants;
use crate::actors::org::Org;
use crate::auth::{Authenticator, Operator};
use crate::bus::ai::Usage;
use crate::bus::envelope::{self, Reply};
use crate::bus::subjects::{self, VapiVerb};
use crate::bus::uploads::Uploads;
use crate::error::ApiError;
use crate::ids::OrgId;
use crate::model;
use crate::model::contact_session::SessionToken;

/// Everything a request handler needs; shared by all endpoint tasks.
#[derive(Clone)]
pub struct Context {
    pub tenants: Tenants,
    pub auth: Authenticator,
    /// For private requests to the Vapi and AI gateways.
    pub nats: async_nats::Client,
    /// Knowledge-base sources waiting to be read.
    pub uploads: Uploads,
    /// The setting the AI provider still needs (its API key), if any: knowledge and agent
    /// routes answer 503 naming it.
    pub ai_missing: Option<&'static str>,
    pub request_timeout: std::time::Duration,
}

/// One request as it arrived: headers (credentials, params) and body.
pub(crate) struct Input<'a> {
    pub headers: Option<&'a HeaderMap>,
    pub body: &'a Bytes,
}

/// One request for one org, as its operation's handler sees it.
pub(crate) struct Call<'a> {
    pub ctx: &'a Context,
    pub org: OrgId,
    pub input: Input<'a>,
}

impl Call<'_> {
    /// The org's actor, through the tenants handle.
    pub fn at(&self) -> Org<'_> {
        self.ctx.tenants.org(&self.org)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        envelope::header(self.input.headers, name)
    }

    /// Path and query parameters, which travel in `Assist-Params` as a URL query string.
    pub fn params<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let raw = self.header(envelope::PARAMS).unwrap_or("");
        serde_urlencoded::from_str(raw).map_err(|e| ApiError::invalid("query", e))
    }

    /// The `{id}` of the route.
    pub fn id<T>(&self, parse: impl Fn(&str) -> Result<T, ApiError>) -> Result<T, ApiError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Id {
            id: String,
        }
        parse(&self.params::<Id>()?.id)
    }

    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        model::decode(self.input.body)
    }

    /// Bodies of operations that take none may be absent or `{}`, nothing else.
    pub fn no_body(&self) -> Result<(), ApiError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Nothing {}
        if self.input.body.iter().all(u8::is_ascii_whitespace) {
            Ok(())
        } else {
            self.json::<Nothing>().map(drop)
        }
    }

    /// The contact session token of `X-Contact-Session`.
    pub fn token(&self) -> Result<SessionToken, ApiError> {
        SessionToken::parse(self.header(envelope::CONTACT_SESSION))
    }

    /// The caller as an operator of this org (`Authorization`).
    pub async fn operator(&self) -> Result<Operator, ApiError> {
        self.ctx.auth.operator(self.header(envelope::AUTHORIZATION), &self.org).await
    }

    /// Refuses while neither the deployment nor the org has a key for the AI provider. Asked
    /// after the caller is authenticated: an unknown caller never wakes an org.
    pub async fn ai_ready(&self) -> Result<(), ApiError> {
        ai_ready(self.ctx, &self.at()).await
    }

    /// One text's embedding (and its cost), through the AI gateway on the org's private subject.
    pub async fn embed(&self, text: String) -> Result<(Vec<f32>, Usage), ApiError> {
        crate::bus::ai::embed_one(&self.ctx.nats, &self.org, text, self.ctx.request_timeout).await
    }

    /// A request to the Vapi gateway on the org's private subject.
    pub async fn vapi(&self, verb: VapiVerb, body: Bytes) -> Result<Reply, ApiError> {
        let request = self.ctx.nats.request(subjects::private_vapi(&self.org, verb), body);
        let message = tokio::time::timeout(self.ctx.request_timeout, request)
            .await
            .map_err(|_| ApiError::unavailable("Vapi did not answer in time; retry"))?
            .map_err(|err| {
                tracing::warn!(error = %err, "private Vapi request failed");
                ApiError::unavailable("the Vapi gateway is unavailable; retry")
            })?;
        envelope::read_reply(message.headers.as_ref(), message.payload)
    }
}

/// Whether the org's AI calls have a key: the deployment's, or the org's own.
pub(super) async fn ai_ready(ctx: &Context, org: &Org<'_>) -> Result<(), ApiError> {
    let Some(setting) = ctx.ai_missing else { return Ok(()) };
    if org.read(|state| async move { state.has_ai_key().await }.boxed()).await? {
        return Ok(());
    }
    Err(ApiError::unavailable(format!(
        "the knowledge base and the agent need an AI provider: set {setting}, or the organization's own key"
    )))
}
