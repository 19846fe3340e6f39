//! The org actor's organization and widget-settings operations.

use super::state::OrgState;
use crate::auth::Operator;
use crate::error::ApiError;
use crate::ids::OrgId;
use crate::model::organization::OrganizationView;
use crate::model::widget_settings::{PublicSettings, WidgetSettings};

/// What anonymous callers of an org nobody made known (or deleted in Clerk) get, whether the
/// gate before its actor or the actor itself finds it unknown.
pub(super) fn unknown(org: &OrgId) -> ApiError {
    ApiError::not_found(format!("organization {org} is not known to assist"))
}

impl OrgState {
    /// An operator with a verified token for this org proves it exists, even before Clerk's
    /// webhook tells us. Every operator operation starts here.
    pub(super) async fn first_sight(&mut self, operator: &Operator) -> Result<(), ApiError> {
        if self.organization.is_none() {
            tracing::info!(org = %self.org, user = %operator.user_id, "organization first seen");
            self.organization = Some(Box::new(self.repos.organizations().ensure(&self.org).await?));
        }
        Ok(())
    }

    /// Unknown to assist (never seen, or deleted in Clerk): what anonymous callers get.
    pub(super) fn require_known(&self) -> Result<(), ApiError> {
        match self.organization {
            Some(_) => Ok(()),
            None => Err(unknown(&self.org)),
        }
    }

    fn settings_or_default(&self) -> WidgetSettings {
        self.settings.as_deref().cloned().unwrap_or_default()
    }

    pub(crate) async fn settings(&mut self, operator: &Operator) -> Result<WidgetSettings, ApiError> {
        self.first_sight(operator).await?;
        Ok(self.settings_or_default())
    }

    pub(crate) async fn put_settings(
        &mut self,
        operator: &Operator,
        settings: WidgetSettings,
    ) -> Result<WidgetSettings, ApiError> {
        self.first_sight(operator).await?;
        self.repos.widget_settings().put(&self.org, &settings).await?;
        tracing::info!(org = %self.org, user = %operator.user_id, "widget settings replaced");
        self.settings = Some(Box::new(settings.clone()));
        self.emit_public_settings().await;
        Ok(settings)
    }

    pub(crate) fn public_settings(&self) -> Result<PublicSettings, ApiError> {
        self.require_known()?;
        let settings = self.settings_or_default();
        let mut public = PublicSettings::new(self.org.clone(), &settings);
        if let Some((public_key, assistant)) = self.voice(settings.assistant_id.as_ref()) {
            public.voice_enabled = true;
            public.vapi_public_key = Some(public_key);
            public.assistant_id = Some(assistant);
        }
        Ok(public)
    }

    pub(crate) async fn organization_view(
        &mut self,
        operator: &Operator,
    ) -> Result<OrganizationView, ApiError> {
        self.first_sight(operator).await?;
        let organization =
            self.organization.as_deref().cloned().ok_or_else(|| ApiError::not_found("organization"))?;
        let facts = self.repos.organizations().facts(&self.org).await?;
        Ok(OrganizationView::new(organization, facts))
    }
}
