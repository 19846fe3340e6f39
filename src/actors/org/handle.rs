use crate::actors::Tenants;
use crate::auth::Operator;
use crate::error::ApiError;
use crate::ids::OrgId;
use crate::model::widget_settings::{PublicSettings, WidgetSettings};

use super::OrgMsg;

/// One organization's operations. Every call is routed to the org's actor (activating it when
/// needed) and bounded by the tenants' call timeout.
pub struct Org<'a> {
    pub(crate) tenants: &'a Tenants,
    pub(crate) id: &'a OrgId,
}

impl Org<'_> {
    pub async fn settings(&self, operator: &Operator) -> Result<WidgetSettings, ApiError> {
        self.tenants.ask(self.id, |reply| OrgMsg::GetSettings(operator.clone(), reply)).await
    }

    pub async fn put_settings(
        &self,
        operator: &Operator,
        settings: WidgetSettings,
    ) -> Result<WidgetSettings, ApiError> {
        self.tenants
            .ask(self.id, |reply| OrgMsg::PutSettings(operator.clone(), settings.clone(), reply))
            .await
    }

    pub async fn widget_settings(&self) -> Result<PublicSettings, ApiError> {
        self.tenants.ask(self.id, OrgMsg::WidgetSettings).await
    }
}
