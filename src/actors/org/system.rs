//! What Clerk's webhooks change in an organization, applied by its actor like any other write.
//! Every change is idempotent: ingest may deliver an event more than once.

use super::state::OrgState;
use crate::bus::events::Audience;
use crate::error::ApiError;
use crate::webhooks::clerk::{ClerkMembership, ClerkOrganization, ClerkSubscription, SubscriptionStatus};
use crate::webhooks::vapi::VapiEvent;

/// One org-scoped effect of a Clerk event.
#[derive(Clone, Debug)]
pub enum OrgChange {
    Organization(ClerkOrganization),
    OrganizationDeleted,
    Membership(ClerkMembership),
    MembershipDeleted(ClerkMembership),
    Subscription(ClerkSubscription),
    /// A Vapi server message about one of the org's calls.
    Voice(VapiEvent),
}

impl OrgState {
    pub(super) async fn apply(&mut self, change: OrgChange) -> Result<(), ApiError> {
        match change {
            OrgChange::Organization(org) => {
                if org.id != self.org {
                    return Err(ApiError::invalid("data.id", format!("the event is not about {}", self.org)));
                }
                self.organization =
                    self.repos.organizations().upsert_from_clerk(&org.record()).await?.map(Box::new);
                if let Some(organization) = &self.organization {
                    self.emit("organization", "updated", Audience::Operators, organization).await;
                }
            }
            OrgChange::OrganizationDeleted => {
                self.repos.organizations().mark_deleted(&self.org).await?;
                self.organization = None;
                self.emit(
                    "organization",
                    "deleted",
                    Audience::Operators,
                    &serde_json::json!({"id": self.org}),
                )
                .await;
            }
            OrgChange::Membership(membership) => {
                self.repos.directory().upsert_membership(&membership.record()).await?
            }
            OrgChange::MembershipDeleted(membership) => {
                self.repos.directory().delete_membership(&membership.record()).await?
            }
            OrgChange::Voice(event) => self.apply_voice(event).await?,
            OrgChange::Subscription(subscription) => {
                let recorded =
                    self.repos.directory().upsert_subscription(&self.org, &subscription.record()).await?;
                self.subscription_active = SubscriptionStatus::pays(recorded.newest.as_deref());
                let status = serde_json::json!({"id": subscription.id, "status": recorded.status});
                self.emit("subscription", "updated", Audience::Operators, &status).await;
                self.emit_public_settings().await;
            }
        }
        Ok(())
    }
}
