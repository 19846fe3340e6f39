//! An organization (tenant) as assist knows it: first seen in an operator's token, kept up to
//! date by Clerk webhooks.

use serde::{Deserialize, Serialize};

use crate::ids::OrgId;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: OrgId,
    pub name: Option<String>,
    pub slug: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// What billing and membership say about an organization, as far as webhooks have told us.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrgFacts {
    pub subscription_status: Option<String>,
    pub member_count: Option<i64>,
}

/// `GET /v1/orgs/{org}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationView {
    #[serde(flatten)]
    pub organization: Organization,
    /// Clerk's subscription status (`active`, `past_due`, …), `none` until billing tells us.
    pub subscription_status: String,
    /// Members known from Clerk; `null` until its webhooks have said.
    pub member_count: Option<i64>,
}

impl OrganizationView {
    pub fn new(organization: Organization, facts: OrgFacts) -> Self {
        Self {
            organization,
            subscription_status: facts.subscription_status.unwrap_or_else(|| "none".into()),
            member_count: facts.member_count,
        }
    }
}
