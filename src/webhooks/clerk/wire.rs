//! What Clerk sends, field for field as far as assist reads it, and how each shape becomes the
//! public type. Kept apart from the public types so Clerk's spelling (`public_user_data.user_id`,
//! `payer.organization_id`) stays in one file.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{ClerkMembership, ClerkOrganization, ClerkSubscription, ClerkUser, SubscriptionStatus};
use crate::error::ApiError;
use crate::ids::OrgId;
use crate::webhooks::{decode, non_empty};

pub(super) fn kind(body: &[u8]) -> Result<String, ApiError> {
    decode::<Head>(body).map(|head| head.kind)
}

pub(super) fn user(body: &[u8]) -> Result<ClerkUser, ApiError> {
    let user = data::<UserData>(body)?;
    let primary_email = user.primary_email_address_id.and_then(|primary| {
        let addresses = user.email_addresses.unwrap_or_default();
        addresses.into_iter().find(|a| a.id == primary).map(|a| a.email_address)
    });
    Ok(ClerkUser {
        id: user.id,
        first_name: non_empty(user.first_name),
        last_name: non_empty(user.last_name),
        image_url: non_empty(user.image_url),
        primary_email,
        updated_at: user.updated_at,
    })
}

pub(super) fn deleted_id(body: &[u8]) -> Result<String, ApiError> {
    data::<Deleted>(body).map(|deleted| deleted.id)
}

pub(super) fn deleted_org(body: &[u8]) -> Result<OrgId, ApiError> {
    org_id("data.id", &deleted_id(body)?)
}

pub(super) fn organization(body: &[u8]) -> Result<ClerkOrganization, ApiError> {
    let org = data::<OrganizationData>(body)?;
    Ok(ClerkOrganization {
        id: org_id("data.id", &org.id)?,
        name: org.name,
        slug: non_empty(org.slug),
        members_count: org.members_count,
        updated_at: org.updated_at,
    })
}

pub(super) fn membership(body: &[u8]) -> Result<ClerkMembership, ApiError> {
    let membership = data::<MembershipData>(body)?;
    Ok(ClerkMembership {
        id: membership.id,
        org: org_id("data.organization.id", &membership.organization.id)?,
        user_id: membership.public_user_data.user_id,
        role: membership.role,
        updated_at: membership.updated_at,
    })
}

pub(super) fn subscription(body: &[u8], kind: &str) -> Result<ClerkSubscription, ApiError> {
    let sub = data::<SubscriptionData>(body)?;
    let plans = sub.items.unwrap_or_default().into_iter().filter_map(|item| item.plan?.label()).collect();
    billing(sub.id, sub.payer, &sub.status, plans, kind, sub.updated_at)
}

/// An item event is filed under its subscription (`subscription_id`), not under the item's own
/// `csubi_…` id, so the org's one subscription record is what changes.
pub(super) fn subscription_item(body: &[u8], kind: &str) -> Result<ClerkSubscription, ApiError> {
    let item = data::<SubscriptionItemData>(body)?;
    let plans = item.plan.and_then(Plan::label).into_iter().collect();
    billing(item.subscription_id, item.payer, &item.status, plans, kind, item.updated_at)
}

fn billing(
    id: String,
    payer: Option<Payer>,
    status: &str,
    plans: Vec<String>,
    kind: &str,
    updated_at: Option<i64>,
) -> Result<ClerkSubscription, ApiError> {
    let org = match non_empty(payer.and_then(|p| p.organization_id)) {
        Some(raw) => Some(org_id("data.payer.organization_id", &raw)?),
        None => None,
    };
    let status = SubscriptionStatus::from_clerk(status);
    Ok(ClerkSubscription { id, org, status, plans, event_kind: kind.to_owned(), updated_at })
}

/// `ids.rs` names its own field (`org: …`); here the message names where the id sat.
fn org_id(field: &str, raw: &str) -> Result<OrgId, ApiError> {
    OrgId::parse(raw).map_err(|err| {
        let problem = err.message.strip_prefix("org: ").unwrap_or(&err.message);
        ApiError::invalid(field, problem)
    })
}

fn data<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    decode::<Envelope<T>>(body).map(|envelope| envelope.data)
}

#[derive(Deserialize)]
struct Head {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(Deserialize)]
struct Deleted {
    id: String,
}

#[derive(Deserialize)]
struct UserData {
    id: String,
    first_name: Option<String>,
    last_name: Option<String>,
    image_url: Option<String>,
    email_addresses: Option<Vec<EmailAddress>>,
    primary_email_address_id: Option<String>,
    updated_at: Option<i64>,
}

#[derive(Deserialize)]
struct EmailAddress {
    id: String,
    email_address: String,
}

#[derive(Deserialize)]
struct OrganizationData {
    id: String,
    name: String,
    slug: Option<String>,
    members_count: Option<i64>,
    updated_at: Option<i64>,
}

#[derive(Deserialize)]
struct MembershipData {
    id: String,
    role: String,
    organization: IdOnly,
    public_user_data: PublicUserData,
    updated_at: Option<i64>,
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

#[derive(Deserialize)]
struct PublicUserData {
    user_id: String,
}

#[derive(Deserialize)]
struct SubscriptionData {
    id: String,
    status: String,
    payer: Option<Payer>,
    items: Option<Vec<Item>>,
    updated_at: Option<i64>,
}

#[derive(Deserialize)]
struct SubscriptionItemData {
    subscription_id: String,
    status: String,
    payer: Option<Payer>,
    plan: Option<Plan>,
    updated_at: Option<i64>,
}

#[derive(Deserialize)]
struct Payer {
    organization_id: Option<String>,
}

#[derive(Deserialize)]
struct Item {
    plan: Option<Plan>,
}

#[derive(Deserialize)]
struct Plan {
    slug: Option<String>,
    name: Option<String>,
}

impl Plan {
    /// A plan is named by its slug, which is stable; its display name is the fallback.
    fn label(self) -> Option<String> {
        non_empty(self.slug).or_else(|| non_empty(self.name))
    }
}
