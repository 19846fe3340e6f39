//! Seeding an organization locally, for `assist serve --demo`: the org actor stays the only
//! writer, so a seed is ordered with every other request to the same organization.

use super::state::OrgState;
use crate::error::ApiError;
use crate::model::widget_settings::WidgetSettings;

impl OrgState {
    /// Records the organization (as an operator's first request would) and replaces its widget
    /// settings; answered after both writes are committed.
    pub(super) async fn seed(&mut self, settings: WidgetSettings) -> Result<(), ApiError> {
        self.organization = Some(Box::new(self.repos.organizations().ensure(&self.org).await?));
        self.repos.widget_settings().put(&self.org, &settings).await?;
        tracing::info!(org = %self.org, "organization seeded");
        self.settings = Some(Box::new(settings));
        self.emit_public_settings().await;
        Ok(())
    }
}
