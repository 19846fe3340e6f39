//! What Clerk tells us about people and billing: `users`, `memberships`, `subscriptions`. Users
//! are global; memberships and subscriptions belong to an org and are written by its actor.

use surrealdb::types::RecordId;

use super::transaction::Transaction;
use super::{Db, DbError};
use crate::ids::OrgId;

/// A person as Clerk describes them, to be recorded. Every `updated_at` is Clerk's time of the
/// version (ms): an older version may arrive after a newer one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub image_url: Option<String>,
    pub updated_at: Option<i64>,
}

/// A person's role in an organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipRecord {
    pub id: String,
    pub org: OrgId,
    pub user_id: String,
    /// As Clerk spells it: `org:admin`, `org:member`.
    pub role: String,
    pub updated_at: Option<i64>,
}

/// An organization's subscription, by its status word (`active`, `past_due`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionRecord {
    pub id: String,
    pub status: String,
    pub plans: Vec<String>,
    pub updated_at: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct Directory {
    db: Db,
}

impl Directory {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Records Clerk's version of the user, unless a newer one is recorded or the user was
    /// deleted: both mean this is a late retry.
    pub async fn upsert_user(&self, user: &UserRecord) -> Result<(), DbError> {
        self.db
            .client()
            .query(format!(
                "IF !record::exists($gone) AND {CURRENT} {{ UPSERT $rid SET user = $user, \
                 first_name = $first_name, last_name = $last_name, email = $email, \
                 image_url = $image_url, clerk_updated_at = $at RETURN NONE }}"
            ))
            .bind(("rid", RecordId::new("users", user.id.as_str())))
            .bind(("gone", gone(&user.id)))
            .bind(("user", user.id.clone()))
            .bind(("first_name", user.first_name.clone()))
            .bind(("last_name", user.last_name.clone()))
            .bind(("email", user.email.clone()))
            .bind(("image_url", user.image_url.clone()))
            .bind(("at", user.updated_at))
            .await?
            .check()?;
        Ok(())
    }

    /// Removes the user and every membership they had, and remembers that the user is gone.
    pub async fn delete_user(&self, user_id: &str) -> Result<(), DbError> {
        // Unguarded: users belong to no org, so no fence applies.
        Transaction::new(
            "DELETE $rid; DELETE memberships WHERE user = $user; UPSERT $gone SET kind = 'user' RETURN NONE",
        )
        .query(self.db.client())
        .bind(("rid", RecordId::new("users", user_id)))
        .bind(("gone", gone(user_id)))
        .bind(("user", user_id.to_owned()))
        .await?
        .check()?;
        Ok(())
    }

    /// Records Clerk's version of the membership, unless a newer one is recorded, or the
    /// membership or its user was deleted: each means this is a late retry.
    pub async fn upsert_membership(&self, membership: &MembershipRecord) -> Result<(), DbError> {
        let query = self
            .db
            .write(&format!(
                "IF !record::exists($gone) AND !record::exists($gone_user) AND {CURRENT} {{ \
                 UPSERT $rid SET membership = $membership, org = $org, user = $user, role = $role, \
                 clerk_updated_at = $at RETURN NONE }}"
            ))
            .bind(("rid", RecordId::new("memberships", membership.id.as_str())))
            .bind(("gone", gone(&membership.id)))
            .bind(("gone_user", gone(&membership.user_id)))
            .bind(("membership", membership.id.clone()))
            .bind(("org", membership.org.as_str().to_owned()))
            .bind(("user", membership.user_id.clone()))
            .bind(("role", membership.role.clone()))
            .bind(("at", membership.updated_at));
        self.db.commit(query).await?;
        Ok(())
    }

    /// Removes the membership and remembers that it is gone, also when its creation has not
    /// arrived yet.
    pub async fn delete_membership(&self, membership: &MembershipRecord) -> Result<(), DbError> {
        let query = self
            .db
            .write(
                "DELETE $rid WHERE org = $org; UPSERT $gone SET kind = 'membership', org = $org RETURN NONE",
            )
            .bind(("rid", RecordId::new("memberships", membership.id.as_str())))
            .bind(("gone", gone(&membership.id)))
            .bind(("org", membership.org.as_str().to_owned()));
        self.db.commit(query).await?;
        Ok(())
    }

    /// Records Clerk's version of the subscription unless a newer one was recorded already (a
    /// late retry), and answers with the status it has now and the org's newest subscription's.
    pub async fn upsert_subscription(
        &self,
        org: &OrgId,
        subscription: &SubscriptionRecord,
    ) -> Result<Subscribed, DbError> {
        let query = self
            .db
            .write(&format!("{UPSERT_SUBSCRIPTION}; {}", super::organizations::NEWEST_STATUS))
            .bind(("rid", RecordId::new("subscriptions", subscription.id.as_str())))
            .bind(("subscription", subscription.id.clone()))
            .bind(("org", org.as_str().to_owned()))
            .bind(("status", subscription.status.clone()))
            .bind(("plans", subscription.plans.clone()))
            .bind(("at", subscription.updated_at));
        let mut written = self.db.commit(query).await?;
        let status: Option<String> = written.take(0)?;
        let newest: Option<String> = written.take(1)?;
        let status = status.ok_or(DbError::Missing { table: "subscriptions" })?;
        Ok(Subscribed { status, newest })
    }
}

/// A subscription as recorded after a Clerk event.
#[derive(Debug, PartialEq, Eq)]
pub struct Subscribed {
    /// This subscription's status: the event's, or a newer one already recorded.
    pub status: String,
    /// The org's newest subscription's status: what decides whether paid features are on.
    pub newest: Option<String>,
}

/// `$rid` holds no newer version from Clerk than `$at`. A version without a time never
/// replaces one with it (`NONE` sorts below every number).
const CURRENT: &str = "!($rid.clerk_updated_at > $at)";

/// The record that says Clerk deleted `id`, a user or a membership.
fn gone(id: &str) -> RecordId {
    RecordId::new("clerk_deleted", id)
}

/// Each field keeps what it has when the record holds a newer version than `$at`; the version
/// is set last, since each assignment reads the record as the ones before it left it.
const UPSERT_SUBSCRIPTION: &str = "UPSERT $rid SET subscription = $subscription, org = $org, \
     status = IF clerk_updated_at > $at THEN status ELSE $status END, \
     plans = IF clerk_updated_at > $at THEN plans ELSE $plans END, \
     clerk_updated_at = IF clerk_updated_at > $at THEN clerk_updated_at ELSE $at END \
     RETURN VALUE status";

#[cfg(test)]
mod tests {
    use super::{MembershipRecord, Subscribed, SubscriptionRecord, UserRecord};
    use crate::db::fence::stored_field;
    use crate::db::{Db, Repos};
    use crate::ids::OrgId;

    fn version(id: &str, status: &str, updated_at: i64) -> SubscriptionRecord {
        SubscriptionRecord {
            id: id.into(),
            status: status.into(),
            plans: Vec::new(),
            updated_at: Some(updated_at),
        }
    }

    fn recorded(status: &str, newest: &str) -> Subscribed {
        Subscribed { status: status.into(), newest: Some(newest.into()) }
    }

    #[tokio::test]
    async fn a_late_retry_neither_changes_a_subscription_nor_makes_an_older_one_the_newest() {
        let db = Db::connect("mem://").await.unwrap();
        let directory = Repos::new(&db).directory();
        let org = OrgId::parse("org_pays").unwrap();
        let upsert = async |sub: SubscriptionRecord| directory.upsert_subscription(&org, &sub).await.unwrap();

        let now = upsert(version("csub_new", "active", 20)).await;
        assert_eq!(now, recorded("active", "active"));
        let late = upsert(version("csub_new", "past_due", 10)).await;
        assert_eq!(late, recorded("active", "active"), "an older version of it changes nothing");
        let older = upsert(version("csub_old", "canceled", 5)).await;
        assert_eq!(older, recorded("canceled", "active"), "the last written is not the newest");
        let newer = upsert(version("csub_new", "past_due", 30)).await;
        assert_eq!(newer, recorded("past_due", "past_due"), "a newer version is recorded");
    }

    fn membership(id: &str, user: &str, role: &str, updated_at: i64) -> MembershipRecord {
        let org = OrgId::parse("org_team").unwrap();
        MembershipRecord {
            id: id.into(),
            org,
            user_id: user.into(),
            role: role.into(),
            updated_at: Some(updated_at),
        }
    }

    fn user(id: &str, first_name: &str, updated_at: Option<i64>) -> UserRecord {
        UserRecord {
            id: id.into(),
            first_name: Some(first_name.into()),
            last_name: None,
            image_url: None,
            email: None,
            updated_at,
        }
    }

    #[tokio::test]
    async fn a_late_membership_event_neither_undoes_a_newer_role_nor_brings_a_deleted_one_back() {
        let db = Db::connect("mem://").await.unwrap();
        let directory = Repos::new(&db).directory();
        let role = async |id: &str| stored_field::<String>(&db, "memberships", id, "role").await;

        directory.upsert_membership(&membership("orgmem_a", "user_a", "org:admin", 20)).await.unwrap();
        directory.upsert_membership(&membership("orgmem_a", "user_a", "org:member", 10)).await.unwrap();
        assert_eq!(role("orgmem_a").await.as_deref(), Some("org:admin"), "an older version changes nothing");
        directory.upsert_membership(&membership("orgmem_a", "user_a", "org:member", 30)).await.unwrap();
        assert_eq!(role("orgmem_a").await.as_deref(), Some("org:member"), "a newer one is recorded");

        directory.delete_membership(&membership("orgmem_a", "user_a", "org:member", 40)).await.unwrap();
        directory.upsert_membership(&membership("orgmem_a", "user_a", "org:member", 50)).await.unwrap();
        assert_eq!(role("orgmem_a").await, None, "a deleted membership stays deleted");

        // Its deletion delivered before its creation.
        directory.delete_membership(&membership("orgmem_b", "user_b", "org:member", 20)).await.unwrap();
        directory.upsert_membership(&membership("orgmem_b", "user_b", "org:member", 10)).await.unwrap();
        assert_eq!(role("orgmem_b").await, None);

        // The user re-joins: a new membership, the same org and user.
        directory.upsert_membership(&membership("orgmem_c", "user_a", "org:member", 60)).await.unwrap();
        assert_eq!(role("orgmem_c").await.as_deref(), Some("org:member"));
    }

    #[tokio::test]
    async fn a_late_user_event_neither_undoes_a_newer_version_nor_brings_a_deleted_user_back() {
        let db = Db::connect("mem://").await.unwrap();
        let directory = Repos::new(&db).directory();
        let name = async |id: &str| stored_field::<String>(&db, "users", id, "first_name").await;

        directory.upsert_user(&user("user_a", "Second", Some(20))).await.unwrap();
        directory.upsert_user(&user("user_a", "First", Some(10))).await.unwrap();
        assert_eq!(name("user_a").await.as_deref(), Some("Second"), "an older version changes nothing");
        directory.upsert_user(&user("user_a", "Undated", None)).await.unwrap();
        assert_eq!(name("user_a").await.as_deref(), Some("Second"), "nor does one without a time");
        directory.upsert_user(&user("user_a", "Third", Some(30))).await.unwrap();
        assert_eq!(name("user_a").await.as_deref(), Some("Third"), "a newer one is recorded");

        directory.upsert_membership(&membership("orgmem_a", "user_a", "org:admin", 30)).await.unwrap();
        directory.delete_user("user_a").await.unwrap();
        assert_eq!(
            stored_field::<String>(&db, "memberships", "orgmem_a", "role").await,
            None,
            "its memberships went with it"
        );
        directory.upsert_user(&user("user_a", "Late", Some(40))).await.unwrap();
        directory.upsert_membership(&membership("orgmem_a", "user_a", "org:admin", 40)).await.unwrap();
        directory.upsert_membership(&membership("orgmem_b", "user_a", "org:admin", 40)).await.unwrap();
        assert_eq!(name("user_a").await, None, "a deleted user stays deleted");
        assert_eq!(
            stored_field::<String>(&db, "memberships", "orgmem_b", "role").await,
            None,
            "and gains no membership"
        );
    }
}
