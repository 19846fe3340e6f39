//! The effects of one system event. Users are global and written by ingest on whichever node
//! took the event; org-scoped effects belong to the org's single writer, its actor, which may
//! live on another node: ingest hands the raw event to the org's owner over
//! `assist.v1.owner.<org>.apply` (partitioned like public requests), and the owner reads the
//! org's change out of it again ([`apply_owned`]).

use std::time::Duration;

use async_nats::HeaderMap;

use crate::actors::Tenants;
use crate::actors::org::OrgChange;
use crate::bus::subjects::{self, OwnerVerb, Source};
use crate::bus::system::ORG;
use crate::db::{DbError, Repos};
use crate::error::{ApiError, ErrorCode};
use crate::ids::OrgId;
use crate::webhooks::clerk::{self, ClerkEvent};
use crate::webhooks::vapi::{self, VapiEvent};

/// Names the source of an event handed to its org's owner.
const SOURCE: &str = "Assist-Source";

pub(super) enum Outcome {
    Applied(&'static str),
    Unknown(String),
}

impl Outcome {
    /// The event's kind, as its `webhook_events` record names it.
    pub(super) fn kind(&self) -> &str {
        match self {
            Self::Applied(kind) => kind,
            Self::Unknown(kind) => kind,
        }
    }
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

/// Where ingest sends org-scoped events, and how long it keeps trying while an org is between
/// owners.
#[derive(Clone)]
pub(crate) struct Owners {
    pub nats: async_nats::Client,
    pub deadline: Duration,
}

impl Owners {
    async fn apply(&self, org: &OrgId, source: Source, body: &[u8]) -> Result<(), Failure> {
        let mut headers = HeaderMap::new();
        headers.insert(SOURCE, source.as_str());
        headers.insert(ORG, org.as_str());
        let subject = subjects::owner(org, OwnerVerb::Apply);
        crate::bus::request(&self.nats, subject, headers, body.to_vec().into(), self.deadline).await?;
        Ok(())
    }
}

/// `org` is the `Assist-Org` header, set for sources whose payload does not name the org (Vapi).
pub(super) async fn apply(
    source: Source,
    org: Option<&str>,
    body: &[u8],
    owners: &Owners,
    repos: &Repos,
) -> Result<Outcome, Failure> {
    match source {
        Source::Clerk => {
            let event = clerk::parse(body).map_err(Failure::Permanent)?;
            let kind = kind_of(&event);
            match event {
                ClerkEvent::UserUpserted(user) => repos.directory().upsert_user(&user.record()).await?,
                ClerkEvent::UserDeleted { user_id } => repos.directory().delete_user(&user_id).await?,
                ClerkEvent::Unknown { kind } => return Ok(Outcome::Unknown(kind)),
                event => {
                    if let Some((org, _)) = org_change(event) {
                        owners.apply(&org, source, body).await?;
                    }
                }
            }
            Ok(Outcome::Applied(kind))
        }
        Source::Vapi => {
            let org = OrgId::parse(org.unwrap_or_default()).map_err(Failure::Permanent)?;
            match vapi::parse(body).map_err(Failure::Permanent)? {
                VapiEvent::Other { kind } => Ok(Outcome::Unknown(kind)),
                _ => {
                    owners.apply(&org, source, body).await?;
                    Ok(Outcome::Applied("vapi"))
                }
            }
        }
    }
}

/// On the org's owner: applies the org's change of an event ingest handed over.
pub(crate) async fn apply_owned(
    tenants: &Tenants,
    org: &OrgId,
    headers: Option<&HeaderMap>,
    body: &[u8],
) -> Result<(), ApiError> {
    let header = |name| crate::bus::envelope::header(headers, name).unwrap_or_default();
    let change = match header(SOURCE) {
        "clerk" => org_change(clerk::parse(body)?).filter(|(of, _)| of == org).map(|(_, change)| change),
        "vapi" if header(ORG) == org.as_str() => Some(OrgChange::Voice(vapi::parse(body)?)),
        other => return Err(ApiError::invalid(SOURCE, format!("not an org-scoped event source: {other:?}"))),
    };
    let change = change.ok_or_else(|| ApiError::invalid("body", format!("the event is not about {org}")))?;
    let deleted = matches!(change, OrgChange::OrganizationDeleted);
    tenants.org(org).apply(change).await?;
    if deleted {
        tenants.passivate(org).await?;
    }
    Ok(())
}

/// The events that must be applied in order with this one: the same org's; everything that is
/// not about one org shares one lane.
pub(super) fn lane(org_header: Option<&str>, body: &[u8]) -> String {
    if let Some(org) = org_header {
        return format!("org:{org}");
    }
    match clerk::parse(body).ok().and_then(org_change) {
        Some((org, _)) => format!("org:{org}"),
        None => "other".to_owned(),
    }
}

/// The org an event is about and what it changes there; `None` for a subscription paid by a
/// user rather than an organization, which is not ours to track.
fn org_change(event: ClerkEvent) -> Option<(OrgId, OrgChange)> {
    match event {
        ClerkEvent::OrganizationUpserted(org) => Some((org.id.clone(), OrgChange::Organization(org))),
        ClerkEvent::OrganizationDeleted { org } => Some((org, OrgChange::OrganizationDeleted)),
        ClerkEvent::MembershipUpserted(m) => Some((m.org.clone(), OrgChange::Membership(m))),
        ClerkEvent::MembershipDeleted(m) => Some((m.org.clone(), OrgChange::MembershipDeleted(m))),
        ClerkEvent::Subscription(s) | ClerkEvent::SubscriptionItem(s) => {
            s.org.clone().map(|org| (org, OrgChange::Subscription(s)))
        }
        ClerkEvent::UserUpserted(_) | ClerkEvent::UserDeleted { .. } | ClerkEvent::Unknown { .. } => None,
    }
}

fn kind_of(event: &ClerkEvent) -> &'static str {
    match event {
        ClerkEvent::UserUpserted(_) => "user",
        ClerkEvent::UserDeleted { .. } => "user.deleted",
        ClerkEvent::OrganizationUpserted(_) => "organization",
        ClerkEvent::OrganizationDeleted { .. } => "organization.deleted",
        ClerkEvent::MembershipUpserted(_) => "membership",
        ClerkEvent::MembershipDeleted(_) => "membership.deleted",
        ClerkEvent::Subscription(_) | ClerkEvent::SubscriptionItem(_) => "subscription",
        ClerkEvent::Unknown { .. } => "unknown",
    }
}
