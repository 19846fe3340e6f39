//! The effects of one system event. Org-scoped effects go through the org's actor, the single
//! writer for that org; users are global and written here.

use crate::actors::Tenants;
use crate::actors::org::OrgChange;
use crate::bus::subjects::Source;
use crate::db::{DbError, Repos};
use crate::error::{ApiError, ErrorCode};
use crate::ids::OrgId;
use crate::webhooks::clerk::{self, ClerkEvent};
use crate::webhooks::vapi::{self, VapiEvent};

pub(super) enum Outcome {
    Applied(&'static str),
    Unknown(String),
}

/// Why an event was not applied: a permanent failure will never succeed (dead-letter it now), a
/// transient one may (deliver it again).
pub(super) enum Failure {
    Permanent(ApiError),
    Transient(ApiError),
}

impl From<ApiError> for Failure {
    fn from(err: ApiError) -> Self {
        match err.code {
            ErrorCode::InvalidArgument | ErrorCode::NotFound | ErrorCode::Forbidden => Self::Permanent(err),
            _ => Self::Transient(err),
        }
    }
}

impl From<DbError> for Failure {
    fn from(err: DbError) -> Self {
        Self::Transient(ApiError::from(err))
    }
}

impl Failure {
    pub(super) fn reason(&self) -> &str {
        match self {
            Self::Permanent(e) | Self::Transient(e) => &e.message,
        }
    }
}

/// `org` is the `Assist-Org` header, set for sources whose payload does not name the org (Vapi).
pub(super) async fn apply(
    source: Source,
    org: Option<&str>,
    body: &[u8],
    tenants: &Tenants,
    repos: &Repos,
) -> Result<Outcome, Failure> {
    match source {
        Source::Clerk => apply_clerk(clerk::parse(body).map_err(Failure::Permanent)?, tenants, repos).await,
        Source::Vapi => {
            let org = OrgId::parse(org.unwrap_or_default()).map_err(Failure::Permanent)?;
            match vapi::parse(body).map_err(Failure::Permanent)? {
                VapiEvent::Other { kind } => Ok(Outcome::Unknown(kind)),
                event => {
                    tenants.org(&org).apply(OrgChange::Voice(event)).await?;
                    Ok(Outcome::Applied("vapi"))
                }
            }
        }
    }
}

async fn apply_clerk(event: ClerkEvent, tenants: &Tenants, repos: &Repos) -> Result<Outcome, Failure> {
    let kind = match event {
        ClerkEvent::UserUpserted(user) => {
            repos.directory.upsert_user(&user).await?;
            "user"
        }
        ClerkEvent::UserDeleted { user_id } => {
            repos.directory.delete_user(&user_id).await?;
            "user.deleted"
        }
        ClerkEvent::OrganizationUpserted(org) => {
            let id = org.id.clone();
            tenants.org(&id).apply(OrgChange::Organization(org)).await?;
            "organization"
        }
        ClerkEvent::OrganizationDeleted { org } => {
            tenants.org(&org).apply(OrgChange::OrganizationDeleted).await?;
            tenants.passivate(&org).await?;
            "organization.deleted"
        }
        ClerkEvent::MembershipUpserted(membership) => {
            let org = membership.org.clone();
            tenants.org(&org).apply(OrgChange::Membership(membership)).await?;
            "membership"
        }
        ClerkEvent::MembershipDeleted(membership) => {
            let org = membership.org.clone();
            tenants.org(&org).apply(OrgChange::MembershipDeleted(membership)).await?;
            "membership.deleted"
        }
        ClerkEvent::Subscription(subscription) | ClerkEvent::SubscriptionItem(subscription) => {
            // A subscription paid by a user rather than an organization is not ours to track.
            if let Some(org) = subscription.org.clone() {
                tenants.org(&org).apply(OrgChange::Subscription(subscription)).await?;
            }
            "subscription"
        }
        ClerkEvent::Unknown { kind } => return Ok(Outcome::Unknown(kind)),
    };
    Ok(Outcome::Applied(kind))
}
