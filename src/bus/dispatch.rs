//! What each public endpoint does: authenticate (in this one place, for HTTP and NATS callers
//! alike), decode and validate the body, then ask the org actor.

use async_nats::HeaderMap;
use bytes::Bytes;

use super::envelope::{self, Reply};
use super::subjects::Endpoint;
use crate::actors::Tenants;
use crate::auth::{Authenticator, Operator};
use crate::error::ApiError;
use crate::ids::OrgId;
use crate::model::{self, widget_settings::WidgetSettings};

/// Everything a request handler needs; shared by all endpoint tasks.
#[derive(Clone)]
pub struct Context {
    pub tenants: Tenants,
    pub auth: Authenticator,
}

impl Context {
    async fn operator(&self, headers: Option<&HeaderMap>, org: &OrgId) -> Result<Operator, ApiError> {
        self.auth.operator(envelope::header(headers, envelope::AUTHORIZATION), org).await
    }
}

pub(super) async fn dispatch(
    ctx: &Context,
    endpoint: Endpoint,
    org: OrgId,
    headers: Option<&HeaderMap>,
    body: &Bytes,
) -> Result<Reply, ApiError> {
    let org_ops = ctx.tenants.org(&org);
    match endpoint {
        Endpoint::SettingsGet => {
            let operator = ctx.operator(headers, &org).await?;
            Reply::json(&org_ops.settings(&operator).await?)
        }
        Endpoint::SettingsPut => {
            let operator = ctx.operator(headers, &org).await?;
            let settings: WidgetSettings = model::decode(body)?;
            settings.validate()?;
            Reply::json(&org_ops.put_settings(&operator, settings).await?)
        }
        Endpoint::WidgetSettings => Reply::json(&org_ops.widget_settings().await?),
    }
}
