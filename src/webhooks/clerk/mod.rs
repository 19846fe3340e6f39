//! Clerk webhook events, typed. Clerk owns users, organizations, memberships and billing; these
//! events are how assist's copies of them stay current.
//!
//! Only what assist uses is read, and unknown fields are ignored because Clerk adds fields
//! without notice. The envelope's `timestamp` is not read either: Clerk documents it in
//! milliseconds but some deliveries carry seconds, so ordering must come from elsewhere (the
//! `svix-id` dedup and the objects' own state).

mod wire;

use crate::db::directory::{MembershipRecord, SubscriptionRecord, UserRecord};
use crate::db::organizations::OrganizationRecord;
use crate::error::ApiError;
use crate::ids::OrgId;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClerkEvent {
    /// `user.created` or `user.updated`: both carry the whole user, so both are an upsert.
    UserUpserted(ClerkUser),
    /// `user.deleted`: only the id survives.
    UserDeleted { user_id: String },
    /// `organization.created` or `organization.updated`.
    OrganizationUpserted(ClerkOrganization),
    /// `organization.deleted`: only the id (and slug) survive.
    OrganizationDeleted { org: OrgId },
    /// `organizationMembership.created` or `.updated`.
    MembershipUpserted(ClerkMembership),
    /// `organizationMembership.deleted`, which still carries the full membership.
    MembershipDeleted(ClerkMembership),
    /// `subscription.created|updated|active|pastDue` (also `past_due`): the payer's whole
    /// subscription.
    Subscription(ClerkSubscription),
    /// `subscriptionItem.*`: one plan of a subscription changed; `id` is the subscription's.
    SubscriptionItem(ClerkSubscription),
    /// A type assist does not handle. It is acknowledged (a refusal would make Svix retry it for
    /// a day) and the caller counts it.
    Unknown { kind: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClerkUser {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub image_url: Option<String>,
    /// The address `primary_email_address_id` points at, if it is among `email_addresses`.
    pub primary_email: Option<String>,
    /// Clerk's time of this version (ms), as for organizations.
    pub updated_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClerkOrganization {
    pub id: OrgId,
    pub name: String,
    /// `None` when the instance has organization slugs turned off.
    pub slug: Option<String>,
    pub members_count: Option<i64>,
    /// Clerk's time of this version (ms): Svix retries a failed delivery for more than a day, so an
    /// older version may arrive after a newer one.
    pub updated_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClerkMembership {
    /// `orgmem_…`.
    pub id: String,
    pub org: OrgId,
    pub user_id: String,
    /// As Clerk spells it, with its prefix: `org:admin`, `org:member`.
    pub role: String,
    /// Clerk's time of this version (ms), as for organizations.
    pub updated_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClerkSubscription {
    /// The subscription (`csub_…`), also for item events, so both kinds land on one record.
    pub id: String,
    /// The paying organization; `None` when a user pays (Clerk sends `organization_id: ""`).
    /// This is `payer.organization_id`: `payer_id` is a billing payer (`cpayer_…`), not an org.
    pub org: Option<OrgId>,
    pub status: SubscriptionStatus,
    /// Plan slugs (names when a plan has no slug), in Clerk's order.
    pub plans: Vec<String>,
    /// The event type as sent (`subscriptionItem.freeTrialEnding`), for the audit trail.
    pub event_kind: String,
    /// Clerk's time of this version (ms; an item event's is the item's), as for organizations.
    pub updated_at: Option<i64>,
}

/// What assist records of each object: the database speaks in its own rows.
impl ClerkUser {
    pub fn record(&self) -> UserRecord {
        UserRecord {
            id: self.id.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            email: self.primary_email.clone(),
            image_url: self.image_url.clone(),
            updated_at: self.updated_at,
        }
    }
}

impl ClerkOrganization {
    pub fn record(&self) -> OrganizationRecord {
        OrganizationRecord {
            id: self.id.clone(),
            name: self.name.clone(),
            slug: self.slug.clone(),
            members_count: self.members_count,
            updated_at: self.updated_at,
        }
    }
}

impl ClerkMembership {
    pub fn record(&self) -> MembershipRecord {
        MembershipRecord {
            id: self.id.clone(),
            org: self.org.clone(),
            user_id: self.user_id.clone(),
            role: self.role.clone(),
            updated_at: self.updated_at,
        }
    }
}

impl ClerkSubscription {
    pub fn record(&self) -> SubscriptionRecord {
        SubscriptionRecord {
            id: self.id.clone(),
            status: self.status.as_str().to_owned(),
            plans: self.plans.clone(),
            updated_at: self.updated_at,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscriptionStatus {
    Active,
    /// Clerk's docs spell it `past_due`; the event name spells it `pastDue`. Both land here.
    PastDue,
    Canceled,
    Ended,
    Abandoned,
    Incomplete,
    /// Items only: a plan change that takes effect at the next period.
    Upcoming,
    /// A status Clerk added after this was written, kept as sent rather than refused.
    Other(String),
}

impl SubscriptionStatus {
    /// Whether paid features are on, given the org's newest subscription's stored status.
    /// `past_due` counts as not active: Clerk is still retrying the payment, but assist would
    /// rather ask the customer to pay (402) than keep serving an unpaid plan until Clerk gives up
    /// and ends it.
    pub fn pays(newest: Option<&str>) -> bool {
        newest == Some(Self::Active.as_str())
    }

    fn from_clerk(raw: &str) -> Self {
        match raw {
            "active" => Self::Active,
            "past_due" | "pastDue" => Self::PastDue,
            "canceled" => Self::Canceled,
            "ended" => Self::Ended,
            "abandoned" => Self::Abandoned,
            "incomplete" => Self::Incomplete,
            "upcoming" => Self::Upcoming,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Clerk's documented spelling, for storing and showing.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Canceled => "canceled",
            Self::Ended => "ended",
            Self::Abandoned => "abandoned",
            Self::Incomplete => "incomplete",
            Self::Upcoming => "upcoming",
            Self::Other(raw) => raw,
        }
    }
}

/// Reads the event type first, then decodes `data` into the shape that type promises, so an
/// error names the field path inside the whole delivery (`data.organization.id: missing`).
pub fn parse(body: &[u8]) -> Result<ClerkEvent, ApiError> {
    let kind = wire::kind(body)?;
    let (family, action) = kind.split_once('.').unwrap_or((kind.as_str(), ""));
    let event = match (family, action) {
        ("user", "created" | "updated") => ClerkEvent::UserUpserted(wire::user(body)?),
        ("user", "deleted") => ClerkEvent::UserDeleted { user_id: wire::deleted_id(body)? },
        ("organization", "created" | "updated") => {
            ClerkEvent::OrganizationUpserted(wire::organization(body)?)
        }
        ("organization", "deleted") => ClerkEvent::OrganizationDeleted { org: wire::deleted_org(body)? },
        ("organizationMembership", "created" | "updated") => {
            ClerkEvent::MembershipUpserted(wire::membership(body)?)
        }
        ("organizationMembership", "deleted") => ClerkEvent::MembershipDeleted(wire::membership(body)?),
        ("subscription", "created" | "updated" | "active" | "pastDue" | "past_due") => {
            ClerkEvent::Subscription(wire::subscription(body, &kind)?)
        }
        ("subscriptionItem", _) => ClerkEvent::SubscriptionItem(wire::subscription_item(body, &kind)?),
        _ => ClerkEvent::Unknown { kind },
    };
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, data: serde_json::Value) -> Vec<u8> {
        serde_json::json!({"type": kind, "object": "event", "data": data}).to_string().into_bytes()
    }

    #[test]
    fn both_past_due_spellings_are_one_status() {
        assert_eq!(SubscriptionStatus::from_clerk("past_due"), SubscriptionStatus::PastDue);
        assert_eq!(SubscriptionStatus::from_clerk("pastDue"), SubscriptionStatus::PastDue);
        assert_eq!(SubscriptionStatus::PastDue.as_str(), "past_due");
    }

    #[test]
    fn a_new_status_is_kept_as_sent() {
        let status = SubscriptionStatus::from_clerk("expired");
        assert_eq!(status, SubscriptionStatus::Other("expired".into()));
        assert_eq!(status.as_str(), "expired");
    }

    #[test]
    fn only_an_active_subscription_is_active() {
        assert!(SubscriptionStatus::pays(Some(SubscriptionStatus::Active.as_str())));
        for status in
            [SubscriptionStatus::PastDue, SubscriptionStatus::Canceled, SubscriptionStatus::Upcoming]
        {
            assert!(!SubscriptionStatus::pays(Some(status.as_str())));
        }
        assert!(!SubscriptionStatus::pays(None), "no subscription pays for nothing");
    }

    #[test]
    fn a_membership_without_its_organization_names_the_field() {
        let body = event(
            "organizationMembership.created",
            serde_json::json!({"id": "orgmem_1", "role": "org:member", "public_user_data": {"user_id": "user_1"}}),
        );
        assert_eq!(parse(&body).unwrap_err().message, "data.organization: missing");
    }

    #[test]
    fn an_org_id_that_could_break_a_subject_is_refused_where_it_sat() {
        let body = event("organization.deleted", serde_json::json!({"id": "org.1", "deleted": true}));
        let err = parse(&body).unwrap_err();
        assert!(err.message.starts_with("data.id: may contain only"), "{}", err.message);
        let body = event(
            "subscription.active",
            serde_json::json!({"id": "csub_1", "status": "active", "payer": {"organization_id": "org *"}}),
        );
        let err = parse(&body).unwrap_err();
        assert!(err.message.starts_with("data.payer.organization_id: "), "{}", err.message);
    }

    #[test]
    fn an_item_event_without_its_subscription_id_names_the_field() {
        let body = event("subscriptionItem.active", serde_json::json!({"id": "csubi_1", "status": "active"}));
        assert_eq!(parse(&body).unwrap_err().message, "data.subscription_id: missing");
    }

    #[test]
    fn an_event_without_a_type_is_refused() {
        assert_eq!(parse(br#"{"data": {}}"#).unwrap_err().message, "type: missing");
    }

    #[test]
    fn an_unknown_type_needs_no_particular_data() {
        let event = parse(br#"{"type": "session.created", "data": 7}"#).unwrap();
        assert_eq!(event, ClerkEvent::Unknown { kind: "session.created".into() });
        let event = parse(br#"{"type": "user"}"#).unwrap();
        assert_eq!(event, ClerkEvent::Unknown { kind: "user".into() });
    }

    #[test]
    fn a_primary_email_missing_from_the_list_is_none() {
        let body = event(
            "user.updated",
            serde_json::json!({"id": "user_1", "primary_email_address_id": "idn_2",
                "email_addresses": [{"id": "idn_1", "email_address": "a@example.com"}]}),
        );
        let ClerkEvent::UserUpserted(user) = parse(&body).unwrap() else { panic!("not a user") };
        assert_eq!(user.primary_email, None);
    }
}
